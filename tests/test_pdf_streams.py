"""Every PDF sohoa writes or signs closes its streams as ISO 19005-2 6.1.7.1 says.

qpdf closes a stream whose data ends with CR as `\\r\\nendstream`, which validators read as
a CR LF end-of-line and a stream one byte short of /Length; a zlib stream ends with CR
about once in 256. Several hundred varied documents go through the PDF/A writer (generated
images, fake OCR words: no Tesseract) and through `page`; the stream check itself is shown
to catch the hand-made case; the real scans' streams; signing's output.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import time
import zlib
from pathlib import Path

import numpy as np
import page as page_validator
import pikepdf
import pikepdf.pdfa
import pytest
from PIL import Image, ImageDraw

import ocr.pdfa
from core.pdf.streams import file_stream_findings, settle_stream_ends, stream_findings
from ocr.pdfa import DocumentInfo, PdfaInvalid, add_text_layers, write_pdfa
from core.ocr_results import OcrLine, OcrPage, OcrWord

LENGTH_RULE = "PDFA2U-STREAM-LENGTH-001"  # `page`'s rule for ISO 19005-2 6.1.7.1
DOCUMENTS = 300
REALSCANS = Path(__file__).resolve().parents[2] / "shared" / "realscans"
WORDS = ("Quyết", "định", "số", "268/QĐ-UBND", "về", "việc", "giao", "chỉ", "tiêu", "kế", "hoạch",
         "năm", "2026", "Ủy", "ban", "nhân", "dân", "tỉnh", "Bình", "Định", "Điều", "1.", "Nơi", "nhận:")
KINDS = ("grey-png", "rgb-png", "jpeg", "g4-tiff", "grey-tiff", "rgb-jpeg")


def _sheet(rng: random.Random, mode: str, size: tuple[int, int]) -> Image.Image:
    """A small page: white paper, dark bars where lines of text would be, some noise."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    y = rng.randint(4, 20)
    while y < size[1] - 10:
        x = rng.randint(4, 30)
        draw.rectangle((x, y, rng.randint(x + 10, size[0] - 4), y + rng.randint(3, 8)), fill=rng.randint(0, 90))
        y += rng.randint(10, 24)
    noise = np.random.default_rng(rng.randint(0, 2**32)).integers(0, 40, size=(size[1], size[0]), dtype=np.uint8)
    image = Image.fromarray(np.minimum(np.asarray(image), 255 - noise))
    if mode == "1":
        return image.point(lambda v: 255 if v > 160 else 0).convert("1")
    return image.convert(mode)


def _source_file(index: int, folder: Path) -> tuple[Path, int, tuple[int, int]]:
    rng = random.Random(index)
    kind = KINDS[index % len(KINDS)]
    size = (rng.randint(120, 420), rng.randint(150, 520))
    pages = rng.choice((1, 1, 2, 3)) if kind.endswith("tiff") else 1
    mode = {"grey": "L", "rgb": "RGB", "jpeg": "L", "g4": "1"}[kind.split("-")[0]]
    frames = [_sheet(rng, mode, size) for _ in range(pages)]
    dpi = rng.choice((100, 150, 200, 300))
    if kind.endswith("png"):
        path = folder / f"{index}.png"
        frames[0].save(path, dpi=(dpi, dpi))
    elif kind.endswith("jpeg"):
        path = folder / f"{index}.jpg"
        frames[0].save(path, quality=rng.randint(60, 95), dpi=(dpi, dpi))
    else:
        path = folder / f"{index}.tif"
        compression = "group4" if kind.startswith("g4") else "tiff_lzw"
        frames[0].save(path, save_all=True, append_images=frames[1:], compression=compression, dpi=(dpi, dpi))
    return path, dpi, size


def _fake_ocr(rng: random.Random, size: tuple[int, int], dpi: int) -> OcrPage:
    lines = []
    y = 8
    for _ in range(rng.randint(0, 6)):
        x, words = 6, []
        for _ in range(rng.randint(1, 7)):
            text = rng.choice(WORDS)
            width = 6 * len(text)
            words.append(OcrWord(text, (x, y, x + width, y + 14), rng.uniform(40, 99)))
            x += width + 5
        lines.append(OcrLine(tuple(words), (6, y, x, y + 14), rng.uniform(-0.01, 0.01), -3.0, 14.0))
        y += 20
    return OcrPage(size[0], size[1], float(dpi), tuple(lines), "fake", rotation=rng.choice((0, 0, 0, 90, 180)))


