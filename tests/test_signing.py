"""The agency's signature: every PAdES level, PKCS#12 and a real PKCS#11 token (SoftHSM2),
the Nghị định 30 text block, and a signed file that is still PDF/A-2u for two validators.

The PKI is real: certomancer serves its OCSP responder, CRLs and timestamp service on
loopback (tests/pki)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import unicodedata
from pathlib import Path

import page as page_validator
import pikepdf
import pikepdf.pdfa
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers

from signing.errors import RevocationDataMissing
from signing.identity import open_identity
from signing.pdfa import check_signed_pdfa
from core.signing_settings import Pkcs12Identity, SigningSettings
from signing.sign import AgencySigner, load_trust_roots
from signing.verify import VerifyPolicy, verify_pdf
from tests.conftest import json_lines, run_sohoa
from tests.pki.fixtures import P12_PASSPHRASE, configure, pki_home, text_pdf

LEVELS = ["B-B", "B-T", "B-LT", "B-LTA"]
AGENCY = "Sở Giao thông Vận tải Bình Định"
ALL_VIETNAMESE = unicodedata.normalize(
    "NFC",
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ "
    "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ",
)


def signer_for(pki, tmp_path, *, level="B-B", cert="agency", visible=True, agency=AGENCY) -> AgencySigner:
    p12 = pki.pkcs12(cert, P12_PASSPHRASE)
    pin = tmp_path / f"{cert}.pin"
    pin.write_text(P12_PASSPHRASE, encoding="utf-8")
    settings = SigningSettings(level=level, visible=visible, agency_name=agency, identity=Pkcs12Identity(p12),
                               pin_file=pin, timestamp_url=pki.timestamp_url, font_dir=tmp_path / "fonts")
    return AgencySigner(open_identity(settings), settings, load_trust_roots([pki.root_pem]))


# `page` reads ISO 19005-2 6.4.3 ("the ByteRange shall cover the entire file") as the file
# now, so no PDF/A file could carry the DSS revision PAdES B-LT adds after the signature;
# veraPDF and the PDF Association read it as the file as signed. signing/pdfa.py checks
# that reading (byte_range_findings; test_byte_range_check_catches_a_short_range).
PAGE_READS_BYTE_RANGE_AS_WHOLE_FILE = "PDFA2U-SIGNATURE-BYTERANGE-001"


def assert_still_pdfa(data: bytes, tmp_path: Path, *, later_revisions: bool = False) -> None:
    path = tmp_path / "signed-check.pdf"
    path.write_bytes(data)
    report = page_validator.validate_pdf(path, profile="2u")
    allowed = {PAGE_READS_BYTE_RANGE_AS_WHOLE_FILE} if later_revisions else set()
    failures = [(f.rule_id, f.message) for f in report.failures if f.rule_id not in allowed]
    assert not failures, failures
    assert check_signed_pdfa(data).passed
    findings = pikepdf.pdfa.validate_written(path, "2b").findings
    assert [f.rule for f in findings if f.kind == "violation"] == ["ISO_19005_2:6.6.4-3"]  # the U we declare
    unchecked = [f"{f.where} {f.message}" for f in findings if f.kind != "violation"]
    assert all("/AcroForm" in u or "/DSS" in u for u in unchecked), unchecked


@pytest.mark.parametrize("level", LEVELS)
def test_every_level_signs_verifies_and_stays_pdfa(pki, pdfa_file, tmp_path, level):
    original = pdfa_file.read_bytes()
    signed, result = signer_for(pki, tmp_path, level=level).sign(original)
    assert signed.startswith(original), "signing must be an incremental update"
    assert result.level == level and result.pdfa.passed
    assert_still_pdfa(signed, tmp_path, later_revisions=level in ("B-LT", "B-LTA"))

    verdict = verify_pdf(signed, VerifyPolicy((*load_trust_roots([pki.root_pem]),)))
    assert verdict.ok, [(s.kind, s.problems) for s in verdict.signatures]
    assert verdict.level == level
    (signature, *timestamps) = verdict.signatures
    assert signature.subfilter == "/ETSI.CAdES.detached" and signature.signer == AGENCY
    assert signature.trusted and signature.intact
    assert (signature.timestamp_ok is not None) == (level != "B-B")
    assert signature.revocation == ("good" if level in ("B-LT", "B-LTA") else "not-checked")
    assert [t.kind for t in timestamps] == (["document-timestamp"] if level == "B-LTA" else [])
    assert signature.coverage == ("whole-file" if level in ("B-B", "B-T") else "revision+validation-data")

    reader = PdfFileReader(io.BytesIO(signed))
    assert ("/DSS" in reader.root) == (level in ("B-LT", "B-LTA"))
    # an approval signature: no certification (DocMDP) that would forbid later timestamps
    assert "/Perms" not in reader.root


def test_byte_range_check_catches_a_short_range(pki, pdfa_file, tmp_path):
    """The check that stands in for `page`'s whole-file reading can fail: a byte range
    that stops short of its revision's end is reported."""
    signed, _ = signer_for(pki, tmp_path).sign(pdfa_file.read_bytes())
    match = re.search(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+) *\]", signed)
    start, first, second, length = (int(g) for g in match.groups())
    fake = f"/ByteRange [{start} {first} {second} {length - 10}]".encode()
    tampered = signed[:match.start()] + fake.ljust(match.end() - match.start()) + signed[match.end():]
    report = check_signed_pdfa(tampered)
    assert not report.passed and any("ByteRange" in f for f in report.findings)


