"""`sohoa verify` and `sohoa timestamp renew` on real archives: every tampering is caught,
a PDF that arrives signed is archived byte for byte, each run is in the audit trail.

Documents are PDFs with a text layer (no OCR needed), signed by the pipeline with
certomancer identities (tests/pki)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
from pathlib import Path

import page as page_validator
import pikepdf
import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter

from signing.pdfa import check_signed_pdfa
from tests.conftest import json_lines, run_sohoa
from tests.fixtures import scans
from tests.pki.fixtures import P12_PASSPHRASE, pki_home

DOCS = ["thong_bao_05", "giay_moi_17", "cong_van_268", "quyet_dinh_15", "ke_hoach_42"]


def ingest(home: Path, folder: Path, name: str, doc: str, dpi: int = 100) -> dict:
    source = scans.write_searchable_pdf(folder / name, scans.render_page(doc, dpi=dpi))
    done = run_sohoa(home, "ingest", "--json", str(source))
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    return result


def verify(home: Path, *args: str) -> tuple[int, list[dict]]:
    done = run_sohoa(home, "verify", "--json", *args)
    return done.returncode, json_lines(done.stdout)


def set_catalog_hash(home: Path, document_id: int, pdf: Path) -> None:
    """Make the catalog agree with a tampered file, so only the signature check can tell."""
    with sqlite3.connect(home / "catalog.sqlite") as db:
        db.execute("UPDATE documents SET pdfa_sha256 = ? WHERE id = ?",
                   (hashlib.sha256(pdf.read_bytes()).hexdigest(), document_id))


@pytest.fixture(scope="module")
def archive(tmp_path_factory, pki):
    """A B-T archive (signature + RFC 3161 timestamp) of five documents."""
    folder = tmp_path_factory.mktemp("verify")
    home = pki_home(folder, pki, level="B-T")
    sources = [scans.write_searchable_pdf(folder / f"doc-{i}.pdf", scans.render_page(doc, dpi=100))
               for i, doc in enumerate(DOCS)]
    done = run_sohoa(home, "ingest", "--json", *map(str, sources))  # one run: the identity opened once
    assert done.returncode == 0, done.stderr
    return home, json_lines(done.stdout)


def test_intact_records_pass_and_each_run_is_in_the_audit_trail(archive):
    home, results = archive
    code, lines = verify(home, str(results[0]["id"]))
    assert code == 0, lines
    (record, summary) = lines
    assert record["status"] == "ok" and record["sha256_ok"] and record["level"] == "B-T"
    (signature,) = record["signatures"]
    assert signature["subfilter"] == "ETSI.CAdES.detached" and signature["timestamp_ok"]
    assert signature["time_proven"] and signature["time"].endswith("+07:00")
    assert signature["coverage"] == "whole-file" and signature["trusted"]
    assert summary["summary"]["checked"] == 1 and summary["summary"]["failed"] == 0
    with sqlite3.connect(home / "catalog.sqlite") as db:
        steps = db.execute("SELECT step, outcome FROM events WHERE document_id = ? AND step = 'verified'",
                           (results[0]["id"],)).fetchall()
        runs = db.execute("SELECT detail FROM events WHERE document_id IS NULL AND step = 'verify_run'").fetchall()
    assert ("verified", "ok") in steps
    assert any(json.loads(detail)["ids"] == [results[0]["id"]] for (detail,) in runs)


def test_a_byte_flipped_in_the_signed_range_is_caught(archive):
    home, results = archive
    target = results[1]
    pdf = Path(target["pdfa"])
    data = bytearray(pdf.read_bytes())
    data[len(data) // 3] ^= 0x01  # inside the page image, well inside the signed range
    pdf.write_bytes(bytes(data))
    code, lines = verify(home, str(target["id"]))
    assert code == 1 and lines[0]["status"] == "failed"
    assert any("SHA-256" in p for p in lines[0]["problems"])
    set_catalog_hash(home, target["id"], pdf)
    code, lines = verify(home, str(target["id"]))
    assert code == 1
    assert any("bị sửa" in p for p in lines[0]["problems"]), lines[0]["problems"]


def test_a_page_appended_by_an_incremental_update_is_caught(archive):
    home, results = archive
    target = results[2]
    pdf = Path(target["pdfa"])
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf.read_bytes()))
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PageObject

    content = generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 700 Td (Trang gia mao) Tj ET")
    writer.insert_page(PageObject(contents=writer.add_object(content), media_box=[0, 0, 420, 595]))
    output = io.BytesIO()
    writer.write(output)
    pdf.write_bytes(output.getvalue())
    set_catalog_hash(home, target["id"], pdf)
    code, lines = verify(home, str(target["id"]))
    assert code == 1, lines
    assert any("thay đổi sau khi ký" in p for p in lines[0]["problems"]), lines[0]["problems"]
    assert lines[0]["signatures"][0]["coverage"] == "modified"


def test_a_rewritten_file_is_caught(archive):
    home, results = archive
    target = results[3]
    pdf = Path(target["pdfa"])
    with pikepdf.open(pdf, allow_overwriting_input=True) as rewritten:
        rewritten.save(pdf)  # same content, new layout: the signed bytes are gone
    set_catalog_hash(home, target["id"], pdf)
    code, lines = verify(home, str(target["id"]))
    assert code == 1 and lines[0]["status"] == "failed", lines


def test_a_stripped_signature_is_caught(archive):
    home, results = archive
    target = results[4]
    pdf = Path(target["pdfa"])
    with pikepdf.open(pdf, allow_overwriting_input=True) as stripped:
        del stripped.Root.AcroForm
        for page in stripped.pages:
            if "/Annots" in page.obj:
                del page.obj.Annots
        stripped.save(pdf)
    set_catalog_hash(home, target["id"], pdf)
    code, lines = verify(home, str(target["id"]))
    assert code == 1
    assert any("không còn chữ ký" in p for p in lines[0]["problems"]), lines[0]["problems"]


def test_csv_and_report_folder(archive, tmp_path):
    home, results = archive
    ids = [str(results[0]["id"]), str(results[1]["id"])]
    # The second fails here whether or not the byte-flip test (same document) ran before:
    # the catalog's hash of its file made wrong, the file as that test left it.
    with sqlite3.connect(home / "catalog.sqlite") as db:
        db.execute("UPDATE documents SET pdfa_sha256 = ? WHERE id = ?", ("0" * 64, results[1]["id"]))
    done = run_sohoa(home, "verify", "--csv", *ids, "--report", str(tmp_path / "bao-cao"))
    assert done.returncode == 1
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["Kết quả"] for r in rows] == ["Đạt", "Không đạt"] and rows[1]["Vấn đề"]
    reports = sorted((tmp_path / "bao-cao").iterdir())
    assert [p.suffix for p in reports] == [".csv", ".json"]
    report = json.loads(reports[1].read_text(encoding="utf-8"))
    assert report["summary"]["failed"] == 1 and [d["id"] for d in report["documents"]] == [int(i) for i in ids]
    assert reports[0].read_bytes().startswith(b"\xef\xbb\xbf")  # opens as UTF-8 in a spreadsheet


def test_unknown_ids_and_missing_arguments_fail_plainly(archive):
    home, _ = archive
    done = run_sohoa(home, "verify", "999")
    assert done.returncode == 1 and "999" in done.stderr
    done = run_sohoa(home, "verify")
    assert done.returncode == 1 and "--all" in done.stderr


@pytest.fixture(scope="module")
def revoked(tmp_path_factory, pki):
    """A B-B record signed with a certificate revoked since 2024."""
    folder = tmp_path_factory.mktemp("revoked")
    home = pki_home(folder, pki, cert="agency-revoked", level="B-B")
    return home, ingest(home, folder, "doc.pdf", "giay_moi_17")


def test_a_revoked_certificate_is_caught_online(revoked):
    home, result = revoked
    code, lines = verify(home, str(result["id"]), "--online")
    assert code == 1, lines
    assert any("thu hồi" in p for p in lines[0]["problems"]), lines[0]["problems"]


def test_revocation_is_not_claimed_offline_without_data(revoked):
    """Offline, a B-B file holds no revocation data: verified as not checked, with a
    warning, never as good."""
    home, result = revoked
    code, lines = verify(home, str(result["id"]))
    assert code == 0
    assert lines[0]["signatures"][0]["revocation"] == "not-checked"
    assert any("--online" in w for w in lines[0]["warnings"])


@pytest.mark.parametrize(("cert", "arch", "reason"), [
    ("agency-expired", "sohoa-test", "hết hạn"),
    ("other-agency", "other-test", "gốc tin cậy"),
])
def test_expired_and_untrusted_certificates_are_caught(tmp_path, pki, cert, arch, reason):
    home = pki_home(tmp_path, pki, cert=cert, arch=arch, level="B-B")
    result = ingest(home, tmp_path, "doc.pdf", "thong_bao_05")
    code, lines = verify(home, str(result["id"]))
    assert code == 1, lines
    assert any(reason in p for p in lines[0]["problems"]), lines[0]["problems"]


def test_a_pdf_that_arrives_signed_is_archived_byte_for_byte(tmp_path, pki):
    """A born-digital PDF signed elsewhere the old way (/adbe.pkcs7.detached)."""
    home = pki_home(tmp_path, pki, level="B-B")
    plain = scans.write_searchable_pdf(tmp_path / "plain.pdf", scans.render_page("cong_van_268", dpi=100))
    signer = signers.SimpleSigner.load_pkcs12(str(pki.pkcs12("agency", P12_PASSPHRASE)),
                                              passphrase=P12_PASSPHRASE.encode())
    signed_path = tmp_path / "đã-ký.pdf"
    with open(signed_path, "wb") as out:
        signers.PdfSigner(
            signers.PdfSignatureMetadata(field_name="Signature1", subfilter=SigSeedSubFilter.ADOBE_PKCS7_DETACHED),
            signer,
        ).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(plain.read_bytes())), output=out)
    sent = signed_path.read_bytes()

    done = run_sohoa(home, "ingest", "--json", str(signed_path))
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    archived = Path(result["pdfa"])
    assert archived.read_bytes() == sent, "never rewritten"
    assert result["pdfa_sha256"] == result["original_sha256"] == hashlib.sha256(sent).hexdigest()
    shown = json.loads(run_sohoa(home, "show", str(result["id"]), "--json").stdout)
    steps = {e["step"]: e for e in shown["events"]}
    assert "signed" not in steps and steps["pdfa"]["outcome"] == "skipped"
    checked = steps["signature_verified"]
    assert checked["outcome"] == "ok" and checked["detail"]["signatures"][0]["subfilter"] == "adbe.pkcs7.detached"

    found = run_sohoa(home, "search", "--json", "văn bản điện tử")
    assert result["id"] in [hit["id"] for hit in json.loads(found.stdout)["results"]]
    code, lines = verify(home, str(result["id"]))
    assert code == 0 and lines[0]["signatures"][0]["subfilter"] == "adbe.pkcs7.detached"


def test_timestamp_renew_extends_b_lta_records(tmp_path, pki):
    home = pki_home(tmp_path, pki, level="B-LTA")
    result = ingest(home, tmp_path, "lta.pdf", "quyet_dinh_15")
    pdf = Path(result["pdfa"])
    before = pdf.read_bytes()

    not_due = run_sohoa(home, "timestamp", "renew", "--json")  # the TSA certificate runs to 2050
    assert not_due.returncode == 0, not_due.stderr
    assert json_lines(not_due.stdout)[0]["status"] == "not-due" and pdf.read_bytes() == before

    renewed = run_sohoa(home, "timestamp", "renew", "--within-days", "100000", "--json")
    assert renewed.returncode == 0, renewed.stderr
    assert json_lines(renewed.stdout)[0]["status"] == "renewed"
    after = pdf.read_bytes()
    assert after.startswith(before), "an incremental update"
    timestamps = [s for s in PdfFileReader(io.BytesIO(after)).embedded_signatures if s.sig_object_type == "/DocTimeStamp"]
    assert len(timestamps) == 2
    assert check_signed_pdfa(after).passed
    failures = page_validator.validate_pdf(pdf, profile="2u").failures
    assert {f.rule_id for f in failures} <= {"PDFA2U-SIGNATURE-BYTERANGE-001"}  # see test_signing.py

    shown = json.loads(run_sohoa(home, "show", str(result["id"]), "--json").stdout)
    assert shown["pdfa_sha256"] == hashlib.sha256(after).hexdigest()
    sidecar = json.loads(Path(shown["sidecar"]).read_text(encoding="utf-8"))
    assert sidecar["pdfa"]["sha256"] == shown["pdfa_sha256"]
    assert [e["step"] for e in shown["events"]][-1] == "timestamp_renewed"
    code, lines = verify(home, str(result["id"]))
    assert code == 0, lines
    assert [s["kind"] for s in lines[0]["signatures"]] == ["signature", "document-timestamp", "document-timestamp"]
