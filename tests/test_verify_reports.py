"""`sohoa verify` reports people can act on (issue 13, point 7), on a home made by `sohoa init`
with its default signing (the test identity under keys/): the test signature is named as
such and never trusted, revocation is never "good" for a certificate that names no
revocation service, one line per document, and the CSV/JSON report carries the document's
number, date and summary under Vietnamese headers, the CSV in UTF-8 with a BOM."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from certomancer.registry import CertLabel
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

from pipeline.verify_report import vn_date
from signing.verify import NO_REVOCATION_SERVICE, TEST_SIGNATURE_LABEL, revocation_status
from tests.conftest import json_lines, run_sohoa
from tests.fixtures import scans

DOCS = ("cong_van_268", "quyet_dinh_15")
BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> tuple[Path, list[dict]]:
    """A fresh home as `sohoa init` makes it (signing on, test identity), two documents in."""
    folder = tmp_path_factory.mktemp("verify-reports")
    home = folder / "home"
    done = run_sohoa(home, "init")
    assert done.returncode == 0, done.stderr
    assert "enabled = true" in (home / "config.toml").read_text(encoding="utf-8")
    sources = [scans.write_searchable_pdf(folder / f"scan-{i}.pdf", scans.render_page(doc, dpi=100))
               for i, doc in enumerate(DOCS)]
    done = run_sohoa(home, "ingest", "--json", *map(str, sources))
    assert done.returncode == 0, done.stderr
    results = json_lines(done.stdout)
    assert [r["status"] for r in results] == ["archived", "archived"]
    return home, results


def shown(home: Path, document_id: int) -> dict:
    done = run_sohoa(home, "show", "--json", str(document_id))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["metadata"]


def test_identity_certificate(home_root: Path) -> asn1_x509.Certificate:
    (p12,) = (home_root / "keys").glob("*.p12")
    (pin,) = (home_root / "keys").glob("*.pin")
    _, certificate, _ = pkcs12.load_key_and_certificates(p12.read_bytes(), pin.read_bytes().strip())
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


test_identity_certificate.__test__ = False  # a helper, not a test


@pytest.mark.parametrize("online", [False, True])
def test_one_line_per_document_naming_the_test_signature_never_trusted(home, online):
    home_root, results = home
    done = run_sohoa(home_root, "verify", "--all", *(["--online"] if online else []))
    assert done.returncode == 0, done.stdout + done.stderr
    *lines, total = done.stdout.splitlines()
    assert total.startswith("Đã kiểm tra 2 tài liệu")
    assert len(lines) == len(results), lines  # no warning on a line of its own
    for line, result in zip(lines, results):
        assert line.startswith(f"✓ [mã {result['id']}]"), line
        assert line.count(TEST_SIGNATURE_LABEL) == 1, line
        assert line.count(NO_REVOCATION_SERVICE) == 1, line  # said once, not once per source
        assert "tin cậy" not in line.lower() and "trusted" not in line.lower(), line
    assert "tin cậy" not in done.stderr.lower()


def test_the_json_verdict_never_calls_the_test_identity_trusted(home):
    home_root, results = home
    done = run_sohoa(home_root, "verify", "--json", "--all")
    assert done.returncode == 0, done.stderr
    *records, _summary = json_lines(done.stdout)
    assert len(records) == len(results)
    for record in records:
        (signature,) = record["signatures"]
        assert signature["test_identity"] and not signature["trusted"]
        assert signature["state"] == "valid" and record["status"] == "ok"
        assert TEST_SIGNATURE_LABEL in record["message"]


def test_online_never_says_revocation_good_for_a_certificate_naming_no_service(home):
    home_root, _ = home
    certificate = test_identity_certificate(home_root)
    assert not certificate.ocsp_urls and not certificate.crl_distribution_points  # no AIA OCSP, no CRLDP
    done = run_sohoa(home_root, "verify", "--json", "--online", "--all")
    assert done.returncode == 0, done.stderr
    *records, summary = json_lines(done.stdout)
    assert summary["summary"]["online"]
    for record in records:
        assert [s["revocation"] for s in record["signatures"]] == ["no-service"]
        assert NO_REVOCATION_SERVICE in record["warnings"]
    # The deciding function: "good" only for a certificate that names a service, when checked.
    assert revocation_status(certificate, checked=True) == "no-service"
    assert revocation_status(certificate, checked=False) == "no-service"


def test_revocation_good_needs_a_declared_service(pki):
    agency = pki.arch().get_cert(CertLabel("agency"))  # certomancer: CRL distribution point and OCSP in AIA
    assert agency.ocsp_urls and agency.crl_distribution_points
    assert revocation_status(agency, checked=True) == "good"
    assert revocation_status(agency, checked=False) == "not-checked"
    bare = pki.arch().get_cert(CertLabel("agency-no-revinfo"))
    assert revocation_status(bare, checked=True) == "no-service"


def test_report_csv_and_json_carry_number_date_summary_in_vietnamese(home, tmp_path):
    home_root, results = home
    out = tmp_path / "bao-cao"
    done = run_sohoa(home_root, "verify", "--all", "--report", str(out))
    assert done.returncode == 0, done.stderr
    json_path, csv_path = sorted(out.glob("*.json")), sorted(out.glob("*.csv"))
    assert len(json_path) == 1 and len(csv_path) == 1, list(out.iterdir())
    raw = csv_path[0].read_bytes()
    assert raw.startswith(BOM) and not raw.startswith(BOM + b"sep=")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, *body = rows
    for column in ("Mã tài liệu", "Số ký hiệu", "Ngày ban hành", "Trích yếu", "Kết quả", "Loại chữ ký", "Thu hồi"):
        assert column in header, header
    assert len(body) == len(results) and all(len(row) == len(header) for row in body)
    table = [dict(zip(header, row)) for row in body]
    report = json.loads(json_path[0].read_text(encoding="utf-8"))
    assert [d["id"] for d in report["documents"]] == [r["id"] for r in results]
    for row, document, result in zip(table, report["documents"], results):
        metadata = shown(home_root, result["id"])
        assert metadata["number"] and metadata["issue_date"] and metadata["summary"]  # the header was read
        assert row["Mã tài liệu"] == str(result["id"])
        assert row["Số ký hiệu"] == metadata["number"]
        assert row["Ngày ban hành"] == vn_date(metadata["issue_date"])
        assert row["Trích yếu"] == metadata["summary"]
        assert row["Kết quả"] == "Đạt" and row["Loại chữ ký"] == TEST_SIGNATURE_LABEL
        assert "tin cậy" not in ",".join(row.values()).lower()
        for key in ("number", "issue_date", "summary"):
            assert document[key] == metadata[key]
        assert not document["signatures"][0]["trusted"]


def test_csv_on_stdout_is_one_row_per_document(home):
    home_root, results = home
    done = run_sohoa(home_root, "verify", "--csv", "--all")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["Mã tài liệu"] for r in rows] == [str(r["id"]) for r in results]
    assert [r["Số ký hiệu"] for r in rows] == [shown(home_root, r["id"])["number"] for r in results]


def test_a_failing_document_is_one_line_with_its_reasons(home, tmp_path):
    """A byte flipped in an archived PDF/A (put back afterwards): the ✗ line carries each reason once."""
    home_root, results = home
    pdf = Path(results[0]["pdfa"])
    saved = pdf.read_bytes()
    try:
        data = bytearray(saved)
        data[len(data) // 3] ^= 0x01
        pdf.write_bytes(bytes(data))
        done = run_sohoa(home_root, "verify", str(results[0]["id"]))
        assert done.returncode == 1
        *lines, _total = done.stdout.splitlines()
        (line,) = lines
        assert line.startswith(f"✗ [mã {results[0]['id']}]") and "SHA-256" in line
        reasons = line.split(": ", 1)[1].split(" — lưu ý: ")[0].split("; ")
        assert len(reasons) == len(set(reasons)), reasons
    finally:
        pdf.write_bytes(saved)