def test_stream_data_ending_in_cr_is_written_unambiguously(pdfa_file, tmp_path):
    """About one compressed stream in 256 ends with CR; `...\\r\\nendstream` then reads as
    a CR LF end of line and the stream as one byte short (ISO 19005-2 6.1.7.1)."""
    import signing.sign  # noqa: F401  (installs the guard)
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdfa_file.read_bytes()))
    writer.root["/SohoaProbe"] = writer.add_object(generic.StreamObject(stream_data=b"data\r"))
    writer.update_root()
    output = io.BytesIO()
    writer.write(output)
    path = tmp_path / "cr.pdf"
    path.write_bytes(output.getvalue())
    assert b"data\r\r\nendstream" in output.getvalue()
    assert page_validator.validate_pdf(path, profile="2u").is_compliant


def test_b_lt_refuses_to_sign_without_revocation_data(pki, pdfa_file, tmp_path):
    """This certificate names no OCSP responder and no CRL: pyHanko's default would sign
    anyway; sohoa must not."""
    signer = signer_for(pki, tmp_path, level="B-LT", cert="agency-no-revinfo")
    with pytest.raises(RevocationDataMissing) as caught:
        signer.sign(pdfa_file.read_bytes())
    assert "B-LT" in caught.value.reason
    # the same certificate is fine where no revocation data is promised
    signed, _ = signer_for(pki, tmp_path, level="B-T", cert="agency-no-revinfo").sign(pdfa_file.read_bytes())
    assert verify_pdf(signed, VerifyPolicy(tuple(load_trust_roots([pki.root_pem])))).ok


def test_b_lt_refuses_a_revoked_certificate(pki, pdfa_file, tmp_path):
    with pytest.raises(RevocationDataMissing):
        signer_for(pki, tmp_path, level="B-LT", cert="agency-revoked").sign(pdfa_file.read_bytes())


def _appearance(signed: bytes):
    pdf = pikepdf.open(io.BytesIO(signed))
    (widget,) = [a for a in pdf.pages[0].obj.get("/Annots", []) if a.get("/Subtype") == "/Widget"]
    return pdf, widget


def _block_glyphs_text(data: bytes, tmp_path: Path) -> str:
    """What the block's glyphs spell (their ToUnicode map): the block's empty /ActualText,
    which keeps it out of the document's text (tests/test_signature_block.py), taken away."""
    pdf, widget = _appearance(data)
    widget.AP.N.write(widget.AP.N.read_bytes().replace(b"/ActualText ()", b"/Lang (vi)"))
    path = tmp_path / "glyphs.pdf"
    pdf.save(path)
    return _pdftotext_page1(path.read_bytes(), tmp_path)


def _pdftotext_page1(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "text.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-f", "1", "-l", "1", str(path), "-"],
                         capture_output=True, check=True).stdout.decode()
    return unicodedata.normalize("NFC", out)


