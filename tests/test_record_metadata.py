"""The record's metadata as one typed object with one serialisation (issue 14, point 3):
what today's ingest writes reads back and writes again unchanged, keys from other homes are
kept, the index reads the keys that are really written, timestamp renewal selects on a typed
level, and the catalog's number is the PDF/A's."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from pathlib import Path

import pikepdf
import pytest

from core.ocr_results import OcrLine, OcrPage, OcrWord
from core.record_metadata import RecordMetadata, SignatureLevel
from header import read_header
from index import IndexedDocument, index_entry
from tests.conftest import json_lines, run_sohoa
from tests.fixtures import scans
from tests.pki.fixtures import pki_home
from tests.test_watch_support import make_home, tiny_scan

VANBAN = "http://sohoa.invalid/ns/vanban/1.0/"


def _stored(home: Path) -> dict[int, tuple[str, str]]:
    """id -> (metadata_json, pdfa_file) as the catalog holds them."""
    with sqlite3.connect(home / "catalog.sqlite") as db:
        return {i: (m, p) for i, m, p in db.execute("SELECT id, metadata_json, pdfa_file FROM documents")}


def number_line_scan(path: Path) -> Path:
    """A page whose `Số:` line stands in the right half, where the layout finds no number
    row: its number used to be read by ingest's own flat-text reader into the catalog, and
    was missing from the PDF/A's XMP, which had the header reader's alone."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(image)
    font = scans._font("regular", 30)
    draw.text((700, 150), "Số: 30/2020/NĐ-CP", font=font, fill="black")
    for n, text in enumerate(["Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
                              "Căn cứ Quyết định số 2119/QĐ-UBND của Ủy ban nhân dân tỉnh;",
                              "Xét đề nghị của Giám đốc Sở Nội vụ,"]):
        draw.text((120, 400 + 60 * n), text, font=font, fill="black")
    image.save(path, dpi=(150, 150), quality=92)
    return path


@pytest.fixture(scope="module")
def archived(tmp_path_factory) -> tuple[Path, list[int]]:
    """Three generated scans archived by today's `sohoa ingest`."""
    home = make_home(tmp_path_factory.mktemp("record") / "sohoa-data")
    folder = tmp_path_factory.mktemp("scans")
    files = [tiny_scan(folder / "giấy-mời.jpg", 0, "giay_moi_17"), tiny_scan(folder / "công-văn.jpg", 1, "cong_van_268"),
             number_line_scan(folder / "số-bên-phải.jpg")]
    done = run_sohoa(home, "ingest", "--json", *map(str, files))
    assert done.returncode == 0, done.stderr
    return home, [line["id"] for line in json_lines(done.stdout)]


def test_todays_metadata_json_round_trips_unchanged(archived) -> None:
    home, ids = archived
    for document_id in ids:
        text, _ = _stored(home)[document_id]
        record = RecordMetadata.from_json(text)
        assert record.to_json() == text  # byte for byte: today's writers go through to_json
        assert record.extra == {}, "every key today's ingest writes is a typed field"
        assert record.title and record.page_count == 1 and isinstance(record.record, dict)


def test_the_index_reads_the_keys_that_are_written(archived) -> None:
    home, ids = archived
    for document_id in ids[:2]:
        text, _ = _stored(home)[document_id]
        written = json.loads(text)
        entry = index_entry(document_id, written, ["trang"], [("signed", "skipped")])
        assert entry.number == written.get("number") and written.get("number")
        assert entry.doc_type == written["doc_type"] and entry.issue_date.isoformat() == written["issue_date"]
        assert entry.title == written["summary"] and entry.signature_status == "unsigned"
    # Spellings nothing writes are not read.
    unknown = IndexedDocument.from_record(1, {"date": "2024-03-02", "type": "Công văn", "title": "a.pdf"}, [])
    assert (unknown.issue_date, unknown.doc_type, unknown.title) == (None, None, "a.pdf")


def test_unknown_keys_odd_values_and_nulls_are_kept_and_text_is_nfc() -> None:
    older = {
        "title": unicodedata.normalize("NFD", "công văn.pdf"), "number": None, "page_count": "3",
        "trích_yếu_cũ": {"giá_trị": unicodedata.normalize("NFD", "Về việc")}, "addressees": ["Sở Nội vụ"],
    }
    record = RecordMetadata.from_mapping(older)
    assert record.title == "công văn.pdf" and record.page_count is None and record.number is None
    assert record.addressees == ("Sở Nội vụ",)
    again = json.loads(record.to_json())
    assert again == json.loads(unicodedata.normalize("NFC", json.dumps(older, ensure_ascii=False)))
    assert RecordMetadata.from_json(record.to_json()) == record
    with pytest.raises(AttributeError):
        record.title = "khác"  # type: ignore[misc]
    assert record.with_values(number="268/SGTVT-VP", title=None).as_dict()["number"] == "268/SGTVT-VP"
    assert "title" not in record.with_values(title=None).as_dict()


def test_every_key_has_one_typed_field_and_a_profiles_codes_are_typed() -> None:
    from dataclasses import fields

    from core.record_metadata import KINDS

    assert [f.name for f in fields(RecordMetadata)][:-2] == list(KINDS)
    record = RecordMetadata.from_mapping({"profile": "van-ban-den", "register": "Sổ văn bản đến", "reliability": "02",
                                          "intake": {"job": 7}})
    assert (record.profile, record.register, record.reliability, record.intake) == (
        "van-ban-den", "Sổ văn bản đến", "02", {"job": 7})
    assert record.extra == {}


