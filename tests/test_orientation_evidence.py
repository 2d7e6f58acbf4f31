"""Orientation only on evidence (issue 12, point 5): a page is turned (its /Rotate, and the
OCR copy with it) only where its text says so with confidence; a chart, a drawing, a photo
or a picture with a caption stays as scanned; a page with a single line of text is not
blank and its text is read; a sheet with nothing but paper, specks and a scanner border
is blank (and archived all the same)."""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr.cleanup import confirms_turn, prepare_page
from ocr.pages import PageJob, ocr_page
from core.pdf.pages import image_dpi
from ocr.sources import load_source
from tests.fixtures import degraded, scans

DPI = 200
SIZE = (round(148 * DPI / 25.4), round(210 * DPI / 25.4))  # A5 portrait, as the fixtures
REAL_SCANS = Path(__file__).resolve().parents[2] / "shared" / "realscans"


def _font(size_pt: float, bold: bool = False) -> ImageFont.FreeTypeFont:
    style = "LiberationSerif-Bold.ttf" if bold else "LiberationSerif-Regular.ttf"
    return ImageFont.truetype(str(scans.FONT_DIR / style), round(size_pt * DPI / 72),
                              layout_engine=ImageFont.Layout.BASIC)


def _scanned(image: Image.Image, name: str) -> degraded.DegradedPage:
    """A drawn page as a scanner delivers it: slight blur, off-white paper, sensor noise."""
    pixels = np.asarray(image.convert("L"), np.float32) / 255.0
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    paper = scans.PAPER_GREY * pixels + scans.INK_GREY * (1 - pixels)
    paper = paper + rng.normal(0.0, 2.0, size=paper.shape)
    out = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8))
    return degraded.DegradedPage(name, "figure", out, DPI, (), ())


def bar_chart() -> degraded.DegradedPage:
    """A bar chart with a title, tick labels on both axes and a y-axis title set sideways."""
    image = Image.new("L", SIZE, 255)
    draw = ImageDraw.Draw(image)
    left, bottom, right, top = 200, 1250, 1050, 350
    draw.text((220, 200), "Biểu đồ số hồ sơ theo quý", font=_font(13, bold=True), fill=0)
    draw.line((left, top, left, bottom), fill=0, width=4)
    draw.line((left, bottom, right, bottom), fill=0, width=4)
    values = [420, 610, 380, 790, 560, 690]
    for i, value in enumerate(values):
        x = left + 40 + i * 135
        draw.rectangle((x, bottom - value, x + 90, bottom), fill=90 + 25 * (i % 3), outline=0)
        draw.text((x + 20, bottom + 20), f"Q{i + 1}", font=_font(9), fill=0)
    for k in range(5):
        y = bottom - k * 200
        draw.line((left - 15, y, left, y), fill=0, width=3)
        draw.text((left - 90, y - 18), str(k * 50), font=_font(9), fill=0)
    label = Image.new("L", (500, 60), 255)
    ImageDraw.Draw(label).text((0, 0), "Số hồ sơ", font=_font(10), fill=0)
    image.paste(label.rotate(90, expand=True), (30, 600))
    return _scanned(image, "bar-chart")