def build(index: int, folder: Path) -> tuple[pikepdf.Pdf, DocumentInfo]:
    """Document `index` as the ingest step has it just before write_pdfa: scan pages, OCR
    layers. Deterministic: the same index gives the same streams."""
    # Imported here: ocr.sources lifts Pillow's decompression-bomb limit for the whole
    # process, which tests of the fixtures themselves must not see.
    from ocr.sources import load_source

    path, dpi, size = _source_file(index, folder)
    source = load_source(path, max_pixels=10**8)
    rng = random.Random(index * 7919)
    layers = {number: _fake_ocr(rng, size, dpi) for number in range(len(source.pdf.pages))}
    add_text_layers(source.pdf, layers)
    info = DocumentInfo(title=f"Tài liệu {index}", source_name=path.name, creator_tool="sohoa test",
                        created=dt.datetime(2026, 3, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=7))),
                        identifier=f"{index}/QĐ-UBND" if index % 2 else None)
    return source.pdf, info


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Every document written by ocr.pdfa.write_pdfa; the number of streams whose last byte
    had to change in each."""
    folder = tmp_path_factory.mktemp("streams")
    changed: list[int] = []

    def counting(pdf, **kwargs):
        changed.append(settle_stream_ends(pdf, **kwargs))
        return changed[-1]

    started = time.monotonic()
    outputs = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ocr.pdfa, "settle_stream_ends", counting)
        for index in range(DOCUMENTS):
            pdf, info = build(index, folder)
            out = folder / f"out-{index}.pdf"
            write_pdfa(pdf, info, out)  # raises PdfaInvalid on any stream finding
            outputs.append(out)
    return folder, outputs, changed, time.monotonic() - started


def test_hundreds_of_written_documents_pass_page_and_the_stream_check(written):
    folder, outputs, changed, seconds = written
    assert len(outputs) == DOCUMENTS
    failures = {}
    for out in outputs:
        report = page_validator.validate_pdf(out, profile="2u")
        if not report.is_compliant:
            failures[out.name] = [(f.rule_id, f.message) for f in report.failures][:3]
        assert file_stream_findings(out) == []
        assert b"\r\nendstream" not in out.read_bytes()  # and so nothing a reader could take short
    assert not failures, failures
    # The case is real in this set: without settling, these streams would end with CR.
    assert sum(1 for n in changed if n) >= 2, changed


def test_without_settling_the_writer_refuses_its_own_output(written, tmp_path, monkeypatch):
    """The check after the save is what stands guard: with the settling turned off, the
    documents that needed it fail in write_pdfa, and `page` agrees about each file."""
    _, _, changed, _ = written
    monkeypatch.setattr(ocr.pdfa, "settle_stream_ends", lambda pdf: 0)
    refused = 0
    for index in [i for i, n in enumerate(changed) if n]:  # some changed an unused stream only
        pdf, info = build(index, tmp_path)
        out = tmp_path / f"unsettled-{index}.pdf"
        try:
            write_pdfa(pdf, info, out)
        except PdfaInvalid as error:
            refused += 1
            assert any("/Length" in f and "6.1.7.1" in f for f in error.report.findings)
            assert LENGTH_RULE in {f.rule_id for f in page_validator.validate_pdf(out, profile="2u").failures}
        else:
            assert page_validator.validate_pdf(out, profile="2u").is_compliant
    assert refused >= 1


def test_every_way_of_settling_a_stream_keeps_the_content_and_passes_page(tmp_path, monkeypatch):
    """Each fix (a newline after page content, a PNG "Up" row on other Flate data, an
    ASCII85 layer over JPEG, CCITT ...) taken on every stream of documents of each kind:
    `page` accepts the result and every image decodes to the same pixels."""
    original = settle_stream_ends
    monkeypatch.setattr(ocr.pdfa, "settle_stream_ends", lambda pdf: original(pdf, needs_fix=lambda raw: True))
    for index in range(len(KINDS)):
        pdf, info = build(index, tmp_path)
        before = [pikepdf.PdfImage(image).as_pil_image().tobytes()
                  for page in pdf.pages for image in page.get_images().values()]
        out = tmp_path / f"forced-{index}.pdf"
        write_pdfa(pdf, info, out)
        report = page_validator.validate_pdf(out, profile="2u")
        assert report.is_compliant, (KINDS[index], [(f.rule_id, f.message) for f in report.failures])
        with pikepdf.open(out) as written_pdf:
            filters = {str(s.get("/Filter")) for s in written_pdf.objects if isinstance(s, pikepdf.Stream)}
            after = [pikepdf.PdfImage(image).as_pil_image().tobytes()
                     for page in written_pdf.pages for image in page.get_images().values()]
            png_rows = [image.DecodeParms.Columns == image.Width for page in written_pdf.pages
                        for image in page.get_images().values()
                        if isinstance(image.get("/DecodeParms"), pikepdf.Dictionary)]
        assert after == before and before, KINDS[index]
        if KINDS[index] in ("jpeg", "rgb-jpeg", "g4-tiff"):
            assert any("ASCII85Decode" in f for f in filters), filters
        if KINDS[index] in ("grey-png", "rgb-png"):  # img2pdf's PNG rows: the first row's filter swapped
            assert png_rows and all(png_rows), png_rows


# -- the check on hand-made bytes ---------------------------------------------------------------


def _pdf_with_stream(body: bytes, length: int | str, *, after_keyword: bytes = b"\n",
                     before_end: bytes = b"\n") -> bytes:
    """A small PDF with one stream written exactly as given, and a correct xref."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
        b"<< /Length " + str(length).encode() + b" >>\nstream" + after_keyword + body + before_end + b"endstream",
        b"12",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _page_length_failure(data: bytes, tmp_path: Path) -> bool:
    path = tmp_path / "hand-made.pdf"
    path.write_bytes(data)
    return LENGTH_RULE in {f.rule_id for f in page_validator.validate_pdf(path, profile="2u").failures}


