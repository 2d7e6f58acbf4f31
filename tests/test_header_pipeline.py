"""Header fields through the real CLI: catalog, sidecar, PDF/A XMP, index and search filters,
the Thông tư 05 record with its configured defaults, duplicates, review and correction.

The session archive (tests/conftest.py) is read for what ingest stored; duplicates, review
and corrections run in a home of their own (three one-page scans).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import hashlib
import io
import json
import shutil
import sqlite3
from pathlib import Path

import img2pdf
import page as page_validator
import pikepdf
import pytest
from lxml import etree
from PIL import Image

from ocr.pdfa import DocumentInfo, write_pdfa
from core.pdf.xmp import XmpCustomSchema, XmpProperty, extension_schema_findings
from header import REQUIRED
from header.record import RECORD_LABELS, XMP_NAMESPACE
from tests.conftest import json_lines, run_sohoa
from tests.fixtures import documents_labelled as labelled
from tests.fixtures import scans

ARCHIVED = {"tiff": "ke_hoach_42", "pdf": "cong_van_268", "g4": "quyet_dinh_15", "jpeg": "thong_bao_05",
            "png": "giay_moi_17"}
READ = ("number", "serial", "symbol", "issue_date", "place", "doc_type", "summary", "issuing_body", "parent_body",
        "signer_name", "signer_title", "recipients")


def show(home: Path, document_id: int) -> dict:
    done = run_sohoa(home, "show", str(document_id), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# -- what ingest stored ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(ARCHIVED))
def test_ingest_reads_the_header_of_every_input_kind(archived, kind):
    truth = labelled.truth(scans.DOCUMENTS[ARCHIVED[kind]])
    metadata = archived[kind].result["metadata"]
    assert {f: metadata.get(f) for f in READ} == {f: truth[f] for f in READ}
    assert metadata.get("addressees", []) == truth["addressees"]
    assert not set(metadata["review"]) & set(REQUIRED)  # (a bilevel fax scan may leave others in doubt)
    detail = metadata["header"]["number"]
    assert detail["page"] == 1 and detail["source"] == "ocr" and 0.6 <= detail["confidence"] <= 1
    left, top, right, bottom = detail["box"]
    assert 0 <= left < right and 0 <= top < bottom


def test_catalog_rows_hold_each_field_with_confidence_page_and_box(archived, archive_home):
    document_id = archived["tiff"].result["id"]
    with sqlite3.connect(archive_home / "catalog.sqlite") as db:
        rows = {r[0]: r[1:] for r in db.execute(
            "SELECT name, value, confidence, page, box, needs_review FROM document_fields WHERE document_id = ?",
            (document_id,))}
        key = db.execute("SELECT duplicate_key FROM documents WHERE id = ?", (document_id,)).fetchone()[0]
    assert rows["number"][:1] == ("42/KH-BQLV",) and rows["number"][2] == 1 and rows["number"][4] == 0
    assert rows["signer_name"][0] == "Vũ Thị Thu Hương" and rows["signer_name"][2] == 3  # the last of 3 pages
    assert json.loads(rows["recipients"][0]) == ["UBND tỉnh (để b/c);", "Sở Nội vụ;", "Lưu: VT, HCTH."]
    assert len(json.loads(rows["issue_date"][3])) == 4
    assert key == "42|KH-BQLV|ban quan ly vinh ha long|2026"


def test_the_sidecar_keeps_fields_and_the_thong_tu_05_record(archived):
    folder = Path(archived["pdf"].result["pdfa"]).parent
    sidecar = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    metadata = sidecar["metadata"]
    assert metadata["number"] == "268/SGTVT-VP" and metadata["header"]["summary"]["value"] == metadata["summary"]
    record = metadata["record"]
    assert list(record) == list(RECORD_LABELS)  # every element, in the order of Thông tư 05
    assert record["number"] == "268" and record["symbol"] == "SGTVT-VP" and record["date"] == "02/03/2018"
    assert record["type_name"] == "Công văn" and record["reliability"] == "02" and record["retention"] == "01"
    assert record["access_mode"] == "01" and record["physical_state"] == "01" and record["page_count"] == 1
    assert record["document_identifier"].endswith(f".{archived['pdf'].result['id']:07d}")
    assert record["process_link"].endswith("metadata.json")


def _xmp_value(root: etree._Element, name: str):
    """A property of the vanban schema, written as an element or as an attribute."""
    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    tag = f"{{{XMP_NAMESPACE}}}{name}"
    for description in root.iter(f"{{{rdf}}}Description"):
        if tag in description.attrib:
            return description.attrib[tag]
        element = description.find(tag)
        if element is not None:
            items = element.findall(f".//{{{rdf}}}li")
            return [i.text for i in items] if items else element.text
    return None


@pytest.mark.parametrize("kind", ["pdf", "g4"])
def test_the_signed_pdfa_carries_the_fields_in_its_xmp(archived, kind):
    metadata = archived[kind].result["metadata"]
    with pikepdf.open(archived[kind].result["pdfa"]) as pdf:
        meta = pdf.open_metadata()
        assert meta["dc:title"] == metadata["summary"]
        assert meta["dc:identifier"] == metadata["number"]
        assert meta["dc:date"] == [metadata["issue_date"]]
        assert meta["dc:creator"] == [metadata["issuing_body"]]
        assert set(meta["dc:type"]) == {metadata["doc_type"]}
        root = etree.fromstring(pdf.Root.Metadata.read_bytes())
        assert extension_schema_findings(pdf) == []
    assert _xmp_value(root, "signerName") == metadata["signer_name"]
    assert _xmp_value(root, "issuingBody") == metadata["issuing_body"]
    assert _xmp_value(root, "recipients") == metadata["recipients"]
    assert _xmp_value(root, "reliability") == "02"
    assert b"pdfaExtension" in etree.tostring(root)


def _written_with_custom_schema(tmp_path: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("L", (200, 280), 240).save(buffer, "PNG", dpi=(100, 100))
    schema = XmpCustomSchema(XMP_NAMESPACE, "vanban", "test", (
        XmpProperty("number", "Số", "1/QĐ-X"), XmpProperty("recipients", "Nơi nhận", ("Như trên;", "Lưu: VT."))))
    info = DocumentInfo(title="t", source_name="a.png", created=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                        creator_tool="test", custom=schema)
    path = tmp_path / "declared.pdf"
    write_pdfa(pikepdf.open(io.BytesIO(img2pdf.convert(buffer.getvalue()))), info, path)
    return path


def _edited_xmp(source: Path, target: Path, edit) -> list[str]:
    with pikepdf.open(source) as pdf:
        root = etree.fromstring(pdf.Root.Metadata.read_bytes())
        edit(root)
        pdf.Root.Metadata.write(etree.tostring(root.getroottree(), encoding="utf-8"))
        findings = extension_schema_findings(pdf)
        pdf.save(target)
    return findings


def test_custom_properties_must_be_declared_as_they_are_written(tmp_path):
    """The extension-schema check can fail: a property without its declaration, or declared
    as Text while it holds a list, makes the file invalid for core/pdf/xmp.py and for `page`."""
    good = _written_with_custom_schema(tmp_path)
    assert page_validator.validate_pdf(good, profile="2u").is_compliant

    def drop_declaration(root):
        for schemas in root.iter("{http://www.aiim.org/pdfa/ns/extension/}schemas"):
            description = schemas.getparent()
            description.getparent().remove(description)

    def list_declared_as_text(root):
        for value_type in root.iter("{http://www.aiim.org/pdfa/ns/property#}valueType"):
            value_type.text = "Text"

    for edit in (drop_declaration, list_declared_as_text):
        bad = tmp_path / f"{edit.__name__}.pdf"
        assert _edited_xmp(good, bad, edit), edit.__name__
        assert not page_validator.validate_pdf(bad, profile="2u").is_compliant, edit.__name__


def test_search_filters_work_on_the_fields_read(archived, archive_home):
    def ids(*args: str) -> set[int]:
        done = run_sohoa(archive_home, "search", *args, "--json", "--limit", "50")
        assert done.returncode == 0, done.stderr
        return {r["id"] for r in json.loads(done.stdout)["results"]}

    id_of = {name: archived[kind].result["id"] for kind, name in ARCHIVED.items()}
    assert ids("--type", "quyết định") & set(id_of.values()) == {id_of["quyet_dinh_15"]}
    assert ids("--type", "TB") & set(id_of.values()) == {id_of["thong_bao_05"]}
    assert ids("--agency", "giao thong van tai") & set(id_of.values()) == {id_of["cong_van_268"]}
    in_2026 = ids("--from", "01/01/2026", "--to", "31/12/2026") & set(id_of.values())
    assert in_2026 == {id_of["ke_hoach_42"], id_of["thong_bao_05"]}
    assert ids("tài liệu", "--agency", "nội vụ", "--to", "2024") & set(id_of.values()) == {id_of["quyet_dinh_15"]}


def test_show_prints_the_header(archived, archive_home):
    done = run_sohoa(archive_home, "show", str(archived["g4"].result["id"]), "--record")
    assert done.returncode == 0, done.stderr
    for expected in ("Quyết định", "27/12/2024 (Lâm Đồng)", "SỞ NỘI VỤ (UBND TỈNH LÂM ĐỒNG)",
                     "Về việc thành lập Hội đồng xác định giá trị tài liệu", "GIÁM ĐỐC — Phạm Thị Hồng Nhung",
                     "Thời hạn bảo quản:", "01 (Vĩnh viễn)", "Mức độ tin cậy:", "02 (Số hóa)"):
        assert expected in done.stdout, expected


# -- duplicates, review, corrections: a home of their own ------------------------------------------


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """A home with [metadata] defaults changed, and three scans: a công văn (A), another scan
    of the same công văn (B: same number, symbol, body, year), and a MẬT công văn whose
    number line has no number (C)."""
    home = tmp_path_factory.mktemp("desk") / "sohoa-data"
    folder = tmp_path_factory.mktemp("desk-scans")
    assert run_sohoa(home, "init").returncode == 0
    config = home / "config.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace('retention = "01"', 'retention = "04"').replace('dossier_code = ""', 'dossier_code = "H01.05"')
    config.write_text(text, encoding="utf-8")
    a = labelled.DOCUMENTS["cv_07_snv_bac_ninh"]
    c = labelled.DOCUMENTS["cv_64_vp_ha_tinh"]
    c = dataclasses.replace(c, number="/VP-TH")  # the number itself left blank
    files = [
        scans.write_png(folder / "a.png", scans.render_document_page(a, 0, name="a")),
        scans.write_jpeg(folder / "b.jpg", scans.render_document_page(a, 0, name="b", colour=True)),
        scans.write_png(folder / "c.png", scans.render_document_page(c, 0, name="c")),
    ]
    done = run_sohoa(home, "ingest", "--json", *map(str, files))
    assert done.returncode == 0, done.stderr
    results = {name: r for name, r in zip("abc", json_lines(done.stdout))}
    human = run_sohoa(home, "ingest", str(files[1]))  # already archived: reported as such
    return home, results, human


@pytest.fixture
def own_desk(desk, tmp_path):
    """A copy of the desk for a test that corrects a record: the other tests read the desk
    as ingest left it, whichever order they run in (a home holds no absolute path)."""
    home, results, human = desk
    copy = tmp_path / "sohoa-data"
    shutil.copytree(home, copy, symlinks=True)
    return copy, results, human


def test_a_second_document_with_the_same_number_is_archived_but_flagged(desk):
    home, results, _ = desk
    a, b = results["a"]["id"], results["b"]["id"]
    assert results["b"]["status"] == "archived" and a != b
    assert results["b"]["metadata"]["duplicate_of"] == [a]
    shown_b, shown_a = show(home, b), show(home, a)
    assert shown_b["duplicates"] == [a] and shown_a["duplicates"] == [b]  # each names the other
    (event,) = [e for e in shown_b["events"] if e["step"] == "duplicate"]
    assert event["outcome"] == "warning" and event["detail"]["of"] == [a]
    assert not [e for e in shown_a["events"] if e["step"] == "duplicate"]
    text = run_sohoa(home, "show", str(b)).stdout
    assert f"Trùng số, ký hiệu, cơ quan ban hành và năm với tài liệu mã {a}" in text


def test_the_record_takes_the_configured_defaults_and_what_the_page_says(desk):
    home, results, _ = desk
    record_a = show(home, results["a"]["id"])["metadata"]["record"]
    assert record_a["retention"] == "04"  # from [metadata] in config.toml
    assert record_a["archival_code"] == f"H01.05.{results['a']['id']:07d}"
    assert record_a["access_mode"] == "01"
    record_c = show(home, results["c"]["id"])["metadata"]["record"]
    assert record_c["access_mode"] == "03"  # the page says MẬT
    assert show(home, results["c"]["id"])["metadata"]["confidentiality"] == "MẬT"


def test_review_lists_what_was_not_read(desk):
    home, results, _ = desk
    c = results["c"]["id"]
    assert "number" in results["c"]["metadata"]["review"]
    done = run_sohoa(home, "review", "--json")
    assert done.returncode == 0, done.stderr
    listed = {entry["id"]: entry for entry in json_lines(done.stdout) if "id" in entry}  # not the summary
    assert c in listed and results["a"]["id"] not in listed
    # the number line was found but its number is blank: empty, flagged, with the line's box
    (number,) = [f for f in listed[c]["fields"] if f["field"] == "number"]
    assert number["value"] is None and number["source"] == "unread" and number["page"] == 1
    assert len(number["box"]) == 4 and number["box"][2] > number["box"][0]
    text = run_sohoa(home, "review").stdout
    assert f"[mã {c}] c.png" in text and "Số, ký hiệu: chưa đọc được" in text and f"sohoa set {c} number=" in text


def test_set_corrects_reindexes_and_records_who_when_and_the_old_value(own_desk):
    home, results, _ = own_desk
    c = results["c"]["id"]
    before = show(home, c)
    done = run_sohoa(home, "set", str(c), "number=64/VP-TH", "--by", "Lê Thị Văn Thư")
    assert done.returncode == 0, done.stderr
    assert "Lê Thị Văn Thư" in done.stdout
    after = show(home, c)
    assert after["metadata"]["number"] == "64/VP-TH" and after["metadata"]["serial"] == "64"
    assert after["metadata"]["header"]["number"]["source"] == "manual"
    corrected = [e for e in after["events"] if e["step"] == "corrected"]
    assert corrected[0]["detail"] == {"field": "number", "old": before["metadata"].get("number"), "new": "64/VP-TH",
                                      "by": "Lê Thị Văn Thư"}
    assert corrected[0]["at"].endswith("+07:00")
    # re-indexed: the number is found, and no longer awaits review
    found = json.loads(run_sohoa(home, "search", "64/VP-TH", "--json").stdout)["results"]
    assert found and found[0]["id"] == c and found[0]["number"] == "64/VP-TH"
    listed = {entry["id"]: entry["fields"] for entry in json_lines(run_sohoa(home, "review", "--json").stdout)
              if "id" in entry}  # not the summary line
    assert "number" not in [f["field"] for f in listed.get(c, [])]
    # the sidecar says the same, and the catalog's checksum of it is right
    sidecar = Path(after["sidecar"])
    assert json.loads(sidecar.read_text(encoding="utf-8"))["metadata"]["number"] == "64/VP-TH"
    with sqlite3.connect(home / "catalog.sqlite") as db:
        recorded = db.execute("SELECT sidecar_sha256 FROM documents WHERE id = ?", (c,)).fetchone()[0]
    assert recorded == hashlib.sha256(sidecar.read_bytes()).hexdigest()


def test_set_without_by_records_the_system_user_and_updates_the_record(own_desk):
    home, results, _ = own_desk
    a = results["a"]["id"]
    done = run_sohoa(home, "set", str(a), "issue_date=09/01/2020", "retention=02")
    assert done.returncode == 0, done.stderr
    shown = show(home, a)
    assert shown["metadata"]["issue_date"] == "2020-01-09" and shown["metadata"]["record"]["date"] == "09/01/2020"
    assert shown["metadata"]["record"]["retention"] == "02"
    who = {e["detail"]["by"] for e in shown["events"] if e["step"] == "corrected"}
    assert who == {getpass.getuser()}
    dated = json.loads(run_sohoa(home, "search", "--from", "09/01/2020", "--to", "09/01/2020", "--json").stdout)
    assert [r["id"] for r in dated["results"]] == [a]


@pytest.mark.parametrize("assignment, reason", [
    ("so_hieu=1", "không có trường"),
    ("issue_date=31/02/2020", "không hợp lệ"),
    ("retention=09", "mã «09» không hợp lệ"),
    ("number=abc", "không đúng dạng"),
    ("number", "TRƯỜNG=GIÁ_TRỊ"),
])
def test_a_bad_correction_changes_nothing(desk, assignment, reason):
    home, results, _ = desk
    a = results["a"]["id"]
    before = show(home, a)
    done = run_sohoa(home, "set", str(a), assignment)
    assert done.returncode == 1 and reason in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert show(home, a) == before


def test_set_on_a_missing_document_and_a_bad_default_say_so_in_one_line(desk, tmp_path):
    home, _, _ = desk
    missing = run_sohoa(home, "set", "99999", "notes=x")
    assert missing.returncode == 1 and "99999" in missing.stderr
    other = tmp_path / "sohoa-data"
    assert run_sohoa(other, "init").returncode == 0
    config = other / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('access_mode = "01"', 'access_mode = "7"'),
                      encoding="utf-8")
    done = run_sohoa(other, "review")
    assert done.returncode == 1 and "config.toml" in done.stderr and "access_mode" in done.stderr


def test_a_pdf_with_a_scanners_text_layer_is_read_from_our_ocr_of_it(tmp_path):
    """The scanner's invisible layer is replaced by our OCR (issue 12 point 3), whose words
    and positions the header is read from."""
    home = tmp_path / "sohoa-data"
    source = scans.write_searchable_pdf(tmp_path / "quyết-định-15.pdf", scans.render_page("quyet_dinh_15"))
    assert run_sohoa(home, "init").returncode == 0  # commands refuse a folder that is not a home
    done = run_sohoa(home, "ingest", "--json", str(source))
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    metadata = result["metadata"]
    assert metadata["text_source"] == "redone-ocr"
    truth = labelled.truth(scans.DOCUMENTS["quyet_dinh_15"])
    wanted = ("number", "issue_date", "doc_type", "issuing_body", "signer_name", "signer_title")
    assert {f: metadata.get(f) for f in wanted} == {f: truth[f] for f in wanted}
    assert metadata["header"]["number"]["page"] == 1 and len(metadata["header"]["number"]["box"]) == 4