def line_drawing() -> degraded.DegradedPage:
    """A technical drawing: outlines, circles, hatching and a few dimensions."""
    image = Image.new("L", SIZE, 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((150, 200, 1000, 1400), outline=0, width=3)
    draw.ellipse((300, 350, 700, 750), outline=0, width=3)
    draw.ellipse((420, 470, 580, 630), outline=0, width=2)
    draw.polygon([(250, 1300), (600, 850), (950, 1300)], outline=0, width=3)
    for k in range(12):
        draw.line((700 + k * 20, 900, 640 + k * 20, 1000), fill=0, width=2)
    for angle in range(0, 360, 30):
        r = math.radians(angle)
        draw.line((500 + 90 * math.cos(r), 550 + 90 * math.sin(r),
                   500 + 240 * math.cos(r), 550 + 240 * math.sin(r)), fill=0, width=2)
    draw.line((150, 1480, 1000, 1480), fill=0, width=2)
    draw.text((520, 1490), "850", font=_font(9), fill=0)
    draw.text((760, 380), "R200", font=_font(9), fill=0)
    return _scanned(image, "drawing")


def _photo(width: int, height: int, seed: int) -> np.ndarray:
    """Photo-like: smooth shapes of light and shade with grain, no letters anywhere."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((9, 7)).astype(np.float32)
    smooth = cv2_resize(coarse, (width, height))
    middle = cv2_resize(rng.random((60, 45)).astype(np.float32), (width, height))
    gradient = np.linspace(0.2, 1.0, height, dtype=np.float32)[:, None]
    photo = 0.5 * smooth + 0.3 * middle + 0.2 * gradient + rng.normal(0, 0.04, (height, width))
    return np.clip(photo * 255, 0, 255).astype(np.uint8)


def cv2_resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(array, size, interpolation=cv2.INTER_CUBIC)


def photo_page() -> degraded.DegradedPage:
    image = Image.new("L", SIZE, 255)
    image.paste(Image.fromarray(_photo(SIZE[0] - 160, SIZE[1] - 200, 7)), (80, 100))
    return _scanned(image, "photo")


def picture_with_caption() -> degraded.DegradedPage:
    """A book page: a large picture and two lines of caption under it."""
    image = Image.new("L", SIZE, 255)
    image.paste(Image.fromarray(_photo(SIZE[0] - 240, 1150, 11)), (120, 150))
    draw = ImageDraw.Draw(image)
    draw.text((120, 1350), "Hình 3. Trụ sở Chi cục An toàn vệ sinh thực phẩm", font=_font(11), fill=0)
    draw.text((120, 1410), "tỉnh Hậu Giang, chụp năm 2010.", font=_font(11), fill=0)
    return _scanned(image, "picture-caption")


def one_line(text: str, y: int) -> degraded.DegradedPage:
    image = Image.new("L", SIZE, 255)
    ImageDraw.Draw(image).text((150, y), text, font=_font(12), fill=0)
    return _scanned(image, f"one-line-{y}")


FIGURES = {"bar chart": bar_chart, "line drawing": line_drawing, "photo": photo_page,
           "picture with caption": picture_with_caption}


def _read(page: degraded.DegradedPage, folder: Path):
    """The page through ocr.pages as ingest runs it: the image file read, its OCR copy
    prepared, Tesseract on it (and on the turned copy when the ink is in doubt)."""
    path = page.write(folder)
    return ocr_page(PageJob(path, 1, page.dpi, "vie", image_file=path))


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_a_page_that_is_not_mostly_text_is_not_turned(name, tmp_path):
    result = _read(FIGURES[name](), tmp_path)
    assert result.rotation == 0, name
    assert not result.blank, name  # a picture is not a blank sheet either


@pytest.mark.parametrize("turned", [90, 180, 270])
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_a_page_with_little_text_keeps_its_orientation(name, turned):
    """Turned or not, a chart's few labels, a drawing's dimensions, a caption's two lines
    are too little to say which way is up: the sheet stays as it was scanned."""
    page = degraded.turn(FIGURES[name](), turned)
    prepared = prepare_page(np.asarray(page.image), page.dpi)
    assert prepared.rotation == 0, name
    assert prepared.orientation_sure, name  # nothing for OCR to confirm either


def _sheet(name: str) -> degraded.DegradedPage:
    return degraded.from_sample(scans.render_page(name, dpi=DPI), name, "test")


@pytest.mark.parametrize("turned", [0, 90, 180, 270])
@pytest.mark.parametrize("name", ["giay_moi_17", "thong_bao_05", "cong_van_268"])
def test_a_turned_text_page_is_still_set_upright_on_the_ink_alone(name, turned):
    page = degraded.turn(_sheet(name), turned)
    prepared = prepare_page(np.asarray(page.image), page.dpi)
    assert (prepared.rotation, prepared.orientation_sure) == ((360 - turned) % 360, True)


def test_a_turned_page_under_a_scanner_border_and_holes_is_set_upright():
    page = degraded.punch_holes(degraded.dark_border(degraded.turn(_sheet("cong_van_268"), 90), "evidence"))
    assert prepare_page(np.asarray(page.image), page.dpi).rotation == 270


@pytest.mark.parametrize("text, y", [
    ("Trang này được để trống có chủ ý.", 800),  # one line in the middle of the sheet
    ("Trang 3", 1550),  # one short line at the foot
])
def test_a_page_with_one_line_of_text_is_not_blank_and_its_text_is_read(text, y, tmp_path):
    page = one_line(text, y)
    result = _read(page, tmp_path)
    assert not result.blank
    assert result.rotation == 0
    read = " ".join(result.text.split())
    assert all(word in read for word in text.rstrip(".").split()), read


def test_a_blank_sheet_with_specks_a_border_and_holes_is_still_blank(tmp_path):
    sheet = degraded.noise(degraded.blank_page(), "specks", sigma=3.0, speckle=0.0008)
    sheet = degraded.punch_holes(degraded.dark_border(sheet, "blank-border"))
    result = _read(sheet, tmp_path)
    assert result.blank
    assert result.lines == () and result.rotation == 0


def test_ocr_confirms_a_turn_only_when_it_reads_clearly_better():
    assert confirms_turn((45.0, 30), (88.0, 120))  # a page of text, read the right way up
    assert not confirms_turn((41.0, 25), (44.0, 22))  # junk both ways: a chart, a photo
    assert not confirms_turn((None, 0), (90.0, 3))  # three words are no evidence
    assert not confirms_turn((80.0, 200), (60.0, 150))


# -- the real scans: every page of ../shared/realscans/ is upright ------------------------

# Small files; 24 holds a table page that used to be set upside down.
REAL_FILES = ["hau-giang-2010-21.pdf", "hau-giang-2010-24.pdf", "hau-giang-2010-36.pdf",
              "hau-giang-2010-37.pdf"]


@pytest.mark.parametrize("name", REAL_FILES)
def test_no_real_scan_page_is_turned_or_blank(name, tmp_path):
    from pdf2image import convert_from_path

    source = REAL_SCANS / name
    if not source.is_file():
        pytest.skip(f"{source} is not there (the real scans sit beside the repository)")
    loaded = load_source(source, max_pixels=200_000_000)  # as ingest loads it
    base = tmp_path / "pages.pdf"
    loaded.pdf.save(base)
    for index, page in enumerate(loaded.pdf.pages):
        dpi = image_dpi(page) or 300.0
        # The ink is judged at 100 dpi whatever the scan's resolution.
        (image,) = convert_from_path(base, dpi=100, first_page=index + 1, last_page=index + 1)
        prepared = prepare_page(np.asarray(image.convert("RGB")), 100)
        assert not prepared.blank, (name, index + 1)
        if prepared.orientation_sure:
            assert prepared.rotation == 0, (name, index + 1)
        else:  # in doubt: OCR reads both ways, at the page's own resolution, as ingest does
            result = ocr_page(PageJob(base, index + 1, dpi, "vie"))
            assert result.rotation == 0, (name, index + 1)


def test_a_photo_without_any_text_is_not_blank():
    image = Image.new("L", SIZE, 255)
    image.paste(Image.fromarray(_photo(SIZE[0] - 400, SIZE[1] - 600, 3)), (200, 300))
    page = _scanned(image, "photo-no-caption")
    prepared = prepare_page(np.asarray(page.image), page.dpi)
    assert not prepared.blank
    assert prepared.rotation == 0


def test_a_text_page_with_a_wrong_dpi_tag_is_not_blank_nor_turned():
    """Letters are measured in millimetres: a 200-dpi scan tagged 600 dpi has its letters
    a third of a letter's size. The page is then read as scanned, never dropped as blank."""
    page = degraded.turn(_sheet("thong_bao_05"), 180)
    prepared = prepare_page(np.asarray(page.image), 600)
    assert not prepared.blank
    assert prepared.rotation == 0
