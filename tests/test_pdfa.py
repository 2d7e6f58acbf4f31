"""The archived PDF/A-2u: valid for two independent validators, the scan untouched, and a
text layer that lies on the words of the image."""

import re
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import page as page_validator
import pikepdf
import pikepdf.pdfa
import pytest
from PIL import Image

from core.pdf.xmp import extension_schema_findings, without_declared_extensions
from tests.fixtures import scans

KINDS = ["tiff", "pdf", "g4", "jpeg", "png"]


def pdfa_of(archived, kind) -> Path:
    return Path(archived[kind].result["pdfa"])


def fold(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("kind", KINDS)
def test_passes_page_as_pdfa_2u(archived, kind):
    report = page_validator.validate_pdf(pdfa_of(archived, kind), profile="2u")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]


@pytest.mark.parametrize("kind", KINDS)
def test_passes_pikepdf_pdfa_rules(archived, kind):
    report = pikepdf.pdfa.validate_written(pdfa_of(archived, kind), "2b")
    # pikepdf knows level B only: the sole violation allowed is that we declare U. The
    # agency's signature form is outside what it checks (signing/pdfa.py checks it). Nor
    # does it know PDF/A extension schemas: its objections to the header fields' declared
    # schema are dropped and the declaration checked by core/pdf/xmp.py (and `page`, above).
    with pikepdf.open(pdfa_of(archived, kind)) as pdf:
        violations = without_declared_extensions(
            [str(f) for f in report.findings if f.kind == "violation"], pdf)
        assert extension_schema_findings(pdf) == []
    assert [v.split()[1] for v in violations] == ["ISO_19005_2:6.6.4-3"]
    unchecked = [f for f in report.findings if f.kind != "violation"]
    assert all("/AcroForm" in f"{f.where} {f.message}" for f in unchecked), unchecked


def test_the_validators_do_refuse_a_plain_image_pdf(archived):
    """The checks above can fail: the input PDF itself is not PDF/A."""
    assert not page_validator.validate_pdf(archived["pdf"].source, profile="2u").is_compliant
    assert not pikepdf.pdfa.validate_written(archived["pdf"].source, "2b").passed


@pytest.mark.parametrize("kind", KINDS)
def test_metadata_declares_pdfa_2u_with_dublin_core_and_matching_info(archived, kind):
    with pikepdf.open(pdfa_of(archived, kind)) as pdf:
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "U"
        # the summary (trích yếu) the header reader found; the file name when it found none
        summary = archived[kind].result["metadata"].get("summary")
        assert meta["dc:title"] == (summary or archived[kind].source.name)
        assert str(pdf.docinfo["/Title"]) == meta["dc:title"]
        assert str(pdf.docinfo["/Producer"]) == meta["pdf:Producer"]
        assert str(pdf.docinfo["/Creator"]) == meta["xmp:CreatorTool"]
        assert set(meta["dc:language"]) == {"vi"}
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1"
        profile = intent.DestOutputProfile.read_bytes()
        assert profile[16:20] == b"RGB "  # an RGB (sRGB) ICC profile


def _filter(image: pikepdf.Stream) -> str:
    value = image.get("/Filter")
    names = [str(v) for v in value] if isinstance(value, pikepdf.Array) else [str(value)]
    assert len(names) == 1, names  # one encoding, never a chain of re-encodings
    return names[0]


def _images(pdf_path: Path) -> list[tuple[bytes, str, Image.Image]]:
    """(raw stream bytes, filter, decoded image) of every page image, in page order."""
    with pikepdf.open(pdf_path) as pdf:
        return [
            (image.read_raw_bytes(), _filter(image), pikepdf.PdfImage(image).as_pil_image())
            for page in pdf.pages
            for image in page.get_images().values()
        ]


def test_a_jpeg_keeps_its_exact_bytes(archived):
    ((raw, filter_, _),) = _images(pdfa_of(archived, "jpeg"))
    assert filter_ == "/DCTDecode"
    assert raw == archived["jpeg"].source.read_bytes()


def test_an_image_pdf_keeps_its_exact_image_stream(archived):
    with pikepdf.open(archived["pdf"].source) as source:
        (original,) = [img.read_raw_bytes() for img in source.pages[0].get_images().values()]
    ((raw, filter_, _),) = _images(pdfa_of(archived, "pdf"))
    assert raw == original and filter_ == "/DCTDecode"