CONTENT = b"0 0 m 10 10 l S\r"  # ends with CR, as one zlib stream in 256 does


@pytest.mark.parametrize("case, body, length, after_keyword, before_end, bad", [
    ("qpdf: data ending CR, then \\nendstream", CONTENT, len(CONTENT), b"\n", b"\n", True),
    ("pyHanko guard: data ending CR, then \\r\\nendstream", CONTENT, len(CONTENT), b"\n", b"\r\n", False),
    ("CR LF after the stream keyword", b"0 0 m S", 7, b"\r\n", b"\n", False),
    ("/Length one too many", b"0 0 m S", 8, b"\n", b"\n", True),
    ("/Length one too few", b"0 0 m S", 6, b"\n", b"\n", True),
    ("indirect /Length", b"0 0 m 10 10 l", "5 0 R", b"\n", b"\n", True),
    ("indirect /Length, right", b"0 0 m 10 9 l", "5 0 R", b"\n", b"\n", False),
    ("no end-of-line before endstream", b"0 0 m S", 7, b"\n", b"", True),
])
def test_the_check_reads_stream_ends_as_page_does(case, body, length, after_keyword, before_end, bad, tmp_path):
    data = _pdf_with_stream(body, length, after_keyword=after_keyword, before_end=before_end)
    findings = stream_findings(data)
    assert bool(findings) is bad, (case, findings)
    assert all("đối tượng 4 0" in f for f in findings)
    if not isinstance(length, str):  # `page` does not check an indirect /Length
        assert _page_length_failure(data, tmp_path) is bad, case


def test_the_check_finds_a_cr_only_after_the_stream_keyword_and_a_missing_endstream():
    assert any("CR LF hoặc LF" in f for f in stream_findings(_pdf_with_stream(b"0 0 m S", 7, after_keyword=b"\r")))
    cut = _pdf_with_stream(b"0 0 m S", 7)
    assert any("endstream" in f for f in stream_findings(cut[:cut.index(b"endstream")]))


