"""How pages reach Tesseract: its library kept loaded reads exactly what the command reads,
and a scanner's PDF page is read from its own JPEG bytes instead of a poppler rendering."""

import io
import subprocess

import img2pdf
import numpy as np
import pikepdf
import pytest
from PIL import Image

from ocr.libtesseract import library_version, loaded_engine
from core.pdf.pages import full_page_jpeg
from ocr.tesseract import ocr_image_file, parse_hocr, tesseract_version
from tests.fixtures import scans


def _words(page):
    return [(word.text, word.box) for line in page.lines for word in line.words]


@pytest.fixture(scope="module")
def two_pages():
    return [np.asarray(scans.render_page(name, dpi=200).image.convert("L")) for name in ("cong_van_268", "ke_hoach_42")]


def test_the_library_is_the_commands_own_engine():
    assert library_version() == tesseract_version()


def test_the_loaded_library_reads_what_the_command_reads(two_pages, tmp_path):
    engine = loaded_engine("vie")
    for index, grey in enumerate(two_pages):
        path = tmp_path / f"page-{index}.pgm"
        Image.fromarray(grey).save(path, format="PPM")
        by_command = ocr_image_file(path, language="vie", dpi=200)
        by_library = parse_hocr(engine.hocr(grey, 200), dpi=200, engine="library")
        assert len(_words(by_library)) > 50
        assert _words(by_library) == _words(by_command)
        assert [line.baseline_offset for line in by_library.lines] == [line.baseline_offset for line in by_command.lines]


def test_a_page_read_after_another_is_read_the_same(two_pages):
    engine = loaded_engine("vie")
    first = engine.hocr(two_pages[0], 200)
    engine.hocr(two_pages[1], 200)
    assert engine.hocr(two_pages[0], 200) == first


def test_a_missing_language_is_refused_plainly():
    from ocr.libtesseract import LibraryError

    with pytest.raises(LibraryError, match="ngôn ngữ xyz"):
        loaded_engine("xyz")


def _jpeg(image, quality=85) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, dpi=(200, 200))
    return buffer.getvalue()


def test_a_scanners_jpeg_page_gives_its_own_bytes():
    data = _jpeg(scans.render_page("cong_van_268", dpi=200).image)
    with pikepdf.open(io.BytesIO(img2pdf.convert(data, nodate=True))) as pdf:
        assert full_page_jpeg(pdf.pages[0]) == data


def test_anything_more_on_the_page_sends_it_to_poppler(tmp_path):
    data = _jpeg(scans.render_page("cong_van_268", dpi=200).image)
    with pikepdf.open(io.BytesIO(img2pdf.convert(data, nodate=True))) as pdf:
        page = pdf.pages[0]
        page.contents_add(pikepdf.Stream(pdf, b"0 0 m 100 100 l S"))  # a line drawn over the scan
        assert full_page_jpeg(page) is None
    with pikepdf.open(io.BytesIO(img2pdf.convert(data, nodate=True))) as pdf:
        pdf.pages[0].Rotate = 90
        assert full_page_jpeg(pdf.pages[0]) is None
    with pikepdf.open(io.BytesIO(img2pdf.convert(data, nodate=True))) as pdf:
        image = next(iter(pdf.pages[0].get_images().values()))
        image.Decode = pikepdf.Array([1, 0, 1, 0, 1, 0])  # drawn inverted: poppler applies it
        assert full_page_jpeg(pdf.pages[0]) is None
    with pikepdf.open(io.BytesIO(img2pdf.convert(data, nodate=True))) as pdf:
        pdf.pages[0].mediabox = pikepdf.Array([0, 0, 300, 300])  # the scan larger than the page
        assert full_page_jpeg(pdf.pages[0]) is None
    lossless = io.BytesIO()
    scans.render_page("cong_van_268", dpi=200).image.save(lossless, "PNG", dpi=(200, 200))
    with pikepdf.open(io.BytesIO(img2pdf.convert(lossless.getvalue(), nodate=True))) as pdf:
        assert full_page_jpeg(pdf.pages[0]) is None


def test_a_pdf_scan_is_ocrd_from_its_jpeg_without_poppler(tmp_path):
    """The archive's text of a JPEG-page PDF comes from the JPEG itself: with poppler's
    pdftoppm off the PATH the page is still read."""
    from tests.conftest import run_sohoa

    data = _jpeg(scans.render_page("cong_van_268", dpi=200).image)
    scan = tmp_path / "quét.pdf"
    scan.write_bytes(img2pdf.convert(data, nodate=True))
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("tesseract", "pdftotext"):
        (tools / tool).symlink_to(subprocess.check_output(["which", tool], text=True).strip())
    assert run_sohoa(tmp_path / "home", "init").returncode == 0  # commands refuse a folder that is not a home
    result = run_sohoa(tmp_path / "home", "ingest", "--json", str(scan), env={"PATH": str(tools)})
    assert result.returncode == 0, result.stderr
    assert "268/SGTVT-VP" in result.stdout
