"""The search index always says what the catalog says (issue 13, point 3).

Every change of the catalog rewrites the document's index entry from the same function as
ingest and reindex (index.index_entry); `sohoa check` compares every stored field of every
entry with the catalog and names what differs; `sohoa check --repair` makes them agree.
Through the real CLI on a home with two signed scans.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from index import DocumentSource, IndexedDocument, check_index, index_entry, open_index, repair_index
from tests.conftest import json_lines, run_sohoa
from tests.fixtures import scans
from tests.pki.fixtures import pki_home
from tests.test_watch_support import tiny_scan


@pytest.fixture(scope="module")
def signed_home(tmp_path_factory) -> tuple[Path, list[int]]:
    """`sohoa init` (signing on, its test identity) and two small scans ingested."""
    home = tmp_path_factory.mktemp("truth") / "home"
    assert run_sohoa(home, "init").returncode == 0
    folder = tmp_path_factory.mktemp("scans")
    scans = [tiny_scan(folder / "giấy-mời.jpg", 0, "giay_moi_17"),
             tiny_scan(folder / "công-văn.jpg", 1, "cong_van_268")]
    done = run_sohoa(home, "ingest", "--json", *map(str, scans))
    assert done.returncode == 0, done.stderr
    ids = [result["id"] for result in json_lines(done.stdout)]
    assert len(ids) == 2
    return home, ids


@pytest.fixture
def home(signed_home, tmp_path) -> tuple[Path, list[int]]:
    """A copy of the module's home, so each test changes its own."""
    source, ids = signed_home
    copy = tmp_path / "home"
    subprocess.run(["cp", "-a", str(source), str(copy)], check=True)
    return copy, ids


def signed_ids(home: Path) -> set[int]:
    done = run_sohoa(home, "search", "", "--signature", "signed", "--json", "--limit", "50")
    assert done.returncode == 0, done.stderr
    return {result["id"] for result in json.loads(done.stdout)["results"]}


def hit(home: Path, doc_id: int, query: str) -> dict | None:
    done = run_sohoa(home, "search", query, "--json", "--limit", "50")
    assert done.returncode == 0, done.stderr
    return next((r for r in json.loads(done.stdout)["results"] if r["id"] == doc_id), None)


def test_a_fresh_archive_checks_clean_field_by_field(signed_home) -> None:
    home, ids = signed_home
    assert signed_ids(home) == set(ids)
    done = run_sohoa(home, "check")
    assert done.returncode == 0, done.stdout
    assert "Chỉ mục khớp với danh mục." in done.stdout


def test_set_keeps_the_signature_status_and_the_index_in_step(home) -> None:
    home, (first, second) = home
    done = run_sohoa(home, "set", str(first), "number=77/QĐ-UBND", "--by", "Nguyễn Văn Kiểm")
    assert done.returncode == 0, done.stderr
    # The entry was rebuilt from the catalog row and its audit trail: still filed as signed.
    assert signed_ids(home) == {first, second}
    found = hit(home, first, "77/QĐ-UBND")
    assert found and found["number"] == "77/QĐ-UBND" and found["signature_status"] == "signed"
    check = run_sohoa(home, "check", "--json")
    assert check.returncode == 0, check.stdout
    report = json.loads(check.stdout)
    assert report["ok"] and report["differing"] == []


