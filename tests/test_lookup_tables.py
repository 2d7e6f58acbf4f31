"""The lookup tables the administrator keeps in the admin (issue 15): seeded from the static
tables, edited only by the quản trị, never deleted, and read by the header reader at ingest
and by `sohoa search --type` (core/lookup.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from django.test import Client

from core.document_types import DOCUMENT_TYPES
from core.record_defaults import RETENTION
from core.roles import Role
from tests.conftest import json_lines, run_sohoa
from tests.fixtures import scans
from tests.web_support import make_user, use_web_home

# A type Nghị định 30 does not list, as an office might add it.
NEW_SYMBOL, NEW_NAME = "PKK", "Phiếu kiểm kê"
NEW_TYPE_DOCUMENT = dataclasses.replace(
    scans.DOCUMENTS["quyet_dinh_15"], number="03/PKK-SNV", type_name=NEW_NAME, heading="PHIẾU KIỂM KÊ",
    summary=("Tài liệu lưu trữ của Phòng Văn thư",))


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lookup") / "sohoa-data"
    assert run_sohoa(root, "init").returncode == 0
    config = root / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("sign = true", "sign = false"), encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def _web(home):
    use_web_home(home)


def administrator() -> Client:
    from django.contrib.auth.models import User

    user = User.objects.filter(username="quantri-lookup").first()
    if user is None:
        user = make_user("quantri-lookup", Role.QUAN_TRI)
        user.is_staff = user.is_superuser = True
        user.save()
    client = Client()
    client.force_login(user)
    return client


def add_type(client: Client, symbol: str, name: str):
    return client.post("/quan-tri/core/documenttype/add/", {"symbol": symbol, "name": name, "active": "on"})


def drawn_pages(doc) -> list:
    from tests.test_header_reader import words_as_ocr

    return [words_as_ocr(page) for page in scans.render_document_pages(doc, name="phieu_kiem_ke")]


def test_the_migration_seeds_every_static_entry():
    from core.models import DocumentType, RetentionPeriod

    # (other tests of this module add rows to the same home, in any order)
    seeded = DocumentType.objects.filter(symbol__in=DOCUMENT_TYPES, active=True)
    assert dict(seeded.values_list("symbol", "name")) == DOCUMENT_TYPES
    assert dict(RetentionPeriod.objects.filter(code__in=RETENTION, active=True).values_list("code", "label")) == RETENTION


def test_without_a_database_the_static_tables_are_read():
    from core.lookup import document_types, retention_periods, type_name

    assert document_types(None) == DOCUMENT_TYPES and retention_periods(None) == RETENTION
    assert document_types("default").items() >= DOCUMENT_TYPES.items()  # the home's: the seed and more
    assert type_name("qđ", DOCUMENT_TYPES) == "Quyết định" and type_name("CTr", DOCUMENT_TYPES) == "Chương trình"
    assert type_name("hd", DOCUMENT_TYPES) is None  # Hướng dẫn or Hợp đồng: only the exact spelling says


def test_a_type_added_in_the_admin_is_read_from_headers_and_searched_by_its_symbol(home, tmp_path):
    from core.lookup import document_types
    from core.models import DocumentType
    from header import read_header

    pages = drawn_pages(NEW_TYPE_DOCUMENT)
    before = read_header(pages, document_types("default")).fields
    assert before.get("doc_type") is None or before["doc_type"].value != NEW_NAME

    client = administrator()
    form = client.get("/quan-tri/core/documenttype/add/").content.decode()
    assert "Ký hiệu" in form and "Tên loại" in form  # the admin speaks Vietnamese
    assert add_type(client, NEW_SYMBOL, NEW_NAME).status_code == 302
    assert DocumentType.objects.get(symbol=NEW_SYMBOL).name == NEW_NAME
    listing = client.get("/quan-tri/core/documenttype/", {"q": "kiểm kê"}).content.decode()
    assert NEW_NAME in listing and "Quyết định" not in listing

    found = read_header(pages, document_types("default")).fields
    assert found["doc_type"].value == NEW_NAME and found["doc_type"].confidence >= 0.9
    assert read_header(pages).fields.get("doc_type") == before.get("doc_type")  # the static table knows nothing new

    # The real thing: a scan ingested into this home is read with the home's table, and the
    # search takes the new symbol for the type.
    scan = scans.write_png(tmp_path / "phieu-kiem-ke.png", scans.render_document_page(NEW_TYPE_DOCUMENT, name="pkk"))
    done = run_sohoa(home, "ingest", "--json", str(scan))
    assert done.returncode == 0, done.stderr
    doc_id = json_lines(done.stdout)[0]["id"]
    shown = json_lines(run_sohoa(home, "show", str(doc_id), "--json").stdout)[0]
    assert shown["metadata"]["doc_type"] == NEW_NAME
    searched = run_sohoa(home, "search", "", "--type", NEW_SYMBOL.lower(), "--json")
    assert searched.returncode == 0, searched.stderr
    assert [hit["id"] for hit in json_lines(searched.stdout)[0]["results"]] == [doc_id]

    # Retired: no longer read from new pages, still searched (its documents keep the type).
    row = DocumentType.objects.get(symbol=NEW_SYMBOL)
    change = {"symbol": row.symbol, "name": row.name}  # no "active": the box unticked
    assert client.post(f"/quan-tri/core/documenttype/{row.pk}/change/", change).status_code == 302
    assert NEW_SYMBOL not in document_types("default")
    assert read_header(pages, document_types("default")).fields.get("doc_type") == before.get("doc_type")
    searched = run_sohoa(home, "search", "", "--type", NEW_NAME, "--json")
    assert [hit["id"] for hit in json_lines(searched.stdout)[0]["results"]] == [doc_id]


def test_a_symbol_that_would_not_fit_a_number_or_a_name_taken_is_refused():
    from core.models import DocumentType

    client = administrator()
    for symbol, name in (("P K", "Phiếu khảo sát"), ("PK-S", "Phiếu khảo sát"), ("QĐ2", "quyết định"), ("QĐ3", "QUYẾT ĐỊNH")):
        answer = add_type(client, symbol, name)
        assert answer.status_code == 200 and "errorlist" in answer.content.decode()
    assert add_type(client, "QĐ", "Quyết định mới").status_code == 200  # the symbol is taken
    assert not DocumentType.objects.filter(name__in=["Phiếu khảo sát", "Quyết định mới"]).exists()
    assert DocumentType.objects.filter(name__in=["quyết định", "QUYẾT ĐỊNH", "Quyết định mới"]).count() == 0
    answer = client.post("/quan-tri/core/retentionperiod/add/", {"code": "7", "label": "5 năm", "active": "on"})
    assert answer.status_code == 200 and "Mã là hai chữ số" in answer.content.decode()


def test_deleting_is_refused_even_to_the_administrator():
    from core.models import DocumentType, RetentionPeriod

    client = administrator()
    row = DocumentType.objects.get(symbol="QĐ")
    assert client.get(f"/quan-tri/core/documenttype/{row.pk}/delete/").status_code == 403
    assert client.post(f"/quan-tri/core/documenttype/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    listing = client.get("/quan-tri/core/documenttype/").content.decode()
    assert "delete_selected" not in listing
    assert client.post("/quan-tri/core/documenttype/", {"action": "delete_selected", "_selected_action": [row.pk],
                                                        "post": "yes"}).status_code in (200, 302)
    period = RetentionPeriod.objects.get(code="01")
    assert client.post(f"/quan-tri/core/retentionperiod/{period.pk}/delete/", {"post": "yes"}).status_code == 403
    assert DocumentType.objects.filter(pk=row.pk).exists() and RetentionPeriod.objects.filter(pk=period.pk).exists()


def test_only_the_administrator_edits_the_tables():
    from core.models import DocumentType

    officer = make_user("canbo-lookup", Role.CAN_BO)
    client = Client()
    client.force_login(officer)
    # not staff: Django's admin sends a cán bộ to its own login page, and writes nothing
    answer = add_type(client, "PKS", "Phiếu khảo sát")
    assert answer.status_code == 302 and "/quan-tri/login/" in answer["Location"]
    # staff by some mistake, all the same not the quản trị: refused outright
    officer.is_staff = True
    officer.save()
    assert client.get("/quan-tri/core/documenttype/").status_code == 403
    assert add_type(client, "PKS", "Phiếu khảo sát").status_code == 403
    assert not DocumentType.objects.filter(symbol="PKS").exists()


def test_sohoa_set_takes_the_home_s_types_and_retention_periods(home, tmp_path):
    from core.models import RetentionPeriod

    scan = scans.write_png(tmp_path / "ke-hoach.png", scans.render_page("ke_hoach_42"))
    done = run_sohoa(home, "ingest", "--json", str(scan))
    assert done.returncode == 0, done.stderr
    doc_id = str(json_lines(done.stdout)[0]["id"])
    refused = run_sohoa(home, "set", doc_id, "retention=07")
    assert refused.returncode != 0 and "07" in refused.stderr and "06 (10 năm)" in refused.stderr

    client = administrator()
    assert add_type(client, "GCN", "Giấy chứng nhận").status_code == 302
    added = client.post("/quan-tri/core/retentionperiod/add/", {"code": "07", "label": "5 năm", "active": "on"})
    assert added.status_code == 302 and RetentionPeriod.objects.get(code="07").label == "5 năm"

    changed = run_sohoa(home, "set", doc_id, "retention=07", "doc_type=GCN")
    assert changed.returncode == 0, changed.stderr
    metadata = json_lines(run_sohoa(home, "show", doc_id, "--json").stdout)[0]["metadata"]
    assert metadata["record"]["retention"] == "07" and metadata["doc_type"] == "Giấy chứng nhận"
    searched = run_sohoa(home, "search", "", "--type", "GCN", "--json")
    assert [hit["id"] for hit in json_lines(searched.stdout)[0]["results"]] == [int(doc_id)]
    refused = run_sohoa(home, "set", doc_id, "retention=08")
    assert refused.returncode != 0 and "07 (5 năm)" in refused.stderr
    assert "07 (5 năm)" in run_sohoa(home, "show", doc_id, "--record").stdout  # the admin's label