def test_text_block_top_right_agency_and_iso_time_10pt(pki, pdfa_file, tmp_path):
    signed, result = signer_for(pki, tmp_path).sign(pdfa_file.read_bytes())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", result.signed_at)
    text = _block_glyphs_text(signed, tmp_path)
    assert AGENCY in text and result.signed_at in text
    assert AGENCY not in _pdftotext_page1(signed, tmp_path)  # shown, not the document's text

    pdf, widget = _appearance(signed)
    x0, y0, x1, y1 = (float(v) for v in widget.Rect)
    width, height = (float(v) for v in pdf.pages[0].mediabox[2:])
    # on the right of page 1, inside it (at the top right where the page has room there,
    # not on this tight page: tests/test_signature_block.py)
    assert x0 > width / 2 and 0 <= y0 < y1 <= height and x1 <= width
    assert int(widget.F) & 4, "printed"

    def fonts_and_content(stream, depth=0):
        content = stream.read_bytes()
        fonts = list(stream.get("/Resources", {}).get("/Font", {}).values())
        for xobject in stream.get("/Resources", {}).get("/XObject", {}).values():
            more_content, more_fonts = fonts_and_content(xobject, depth + 1)
            content, fonts = content + more_content, fonts + more_fonts
        return content, fonts

    content, fonts = fonts_and_content(widget.AP.N)
    assert b"/F1 10 Tf" in content or re.search(rb"/\w+ 10 Tf", content), "10 pt"
    assert not re.search(rb"[0-9.]+ 0 0 [0-9.]+ [0-9.]+ [0-9.]+ cm", content.replace(b"1 0 0 1", b"")), \
        "the text is not scaled"
    (font,) = fonts
    descendant = font.DescendantFonts[0]
    assert "LiberationSerif" in str(descendant.BaseFont), "a Times-metric font"
    # widths in thousandths of an em: Times' space is 250 (a 2048-unit font would say 512)
    widths = list(descendant.W)
    assert 250 in [int(w) for group in widths if isinstance(group, pikepdf.Array) for w in group]


def test_every_vietnamese_letter_is_drawn_and_extractable(pki, pdfa_file, tmp_path):
    signed, _ = signer_for(pki, tmp_path, agency=ALL_VIETNAMESE).sign(pdfa_file.read_bytes())
    assert_still_pdfa(signed, tmp_path)
    # a name this long is broken into lines that fit the page
    assert ALL_VIETNAMESE.replace(" ", "") in "".join(_block_glyphs_text(signed, tmp_path).split())


def test_invisible_signature_is_a_profile_option(pki, pdfa_file, tmp_path):
    signed, result = signer_for(pki, tmp_path, visible=False).sign(pdfa_file.read_bytes())
    assert not result.visible
    _, widget = _appearance(signed)
    x0, y0, x1, y1 = (float(v) for v in widget.Rect)
    assert x0 == x1 and y0 == y1
    assert AGENCY not in _pdftotext_page1(signed, tmp_path)
    assert_still_pdfa(signed, tmp_path)
    assert verify_pdf(signed, VerifyPolicy(tuple(load_trust_roots([pki.root_pem])))).ok


def test_info_and_xmp_agree_after_signing(pki, pdfa_file, tmp_path):
    signed, _ = signer_for(pki, tmp_path, level="B-LTA").sign(pdfa_file.read_bytes())
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        meta = pdf.open_metadata()
        assert str(pdf.docinfo["/Producer"]) == meta["pdf:Producer"]
        assert "/ModDate" not in pdf.docinfo or meta.get("xmp:ModifyDate")
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "U"
        assert meta["xmp:CreatorTool"] == "sohoa test"


