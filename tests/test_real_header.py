"""Handwritten numbers and dates (issue 12, point 8): the header zone is OCR'd with the
office's pen kept (only seal colours erased); a number or date the reader is not sure of is
left empty and flagged for review with its box; a number or date the body cites is never the
document's own.

Real scans from ../shared/realscans/ (labels: tests/fixtures/realscans_labels.py), read by
sohoa's own OCR of the page and from the scanner's text layer; generated pages for the cases
a test must pin down (an empty slot above a body that cites another decision; a number and
date written in blue).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr.cleanup import CleanupSteps, to_grey
from ocr.pages import PageJob, ocr_page
from core.pdf.pages import image_dpi
from header import read_header
from header.pdfwords import text_layer_page
from header.number_line import find_document_number
from tests.fixtures import documents_labelled as labelled
from tests.fixtures import realscans_labels as labels
from tests.fixtures import scans
from tests.fixtures.scans import Paragraph

SCANS = Path(__file__).resolve().parents[2] / "shared" / "realscans"
THRESHOLD = 0.6
BLUE_PEN = (38, 62, 178)


# -- the colour step ------------------------------------------------------------------------------


def test_the_header_copy_keeps_blue_and_black_ink_and_erases_only_seal_colours():
    paper, black, blue, violet, red, magenta = (246, 242, 231), (30, 30, 35), BLUE_PEN, (90, 50, 160), \
        (215, 40, 50), (200, 40, 150)
    pixels = np.array([[paper, black, blue, violet, red, magenta]], np.uint8)
    erased = to_grey(pixels)
    kept = to_grey(pixels, keep_ink=True)
    assert erased[0, 2] > 230 and erased[0, 4] > 230  # the OCR copy of the page: pen and seal gone
    assert kept[0, 0] > 220 and kept[0, 1] < 60  # paper stays paper, print stays print
    assert kept[0, 2] < 80 and kept[0, 3] < 80  # the blue (and violet) pen is kept, dark
    assert kept[0, 4] > 230 and kept[0, 5] > 230  # red and magenta seals are still erased


# -- generated pages --------------------------------------------------------------------------------

CITING = (
    "Căn cứ Quyết định số 2119/2009/QĐ-UB ngày 12/3/2009 của UBND huyện về việc kiện toàn tổ chức;",
    "Căn cứ Công văn số 45/UBND-NV ngày 12 tháng 3 năm 2009 của Ủy ban nhân dân huyện Củ Chi;",
)


def _page_with(number: str, place_date: str, name: str) -> scans.SamplePage:
    """qd_37 (a decision of Phòng Nội vụ Củ Chi) with its number and date slots as given and
    a body citing another decision and a công văn, number and date each."""
    doc = labelled.DOCUMENTS["qd_37_pnv_cu_chi"]
    first = doc.pages[0].paragraphs
    body = (first[0], *(Paragraph(text) for text in CITING), *first[2:])
    doc = dataclasses.replace(doc, number=number, place_date=place_date,
                              pages=(dataclasses.replace(doc.pages[0], paragraphs=body),))
    return scans.render_document_page(doc, 0, name=name, colour=True)


def _ocr(page: scans.SamplePage, folder: Path, name: str, steps: CleanupSteps = CleanupSteps()):
    path = folder / f"{name}.png"
    page.image.save(path, dpi=(page.dpi, page.dpi))
    return ocr_page(PageJob(path, 1, page.dpi, "vie", image_file=path), steps)


def _assert_empty_and_flagged(header, field: str) -> None:
    found = header.fields.get(field)
    assert header.value(field) is None
    assert field in header.needing_review(THRESHOLD)
    if found is not None:  # the slot was found: its box says where a reviewer looks
        assert found.source == "unread" and found.page == 1
        left, top, right, bottom = found.box
        assert right > left and bottom > top


def test_an_empty_number_slot_is_flagged_never_filled_from_the_body(tmp_path):
    page = _page_with("........./QĐ-PNV", "Củ Chi, ngày ....... tháng ....... năm 2019", "blank-slots")
    header = read_header([_ocr(page, tmp_path, "blank-slots")])
    assert header.value("number") not in ("2119/2009/QĐ-UB", "45/UBND-NV")
    assert header.value("issue_date") not in ("2009-03-12",)
    _assert_empty_and_flagged(header, "number")
    _assert_empty_and_flagged(header, "issue_date")
    assert header.fields["number"].box[3] < page.image.height * 0.4  # the slot in the header, not the body
    # the rest of the header is still read
    assert header.value("doc_type") == "Quyết định"
    assert header.value("issuing_body") == "PHÒNG NỘI VỤ"
    # and the flat-text fallback of `sohoa ingest` does not take the body's number either
    text = "\n".join(line.text for line in _ocr(page, tmp_path, "again").lines)
    assert find_document_number(text, header_only=True) is None


def test_the_reader_on_drawn_words_never_takes_the_cited_number_or_date():
    """The same page from the words drawn (no OCR): the slots hold only dots."""
    from tests.test_header_reader import words_as_ocr

    page = _page_with("........./QĐ-PNV", "Củ Chi, ngày ....... tháng ....... năm 2019", "drawn")
    header = read_header([words_as_ocr(page)])
    _assert_empty_and_flagged(header, "number")
    _assert_empty_and_flagged(header, "issue_date")
    assert header.value("place") == "Củ Chi"
    # and a slot read as junk: flagged too
    junk = read_header([words_as_ocr(page, {"........./QĐ-PNV": "z((./QĐ-PNV", ".......": "4O"})])
    assert junk.value("number") is None and junk.value("issue_date") is None


def _handwrite(page: scans.SamplePage, word: str, digits: str) -> None:
    """Paint over the start of a drawn word (its `digits`) and write them again by hand: a
    slanted font, in blue ballpoint, a little larger than the print."""
    box = dict(page.words)[word]
    regular = scans._font("regular", 100)
    width = (box[2] - box[0]) * regular.getlength(digits) / regular.getlength(word)
    draw = ImageDraw.Draw(page.image)
    draw.rectangle((box[0], box[1], box[0] + width, box[3]), fill=scans.PAPER_RGB)
    pen = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf", round((box[3] - box[1]) * 1.05))
    draw.text((box[0], box[3] - 0.12 * (box[3] - box[1])), digits, font=pen, fill=BLUE_PEN, anchor="ls")


@pytest.fixture(scope="module")
def blue_page(tmp_path_factory):
    page = _page_with("169/QĐ-PNV", "Củ Chi, ngày 07 tháng 7 năm 2019", "blue-pen")
    _handwrite(page, "169/QĐ-PNV", "169")
    _handwrite(page, "07", "07")
    pixels = np.asarray(page.image)
    blue = (pixels[..., 2].astype(int) - pixels[..., 0] > 80).sum()
    assert blue > 200  # the digits are really blue on the page
    return page, tmp_path_factory.mktemp("blue")


def test_a_number_and_day_written_in_blue_are_read_with_the_ink_kept(blue_page):
    page, folder = blue_page
    header = read_header([_ocr(page, folder, "kept")])
    assert header.value("number") == "169/QĐ-PNV"
    assert header.value("issue_date") == "2019-07-07"


def test_without_keeping_the_ink_the_blue_number_is_lost(blue_page):
    """The reference: the colour step that erases every colour takes the handwritten digits
    with it (what sohoa did before), and the reader then flags the number instead."""
    page, folder = blue_page
    header = read_header([_ocr(page, folder, "erased", CleanupSteps(keep_header_ink=False))])
    assert header.value("number") != "169/QĐ-PNV"
    _assert_empty_and_flagged(header, "number")


# -- real scans -----------------------------------------------------------------------------------

REAL = ("hau-giang-2010-21.pdf", "hau-giang-2010-45.pdf")


def _real_pages(name: str):
    pdf = SCANS / name
    with pikepdf.open(pdf) as document:
        dpi = image_dpi(document.pages[0]) or 300
    return {"sohoa": ocr_page(PageJob(pdf, 1, dpi, "vie")), "scanner": text_layer_page(pdf, 1, dpi)}


@pytest.fixture(scope="module")
def real_read():
    if not SCANS.is_dir():
        pytest.skip(f"{SCANS} missing (the real scans sit beside the repository)")
    return {name: _real_pages(name) for name in REAL}


@pytest.mark.parametrize("source", ["sohoa", "scanner"])
@pytest.mark.parametrize("name", REAL)
def test_a_real_scans_number_and_date_are_its_own_or_empty_and_flagged(real_read, name, source):
    truth = labels.LABELS[name]
    header = read_header([real_read[name][source]])
    number, date = header.value("number"), header.value("issue_date")
    assert number not in truth["cited"]["numbers"] and date not in truth["cited"]["dates"]
    if number is None:
        _assert_empty_and_flagged(header, "number")
    else:
        assert number == truth["number"]
    if date is None:
        _assert_empty_and_flagged(header, "issue_date")
    else:
        assert date == truth["issue_date"]


def test_sohoa_finds_the_slots_of_the_handwritten_number_and_date_on_a_real_scan(real_read):
    """On sohoa's own OCR the number line and the date line are found (each read right or
    flagged with its box in the header zone), and the printed rest of the header is read."""
    for name in REAL:
        header = read_header([real_read[name]["sohoa"]])
        page = real_read[name]["sohoa"]
        for field in ("number", "issue_date"):
            found = header.fields[field]
            assert found.box[3] < 0.3 * page.height, (name, field, found)
        assert header.value("doc_type") == labels.LABELS[name]["doc_type"]
        assert header.value("place") == "Vị Thanh"