def test_signature_level_is_parsed_never_matched_as_text() -> None:
    assert SignatureLevel.parse("PAdES B-LTA") is SignatureLevel.B_LTA is SignatureLevel.parse("B-LTA")
    assert SignatureLevel.parse("not PAdES B-LTA") is None and SignatureLevel.parse(None) is None


def _document(sha: str, metadata: dict) -> dict:
    return {
        "received_at": "2026-11-29T10:00:00+07:00", "original_name": f"{sha[:4]}.pdf", "original_format": "pdf",
        "original_sha256": sha, "original_size": 1, "archive_dir": "2026/11", "original_file": "a.pdf",
        "pdfa_file": "a.pdfa.pdf", "pdfa_sha256": "p" * 64, "pdfa_size": 1, "sidecar_file": "a.json",
        "sidecar_sha256": "s" * 64, "page_count": 1, "metadata_json": RecordMetadata.from_mapping(metadata).to_json(),
    }


def test_renewal_selects_on_the_typed_level(tmp_path: Path) -> None:
    from core.catalog import Catalog, Event
    from pipeline.archive_checks import renewal_candidates

    home = make_home(tmp_path / "sohoa-data")
    cases = [  # (typed level in the metadata, the signed event's detail, selected)
        ("PAdES B-LTA", {"level": "PAdES B-T"}, True),  # the typed field wins
        ("PAdES B-T", {"level": "PAdES B-LTA"}, False),
        (None, {"level": "PAdES B-LTA"}, True),  # archived before the field: its event, parsed
        (None, {"level": "PAdES B-T", "note": "PAdES B-LTA"}, False),  # the text elsewhere in the JSON
        (None, {"level": "PAdES B-LTA "}, True),
    ]
    with Catalog(home / "catalog.sqlite") as catalog:
        expected = []
        with catalog.transaction() as db:
            for n, (level, detail, selected) in enumerate(cases):
                metadata = {"title": f"{n}.pdf", **({"signature_level": level} if level else {})}
                document_id = catalog.insert_document(db, _document(f"{n}" * 64, metadata))
                catalog.insert_events(db, document_id, [Event("signed", "ok", "now", detail)])
                expected += [document_id] if selected else []
            received = catalog.insert_document(db, _document("r" * 64, {"title": "đã ký.pdf"}))
            catalog.insert_events(db, received, [Event("signature_verified", "ok", "now", {"level": "B-LTA"})])
        assert renewal_candidates(catalog) == expected


def _line(text: str, x: int, y: int) -> OcrLine:
    words = []
    for word in text.split():
        words.append(OcrWord(word, (x, y, x + 20 * len(word), y + 30), 95.0))
        x += 20 * len(word) + 15
    return OcrLine(tuple(words), (words[0].box[0], y, x, y + 30), 0.0, 0.0, 30.0)


def test_a_number_line_outside_the_number_row_is_the_header_readers_own_with_its_parts() -> None:
    """The `Số:` line in the right half, where the layout finds no number row: the header
    reader itself reads it (once the catalog's alone, never the XMP's), parts and all."""
    page = OcrPage(2480, 3508, 300, (_line("Số: 30/2020/NĐ-CP", 1500, 200),
                                     _line("Căn cứ Quyết định số 2119/QĐ-UBND", 100, 400)), "test")
    header = read_header([page])
    assert header.value("number") == "30/2020/NĐ-CP"
    assert (header.value("serial"), header.value("number_year"), header.value("symbol")) == ("30", "2020", "NĐ-CP")
    cited = OcrPage(2480, 3508, 300, (_line("Căn cứ Quyết định số 2119/QĐ-UBND", 1500, 200),), "test")
    assert "number" not in read_header([cited]).fields


def test_the_catalogs_number_is_the_pdfas_xmp_number(archived) -> None:
    home, ids = archived
    for document_id in ids:
        text, pdfa_file = _stored(home)[document_id]
        written = json.loads(text)
        number = written["number"]
        with pikepdf.open(home / "archive" / pdfa_file) as pdf:
            xmp = pdf.open_metadata()
            assert xmp.get(f"{{{VANBAN}}}number") == number and number
            assert xmp.get("dc:identifier") == number
            assert xmp.get(f"{{{VANBAN}}}serial") == written["serial"]
    # the third: read from its `Số:` line (no box on the page), by the header reader all the same
    third = json.loads(_stored(home)[ids[2]][0])
    assert third["number"] == "30/2020/NĐ-CP" and "box" not in third["header"]["number"]


def test_a_b_lta_record_carries_its_typed_level(tmp_path: Path, pki) -> None:
    from core.catalog import Catalog
    from pipeline.archive_checks import renewal_candidates

    home = pki_home(tmp_path, pki, level="B-LTA")
    source = scans.write_searchable_pdf(tmp_path / "lta.pdf", scans.render_page("quyet_dinh_15", dpi=100))
    done = run_sohoa(home, "ingest", "--json", str(source))
    assert done.returncode == 0, done.stderr
    (document_id,) = [line["id"] for line in json_lines(done.stdout)]
    record = RecordMetadata.from_json(_stored(home)[document_id][0])
    assert record.level is SignatureLevel.B_LTA
    with Catalog(home / "catalog.sqlite") as catalog:
        assert renewal_candidates(catalog) == [document_id]


def test_show_prints_the_typed_number_and_record(archived) -> None:
    home, ids = archived
    shown = run_sohoa(home, "show", str(ids[2]), "--record")
    assert shown.returncode == 0, shown.stderr
    assert "Số ký hiệu: 30/2020/NĐ-CP" in shown.stdout
    assert "Thông tư 05/2025" in shown.stdout and "Mã định danh tài liệu" in shown.stdout