def test_a_bilevel_page_is_stored_as_ccitt_g4_with_the_same_pixels(archived):
    ((_, filter_, image),) = _images(pdfa_of(archived, "g4"))
    assert filter_ == "/CCITTFaxDecode"
    with Image.open(archived["g4"].source) as original:
        assert image.mode == "1" and image.size == original.size
        assert np.array_equal(np.asarray(image), np.asarray(original.convert("1")))


@pytest.mark.parametrize("kind", ["tiff", "png"])
def test_lossless_pages_keep_every_pixel_and_colour_depth(archived, kind):
    stored = _images(pdfa_of(archived, kind))
    with Image.open(archived[kind].source) as original:
        for index, (_, filter_, image) in enumerate(stored):
            original.seek(index)
            assert filter_ == "/FlateDecode"
            assert image.mode == original.mode == "L"
            assert np.array_equal(np.asarray(image), np.asarray(original))


@pytest.mark.parametrize("kind", KINDS)
def test_pages_keep_the_scan_resolution(archived, kind):
    listing = subprocess.run(["pdfimages", "-list", str(pdfa_of(archived, kind))],
                             capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert len(listing) == len(archived[kind].pages)
    for row, page in zip(listing, archived[kind].pages):
        x_ppi, y_ppi = (int(v) for v in row.split()[12:14])
        assert (x_ppi, y_ppi) == (page.dpi, page.dpi)


def _catalog_text(home: Path, document_id: int) -> str:
    with sqlite3.connect(home / "catalog.sqlite") as db:
        rows = db.execute("SELECT text FROM pages WHERE document_id = ? ORDER BY page_number", (document_id,))
        return "\n".join(row[0] for row in rows)


@pytest.mark.parametrize("kind", KINDS)
def test_pdftotext_returns_the_ocr_text(archived, archive_home, kind):
    ocr_text = _catalog_text(archive_home, archived[kind].result["id"])
    assert len(ocr_text) > 200
    with sqlite3.connect(archive_home / "catalog.sqlite") as db:
        pages = [row[0] for row in db.execute("SELECT text FROM pages WHERE document_id = ? ORDER BY page_number",
                                              (archived[kind].result["id"],))]
    # (the agency's signature block on page 1 is no part of it: tests/test_signature_block.py)
    ocr_text = "\n".join(pages)
    pdf = str(pdfa_of(archived, kind))
    in_order = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", pdf, "-"],
                              capture_output=True, text=True, check=True).stdout
    assert fold(in_order) == fold(ocr_text)
    # The default (layout-guessing) mode reorders the two header columns, but every word is there.
    layout = subprocess.run(["pdftotext", "-enc", "UTF-8", pdf, "-"],
                            capture_output=True, text=True, check=True).stdout
    assert sorted(layout.split()) == sorted(ocr_text.split())


@pytest.mark.parametrize("kind", ["tiff", "pdf", "jpeg"])
def test_ocr_reads_the_vietnamese_text(archived, archive_home, kind):
    ocr_words = _catalog_text(archive_home, archived[kind].result["id"]).split()
    truth_words = [w for page in archived[kind].pages for w in page.text.split()]
    found = sum(1 for word in truth_words if word in set(ocr_words))
    assert found / len(truth_words) > 0.95


def _text_layer_words(pdf: Path, page_number: int) -> list[tuple[str, tuple[float, float, float, float]]]:
    html = subprocess.run(["pdftotext", "-bbox", "-enc", "UTF-8", "-f", str(page_number), "-l", str(page_number),
                           str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    return [(m[4], tuple(float(v) for v in m[:4])) for m in re.findall(pattern, html)]


@pytest.mark.parametrize("kind", ["pdf", "tiff"])
def test_a_word_of_the_text_layer_lies_on_the_same_word_of_the_image(archived, kind):
    """Selecting a word in a viewer highlights that word of the scan."""
    page = archived[kind].pages[0]
    scale = page.dpi / 72  # text layer boxes are in points, the scan's in pixels
    layer = _text_layer_words(pdfa_of(archived, kind), 1)
    truth = [(w, box) for w, box in page.words if len(w) >= 4]
    placed = 0
    for word, (left, top, right, bottom) in truth:
        candidates = [b for text, b in layer if text == word]
        for x0, y0, x1, y1 in candidates:
            x0, y0, x1, y1 = x0 * scale, y0 * scale, x1 * scale, y1 * scale
            centre_x, centre_y = (x0 + x1) / 2, (y0 + y1) / 2
            overlap = min(x1, right) - max(x0, left)
            if left <= centre_x <= right and top <= centre_y <= bottom and overlap > 0.8 * (right - left):
                placed += 1
                break
    assert placed / len(truth) > 0.9, f"{placed} of {len(truth)} words placed on their image"