def test_pyhanko_default_would_leave_producers_apart(pki, pdfa_file, tmp_path):
    """Why signing/sign.py aligns them: the check above can fail."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    signer = signer_for(pki, tmp_path)
    output = io.BytesIO()
    signers.PdfSigner(signers.PdfSignatureMetadata(field_name="X"), signer.identity.signer).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdfa_file.read_bytes())), output=output)
    with pikepdf.open(io.BytesIO(output.getvalue())) as pdf:
        assert str(pdf.docinfo["/Producer"]) != pdf.open_metadata()["pdf:Producer"]


# -- through the CLI ----------------------------------------------------------------------


def test_pipeline_signs_by_default_with_the_test_identity(tmp_path):
    home = tmp_path / "sohoa-data"
    init = run_sohoa(home, "init")
    assert init.returncode == 0 and "THỬ NGHIỆM" in init.stdout
    keys = sorted(p.name for p in (home / "keys").iterdir())
    assert all("THU-NGHIEM" in name for name in keys) and len(keys) == 3
    assert (home / "keys" / keys[2]).stat().st_mode & 0o077 == 0  # the PIN file: owner only

    done = run_sohoa(home, "ingest", "--json", str(text_pdf(tmp_path, "thông-báo.pdf")))
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    shown = json.loads(run_sohoa(home, "show", str(result["id"]), "--json").stdout)
    steps = [e["step"] for e in shown["events"]]
    assert steps.index("pdfa") < steps.index("signed") < steps.index("archived")
    signed = shown["events"][steps.index("signed")]["detail"]
    assert signed["level"] == "PAdES B-B" and "THỬ NGHIỆM" in signed["signer"]
    pdfa = Path(result["pdfa"])
    assert has_signature(pdfa)
    assert result["pdfa_sha256"] == shown["pdfa_sha256"]  # the catalog hash is of the signed file
    sidecar = json.loads(Path(shown["sidecar"]).read_text(encoding="utf-8"))
    assert sidecar["signature"]["level"] == "PAdES B-B"

    verified = run_sohoa(home, "verify", str(result["id"]))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "THỬ NGHIỆM" in verified.stdout  # the warning that it is a test identity


def has_signature(path: Path) -> bool:
    return bool(PdfFileReader(io.BytesIO(path.read_bytes())).embedded_signatures)


def test_signing_can_be_turned_off(tmp_path):
    home = tmp_path / "sohoa-data"
    assert run_sohoa(home, "init").returncode == 0
    configure(home, enabled=False)
    done = run_sohoa(home, "ingest", "--json", str(text_pdf(tmp_path, "a.pdf")))
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    assert not has_signature(Path(result["pdfa"]))
    events = json.loads(run_sohoa(home, "show", str(result["id"]), "--json").stdout)["events"]
    assert [e["outcome"] for e in events if e["step"] == "signed"] == ["skipped"]


def test_pkcs11_token_signs_with_pin_from_the_environment(tmp_path, pki, softhsm_token):
    home = tmp_path / "sohoa-data"
    assert run_sohoa(home, "init").returncode == 0
    config = (home / "config.toml").read_text(encoding="utf-8")
    config = re.sub(r"^pkcs12 = .*\n^pin_file = .*\n", "", config, flags=re.MULTILINE)
    (home / "config.toml").write_text(config, encoding="utf-8")
    configure(home, pkcs11_module=str(softhsm_token.module), token_label=softhsm_token.label,
              key_label="agency", level="B-T", timestamp_url=pki.timestamp_url, trust_roots=[str(pki.root_pem)])
    env = {**softhsm_token.env, "SOHOA_SIGNING_PIN": softhsm_token.pin}

    done = run_sohoa(home, "ingest", "--json", str(text_pdf(tmp_path, "token.pdf")), env=env)
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    shown = json.loads(run_sohoa(home, "show", str(result["id"]), "--json", env=env).stdout)
    detail = [e for e in shown["events"] if e["step"] == "signed"][0]["detail"]
    assert detail["identity"].startswith("PKCS#11") and AGENCY in detail["signer"]
    verified = run_sohoa(home, "verify", "--json", str(result["id"]), env=env)
    assert verified.returncode == 0, verified.stdout
    assert json_lines(verified.stdout)[0]["level"] == "B-T"
    log = (home / "logs" / "sohoa.log").read_text(encoding="utf-8") if (home / "logs" / "sohoa.log").exists() else ""
    assert softhsm_token.pin not in log + done.stdout + done.stderr

    # a wrong PIN: one line naming the token, nothing archived
    wrong = run_sohoa(home, "ingest", str(text_pdf(tmp_path, "again.pdf", "giay_moi_17")),
                      env={**softhsm_token.env, "SOHOA_SIGNING_PIN": "000000"})
    assert wrong.returncode == 1
    assert wrong.stderr.count("\n") == 1 and "PIN" in wrong.stderr and softhsm_token.label in wrong.stderr
    listed = run_sohoa(home, "verify", "--all", "--json", env=env)
    assert json_lines(listed.stdout)[-1]["summary"]["checked"] == 1


def test_a_missing_pin_is_one_clear_line(tmp_path, pki):
    home = pki_home(tmp_path, pki)
    (tmp_path / "pin.txt").unlink()
    done = run_sohoa(home, "ingest", str(text_pdf(tmp_path, "b.pdf")))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "pin.txt" in done.stderr, done.stderr