def test_the_check_never_raises_on_damaged_bytes():
    """It also runs on received signed PDFs: any bytes give findings, never an exception."""
    content = b"0 0 m S (a(b)c\\) endstream) Tj"
    good = _pdf_with_stream(content, len(content))
    assert stream_findings(good) == []
    rng = random.Random(12)
    for _ in range(2000):
        data = bytearray(good)
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(data))
            data[at:at + rng.randint(0, 3)] = bytes(rng.randrange(256) for _ in range(rng.randint(0, 3)))
        stream_findings(bytes(data))
    deep = b"1 0 obj\n" + b"[" * 5000 + b"\nendobj\n" + b"2 0 obj << /Length 99999999999 >>\nstream\n"
    stream_findings(deep)


# -- real scans ---------------------------------------------------------------------------------


@pytest.mark.skipif(not REALSCANS.is_dir(), reason="../shared/realscans/ is not there")
def test_the_real_scans_streams_are_settled():
    """Every scan from the Alaris scanner has a stream ending with CR (its XMP packet ends
    with one, some Flate streams too): saved as qpdf would, `page` and the check both see it;
    settled, neither does."""
    kwargs = pikepdf.pdfa.resolve_save_kwargs("2b", object_stream_mode=pikepdf.ObjectStreamMode.disable)
    scans = sorted(REALSCANS.glob("*.pdf"))
    assert scans
    unsettled_findings = 0
    for scan in scans:
        with pikepdf.open(scan) as pdf:
            raw = io.BytesIO()
            pdf.save(raw, **kwargs)
            unsettled_findings += bool(stream_findings(raw.getvalue()))
            settle_stream_ends(pdf)
            settled = io.BytesIO()
            pdf.save(settled, **kwargs)
        assert stream_findings(settled.getvalue()) == [], scan.name
        failures = page_validator.validate_pdf_bytes(settled.getvalue(), profile="2u").failures
        assert LENGTH_RULE not in {f.rule_id for f in failures}, scan.name
    assert unsettled_findings == len(scans)


# -- signing ------------------------------------------------------------------------------------


def test_signed_files_pass_page_and_the_check(pki, tmp_path):
    """sohoa's own signing (pyHanko with the CR guard of signing/_pdf_output.py) over
    several documents: `page` and the stream check accept each, and the signing step's
    PDF/A check (signing.pdfa.check_signed_pdfa) runs the stream check."""
    from signing.identity import open_identity
    from signing.pdfa import check_signed_pdfa
    from core.signing_settings import Pkcs12Identity, SigningSettings
    from signing.sign import AgencySigner, load_trust_roots
    from tests.pki.fixtures import P12_PASSPHRASE

    pin = tmp_path / "pin.txt"
    pin.write_text(P12_PASSPHRASE, encoding="utf-8")
    settings = SigningSettings(level="B-B", visible=True, agency_name="Sở Tư pháp tỉnh Bình Định",
                               identity=Pkcs12Identity(pki.pkcs12("agency", P12_PASSPHRASE)), pin_file=pin,
                               timestamp_url=pki.timestamp_url, font_dir=tmp_path / "fonts")
    signer = AgencySigner(open_identity(settings), settings, load_trust_roots([pki.root_pem]))
    for index in range(8):
        pdf, info = build(1000 + index, tmp_path)
        unsigned = tmp_path / f"unsigned-{index}.pdf"
        write_pdfa(pdf, info, unsigned)
        signed, _ = signer.sign(unsigned.read_bytes())
        assert stream_findings(signed) == []
        report = page_validator.validate_pdf_bytes(signed, profile="2u")
        assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]

    # A signed file with a stream one byte short: the signing step's check refuses it.
    match = re.search(rb"/Length (\d+)", signed)
    shortened = signed[:match.start(1)] + str(int(match.group(1)) + 1).encode() + signed[match.end(1):]
    report = check_signed_pdfa(shortened)
    assert not report.passed and any("6.1.7.1" in f for f in report.findings)


def test_a_zlib_stream_ends_with_its_checksum():
    """Why recompressing cannot help: the last byte is the Adler-32 checksum's, whatever
    the level."""
    data = b"q 1 0 0 1 0 0 cm Q\n" * 7
    endings = {zlib.compress(data, level)[-1] for level in range(1, 10)}
    assert endings == {zlib.adler32(data) & 0xFF}