def test_check_names_a_wrong_field_a_missing_and_an_extra_entry_and_repair_fixes_them(home) -> None:
    home, (first, second) = home
    # Tamper with the index directly, through its own API: a wrong signature status and
    # title for one document, the other removed, an entry the catalog never had.
    with open_index(home / "index") as index:
        good = next(r for doc_id, r in index.stored_records() if doc_id == first)
        pages = tuple(json.loads(good)["pages"])
        index.add(IndexedDocument(first, "\n\n".join(pages), title="Giấy mời giả", signature_status="unsigned",
                                  pages=pages))
        index.delete(second)
        index.add(IndexedDocument(9999, "văn bản không có trong danh mục"))
    assert signed_ids(home) == set()

    done = run_sohoa(home, "check")
    assert done.returncode == 1, done.stdout
    line = next(line for line in done.stdout.splitlines() if line.startswith(f"[mã {first}]"))
    assert "trạng thái chữ ký (signature_status): chỉ mục «unsigned», danh mục «signed»" in line
    assert "trích yếu (title): chỉ mục «Giấy mời giả»" in line
    assert "nội dung" not in line  # the page texts are right: not named
    assert f"1 tài liệu có trong danh mục nhưng không tìm được: mã {second}" in done.stdout
    assert "1 tài liệu trong chỉ mục không còn trong danh mục: mã 9999" in done.stdout
    assert "check --repair" in done.stdout
    report = json.loads(run_sohoa(home, "check", "--json").stdout)
    assert report["differing"][0]["id"] == first
    assert report["differing"][0]["fields"]["signature_status"] == {"index": "unsigned", "catalog": "signed"}

    repaired = run_sohoa(home, "check", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "Đã sửa chỉ mục: nay khớp với danh mục." in repaired.stdout
    again = run_sohoa(home, "check")
    assert again.returncode == 0 and "Chỉ mục khớp với danh mục." in again.stdout, again.stdout
    assert signed_ids(home) == {first, second}
    assert hit(home, 9999, "danh mục") is None


def test_a_changed_page_text_is_named_and_repaired(home) -> None:
    home, (first, _) = home
    with open_index(home / "index") as index:
        good = json.loads(next(r for doc_id, r in index.stored_records() if doc_id == first))
        pages = ("trang bị sửa trong chỉ mục",)
        index.add(IndexedDocument(first, pages[0], title=good["title"], number=good["number"],
                                  doc_type=good["doc_type"], issuing_body=good["issuing_body"],
                                  profile=good["profile"], signature_status=good["signature_status"],
                                  issue_date=good["issue_date"] and dt.date.fromisoformat(good["issue_date"]),
                                  pages=pages))
    done = run_sohoa(home, "check")
    assert done.returncode == 1
    line = next(line for line in done.stdout.splitlines() if line.startswith(f"[mã {first}]"))
    assert line == f"[mã {first}] chỉ mục khác danh mục: nội dung các trang (pages)"
    assert run_sohoa(home, "check", "--repair").returncode == 0
    assert run_sohoa(home, "check").returncode == 0
    assert hit(home, first, "trang bị sửa trong chỉ mục") is None


def test_timestamp_renewal_rewrites_the_entry_in_its_unit_of_work(tmp_path: Path, pki) -> None:
    home = pki_home(tmp_path, pki, level="B-LTA")
    source = scans.write_searchable_pdf(tmp_path / "lta.pdf", scans.render_page("quyet_dinh_15", dpi=100))
    done = run_sohoa(home, "ingest", "--json", str(source))
    assert done.returncode == 0, done.stderr
    (doc_id,) = [result["id"] for result in json_lines(done.stdout)]
    assert signed_ids(home) == {doc_id}
    # An entry gone wrong before the renewal (as `set` used to leave it): no signature status.
    with open_index(home / "index") as index:
        good = json.loads(next(r for n, r in index.stored_records() if n == doc_id))
        index.add(IndexedDocument(doc_id, "\n\n".join(good["pages"]), title=good["title"],
                                  pages=tuple(good["pages"])))
    assert signed_ids(home) == set()
    renewed = run_sohoa(home, "timestamp", "renew", "--within-days", "100000", "--json")
    assert renewed.returncode == 0, renewed.stderr
    assert json_lines(renewed.stdout)[0]["status"] == "renewed"
    # The renewal rebuilt the entry from the catalog and its trail, timestamp_renewed included.
    assert signed_ids(home) == {doc_id}
    check = run_sohoa(home, "check")
    assert check.returncode == 0, check.stdout


@pytest.mark.parametrize("engine", ["tantivy", "whoosh"])
def test_check_and_repair_compare_every_stored_field_in_both_engines(tmp_path: Path, engine: str) -> None:
    catalog = {
        1: ({"summary": "Kế hoạch", "number": "42/KH-UBND", "issue_date": "2024-03-01"}, ["trang một"],
            [("signed", "ok")]),
        2: ({"title": "b.png", "doc_type": "Công văn"}, ["trang hai"], [("signed", "skipped")]),
    }

    def documents_after(after: int, limit: int) -> list[IndexedDocument]:
        return [index_entry(n, *catalog[n]) for n in sorted(catalog) if n > after][:limit]

    source = DocumentSource(documents_after, lambda: set(catalog), lambda: len(catalog))
    with open_index(tmp_path, engine) as index:
        index.add_many(documents_after(0, 10))
        assert check_index(index, source).ok
        wrong = index_entry(2, {**catalog[2][0], "doc_type": "Quyết định"}, catalog[2][1], [("signed", "ok")])
        index.add(wrong)
        report = check_index(index, source)
        assert not report.ok and [d.doc_id for d in report.differing] == [2]
        assert dict((name, (got, want)) for name, got, want in report.differing[0].fields) == {
            "doc_type": ("Quyết định", "Công văn"), "signature_status": ("signed", "unsigned")}
        assert check_index(index, source.doc_ids()).ok  # ids alone: the old, weaker check
        assert repair_index(index, source, report) == 1
        assert check_index(index, source).ok
        assert [h.doc_id for h in index.search("", options=_signed())] == [1]


def _signed():
    from index import SearchFilters, SearchOptions

    return SearchOptions(filters=SearchFilters(signature_status="signed"))
