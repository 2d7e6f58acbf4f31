"""PDFs that arrive signed: every ingest gives the verdict on their signatures.

The signed inputs are made here with pyHanko and a throwaway self-signed key (configured as
the trust root, so an untouched signature is "valid"): an owner-password-only file opens and
is reported intact (as pdfsig says); any ByteRange shape gives a verdict, never a crash;
a file changed inside the signed bytes is reported "modified" on the console, in `--json`,
and by exit code 3 (archived, but the signature no longer vouches for it).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
from pathlib import Path

import pikepdf
import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.byte_range import byte_range_problem
from signing.pdfa import check_signed_pdfa
from signing.verify import VerifyPolicy, received_signature_verdict, verify_pdf
from tests.conftest import json_lines, run_sohoa
from tests.fixtures import scans
from tests.pki.fixtures import configure

SIGNER_NAME = "Văn phòng UBND tỉnh Thử"
EXIT_SIGNATURE_BROKEN = 3


@pytest.fixture(scope="module")
def identity(tmp_path_factory):
    """A self-signed signing key and certificate, and its PEM (the trust root)."""
    folder = tmp_path_factory.mktemp("identity")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SIGNER_NAME),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")])
    now = dt.datetime.now(dt.timezone.utc)
    usage = x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .sign(key, hashes.SHA256()))
    root = folder / "root.pem"
    root.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        cert_registry=SimpleCertificateStore(),
    )
    return signer, root


def sign(signer, data: bytes, *, user_password: str | None = None) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    if user_password is not None:
        writer.encrypt(user_password)  # an update of an encrypted file stays encrypted alike
    output = io.BytesIO()
    signers.PdfSigner(signers.PdfSignatureMetadata(field_name="Signature1", subfilter=SigSeedSubFilter.PADES),
                      signer).sign_pdf(writer, output=output)
    return output.getvalue()


@pytest.fixture(scope="module")
def documents(identity, tmp_path_factory):
    """Signed inputs: plain, owner-password-only, tampered; and the home that trusts them."""
    signer, root = identity
    folder = tmp_path_factory.mktemp("signed-inputs")
    plain = scans.write_searchable_pdf(folder / "plain.pdf", scans.render_page("cong_van_268", dpi=100)).read_bytes()
    signed = sign(signer, plain)
    with pikepdf.open(io.BytesIO(plain)) as pdf:
        encrypted = io.BytesIO()
        pdf.save(encrypted, encryption=pikepdf.Encryption(owner="mật-khẩu-chủ", user="", R=6))
    home = folder / "sohoa-data"
    assert run_sohoa(home, "init").returncode == 0
    configure(home, trust_roots=[str(root)])
    return {"folder": folder, "home": home, "root": root, "signed": signed,
            "owner": sign(signer, encrypted.getvalue(), user_password="")}


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_an_owner_password_only_signed_pdf_is_ingested_and_reported_intact(documents):
    folder, home = documents["folder"], documents["home"]
    path = write(folder, "chỉ-mật-khẩu-chủ.pdf", documents["owner"])
    with pikepdf.open(path) as pdf:
        assert pdf.is_encrypted  # opens without a password, but is encrypted
    pdfsig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True)
    assert "Signature is Valid" in pdfsig.stdout and "Total document signed" in pdfsig.stdout

    done = run_sohoa(home, "ingest", "--json", str(path))
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    assert result["status"] == "archived"
    assert result["input_signature"]["status"] == "valid", result["input_signature"]
    assert Path(result["pdfa"]).read_bytes() == documents["owner"], "archived byte for byte"

    verified = run_sohoa(home, "verify", "--json", str(result["id"]))
    assert verified.returncode == 0, verified.stdout
    record = json_lines(verified.stdout)[0]
    assert record["status"] == "ok" and record["signatures"][0]["intact"], record


def test_a_plain_signed_pdf_is_reported_valid_in_one_console_line(documents):
    path = write(documents["folder"], "đã-ký.pdf", documents["signed"])
    done = run_sohoa(documents["home"], "ingest", str(path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("✓ ")
    verdicts = [line for line in lines if "chữ ký số" in line]
    assert verdicts == [f"  ✓ chữ ký số của {SIGNER_NAME} còn nguyên vẹn và hợp lệ"], lines


def _tampered(signed: bytes) -> bytes:
    """One byte changed inside the first signed range, in a text string: still parses."""
    match = re.search(rb"/Producer \(Tesseract 5\.3\.0\)", signed)
    start, first = (int(v) for v in re.search(rb"/ByteRange \[(\d+) (\d+)", signed).groups())
    assert match and start <= match.start() and match.end() < first
    at = match.end() - 2  # the last digit of the version
    return signed[:at] + b"1" + signed[at + 1:]


def test_a_tampered_signed_pdf_is_reported_modified_with_exit_code_3(documents):
    folder, home = documents["folder"], documents["home"]
    tampered = _tampered(documents["signed"])
    with pikepdf.open(io.BytesIO(tampered)) as pdf:
        assert len(pdf.pages) == 1  # still a readable PDF

    path = write(folder, "bị-sửa.pdf", tampered)
    done = run_sohoa(home, "ingest", "--json", str(path))
    assert done.returncode == EXIT_SIGNATURE_BROKEN, (done.returncode, done.stderr)
    (result,) = json_lines(done.stdout)
    assert result["status"] == "archived"  # kept as received: it is the evidence
    verdict = result["input_signature"]
    assert verdict["status"] == "modified" and "sửa" in verdict["message"], verdict

    again = run_sohoa(home, "ingest", str(path))  # the console: the same file again (a duplicate)
    assert again.returncode == EXIT_SIGNATURE_BROKEN
    assert any(line.startswith("  ⚠ tệp đã bị sửa sau khi") for line in again.stdout.splitlines()), again.stdout

    shown = json.loads(run_sohoa(home, "show", "--json", str(result["id"])).stdout)
    (event,) = [e for e in shown["events"] if e["step"] == "signature_verified"]
    assert event["outcome"] == "failed" and event["detail"]["input_signature"]["status"] == "modified"


def _with_byte_range(signed: bytes, numbers: str) -> bytes:
    """The same file with its /ByteRange text replaced in place (padding kept: offsets stay)."""
    match = re.search(rb"/ByteRange \[[^\]]*\] *", signed)
    text = f"/ByteRange [{numbers}]".encode()
    assert len(text) <= len(match.group())
    return signed[:match.start()] + text.ljust(len(match.group())) + signed[match.end():]


def _ranges(signed: bytes) -> tuple[int, int, int, int]:
    return tuple(int(v) for v in re.search(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+)", signed).groups())


ODD_RANGES = {
    "ba-doan": lambda s, a, b, c: f"0 {a} {b} {c - 10} {b + c - 10} 10",
    "ba-so": lambda s, a, b, c: f"0 {a} {b}",
    "khoang-ho": lambda s, a, b, c: f"0 {a - 100} {b} {c}",
    "khong-den-cuoi": lambda s, a, b, c: f"0 {a} {b} {c - 10}",
    "so-am": lambda s, a, b, c: f"0 {a} -5 {c}",
    "so-qua-lon": lambda s, a, b, c: f"0 {a} {b} 99999999999",
    "khong-tu-dau": lambda s, a, b, c: f"5 {a - 5} {b} {c}",
    "chong-nhau": lambda s, a, b, c: f"0 {b} {a} {c}",
}


def test_any_byte_range_shape_gives_a_verdict_never_a_crash(documents):
    folder, home = documents["folder"], documents["home"]
    signed = documents["signed"]
    _, first, second, length = _ranges(signed)
    paths = [write(folder, f"byterange-{name}.pdf", _with_byte_range(signed, make(signed, first, second, length)))
             for name, make in ODD_RANGES.items()]
    done = run_sohoa(home, "ingest", "--json", *map(str, paths))
    assert done.returncode == EXIT_SIGNATURE_BROKEN, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and "không mong đợi" not in done.stderr, done.stderr
    results = json_lines(done.stdout)
    assert [r["status"] for r in results] == ["archived"] * len(paths), results
    for name, result in zip(ODD_RANGES, results):
        verdict = result["input_signature"]
        assert verdict["status"] == "invalid", (name, verdict)
        assert "ByteRange" in verdict["message"] or "không phủ toàn bộ tệp" in verdict["message"], (name, verdict)


@pytest.mark.parametrize("name", sorted(ODD_RANGES))
def test_the_checks_themselves_take_any_byte_range(documents, name):
    """The pieces ingest calls, directly: the PDF/A check and the verifier give findings."""
    signed = documents["signed"]
    _, first, second, length = _ranges(signed)
    odd = _with_byte_range(signed, ODD_RANGES[name](signed, first, second, length))
    report = check_signed_pdfa(odd)
    assert not report.passed and any("ByteRange" in f for f in report.findings), report.findings
    verdict = received_signature_verdict(verify_pdf(odd, VerifyPolicy(trust_roots=())))
    assert verdict["status"] == "invalid", verdict


def test_byte_range_shapes():
    data = b"%PDF-1.7\n" + b"x" * 100 + b"<00ff>" + b"y" * 50 + b"\n%%EOF\n"
    gap = data.index(b"<")
    good = [0, gap, gap + 6, len(data) - gap - 6]
    assert byte_range_problem(good, data) is None
    assert "4" in byte_range_problem(good[:3], data)
    assert "âm" in byte_range_problem([0, gap, -1, 5], data)
    assert "ngoài tệp" in byte_range_problem([0, gap, gap + 6, 10**12], data)
    assert "không phủ" in byte_range_problem([0, gap - 1, gap + 6, len(data) - gap - 6], data)
    assert "không phủ" in byte_range_problem([0, gap, gap + 6, len(data) - gap - 10], data)
    assert byte_range_problem(["/Name", 1, 2, 3], data) is not None
    assert byte_range_problem(None, data) is not None


def test_an_unsigned_input_says_none(documents):
    path = scans.write_searchable_pdf(documents["folder"] / "không-ký.pdf", scans.render_page("giay_moi_17", dpi=100))
    done = run_sohoa(documents["home"], "ingest", "--json", str(path))
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    assert result["input_signature"]["status"] == "none"


def test_the_watch_service_reports_the_verdict_too(documents, tmp_path):
    """A tampered signed PDF dropped in an inbox: archived as received, and the service says
    so on its console and in its log (event=input-signature status=modified)."""
    from tests.test_watch_support import Service, make_home, wait_for

    home = make_home(tmp_path / "sohoa-data")
    configure(home, trust_roots=[str(documents["root"])])
    with Service(home) as service:
        write(home / "inbox" / "van-ban-den", "bị-sửa-khi-chuyển.pdf", _tampered(documents["signed"]))
        wait_for(lambda: "event=input-signature" in service.log(), 120, "the verdict in the log")
        line = next(line for line in service.log().splitlines() if "event=input-signature" in line)
        assert "status=modified" in line and "bị-sửa-khi-chuyển.pdf" in line, line
        wait_for(lambda: "tệp đã bị sửa sau khi" in service.output(), 20, "the verdict on the console")
        assert any(line.strip().startswith("⚠ ") and "bị-sửa-khi-chuyển.pdf" in line
                   for line in service.output().splitlines() if "tệp đã bị sửa" in line), service.output()
