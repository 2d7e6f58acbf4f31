"""The text layer of a skewed scan, read back as every consumer of the file reads it:
plain `pdftotext` and `pdftotext -layout` give the lines in the order OCR read them, and a
word's box still lies over that word of the (still skewed) image."""

import math
import re
import sqlite3
import subprocess
from pathlib import Path

import pikepdf
import pytest

from tests.conftest import json_lines, run_sohoa
from tests.fixtures import degraded, scans

BODY_SKEW = -3.5  # clockwise on the glass
HEADER_SKEW = 4.5  # counter-clockwise


def fold(text: str) -> str:
    return " ".join(text.split())


def _sheet(name: str, index: int, skew: float, label: str) -> degraded.DegradedPage:
    return degraded.skew(degraded.from_sample(scans.render_page(name, index), label, "test"), skew)


@pytest.fixture(scope="module")
def skewed(tmp_path_factory):
    """A body page (one column) and a first page (two-column header, closing block), each
    skewed, through the real `sohoa ingest`."""
    folder = tmp_path_factory.mktemp("skewed-order")
    sheets = {
        "body": degraded.jpeg(_sheet("ke_hoach_42", 1, BODY_SKEW, "than-nghieng"), 75),
        "header": _sheet("cong_van_268", 0, HEADER_SKEW, "trang-dau-nghieng"),
    }
    sources = {key: sheet.write(folder) for key, sheet in sheets.items()}
    home = folder / "home"
    assert run_sohoa(home, "init").returncode == 0  # commands refuse a folder that is not a home
    done = run_sohoa(home, "ingest", "--json", *[str(p) for p in sources.values()])
    assert done.returncode == 0, done.stderr
    results = dict(zip(sheets, json_lines(done.stdout)))
    with sqlite3.connect(home / "catalog.sqlite") as db:
        texts = {key: db.execute("SELECT text FROM pages WHERE document_id = ?", (r["id"],)).fetchone()[0]
                 for key, r in results.items()}
    return {key: (sheets[key], Path(results[key]["pdfa"]), texts[key]) for key in sheets}


def _pdftotext(pdf: Path, *options: str) -> str:
    return subprocess.run(["pdftotext", *options, "-enc", "UTF-8", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout


def _lines(text: str) -> list[str]:
    return [fold(line) for line in text.splitlines() if line.strip()]


def test_the_pages_were_read_as_skewed(skewed):
    for key, (sheet, _, text) in skewed.items():
        assert len(text.splitlines()) >= 8, key
        words = sheet.text.split()
        assert sum(w in text.split() for w in words) / len(words) > 0.9, key


def test_plain_and_layout_pdftotext_give_the_ocr_lines_in_order(skewed):
    _, pdf, ocr_text = skewed["body"]
    assert _lines(_pdftotext(pdf)) == _lines(ocr_text)
    assert _lines(_pdftotext(pdf, "-layout")) == _lines(ocr_text)


def test_a_skewed_first_page_keeps_its_rows_and_columns(skewed):
    _, pdf, ocr_text = skewed["header"]
    layout = _pdftotext(pdf, "-layout")
    # -layout prints rows: exactly the OCR lines (a two-column header row is one OCR line).
    assert _lines(layout) == _lines(ocr_text)
    # Plain pdftotext, as on a straight page, prints each column of the header as its own
    # block; every column piece is one line of its output, and the single-column lines
    # come in the OCR's order.
    pieces = [fold(piece) for line in layout.splitlines() for piece in re.split(r"\s{3,}", line) if piece.strip()]
    plain = _lines(_pdftotext(pdf))
    assert sorted(plain) == sorted(pieces)
    whole = [line for line in _lines(ocr_text) if line in pieces]
    assert len(whole) >= 8
    assert [line for line in plain if line in whole] == whole


def _layer_words(pdf: Path) -> list[tuple[str, tuple[float, ...]]]:
    html = _pdftotext(pdf, "-bbox")
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    return [(m[4], tuple(float(v) for v in m[:4])) for m in re.findall(pattern, html)]


@pytest.mark.parametrize("key", ["body", "header"])
def test_each_word_box_lies_over_its_word_on_the_skewed_image(skewed, key):
    """Selecting text in a viewer selects the words under the mouse: each word's box covers
    its image word across, and lies on it up and down within the drift the level layer
    allows (distance from the page's centre line times the skew's tangent)."""
    sheet, pdf, _ = skewed[key]
    scale = sheet.dpi / 72  # layer boxes in points, the image's in pixels
    layer = [(text, tuple(v * scale for v in box)) for text, box in _layer_words(pdf)]
    width = sheet.image.width
    truth = [(w, box) for w, box in sheet.words if len(w) >= 4]
    readable = [(w, box) for w, box in truth if any(text == w for text, _ in layer)]
    assert len(readable) / len(truth) > 0.8
    covered = overlapping = 0
    for word, (left, top, right, bottom) in readable:
        best = None
        for text, (x0, y0, x1, y1) in layer:
            if text != word:
                continue
            across = (min(x1, right) - max(x0, left)) / (right - left)
            drift = abs((y0 + y1) / 2 - (top + bottom) / 2)
            allowed = abs((left + right) / 2 - width / 2) * math.tan(math.radians(abs(sheet.skew))) + (bottom - top)
            if best is None or drift - allowed < best[1] - best[2]:
                best = (across, drift, allowed, min(y1, bottom) - max(y0, top))
        across, drift, allowed, vertical = best
        covered += across > 0.75 and drift <= allowed
        overlapping += across > 0.75 and vertical > 0
    assert covered / len(readable) > 0.95, f"{covered} of {len(readable)}"
    assert overlapping / len(readable) > 0.8, f"{overlapping} of {len(readable)}"


@pytest.mark.parametrize("key", ["body", "header"])
def test_the_invisible_text_is_drawn_level(skewed, key):
    _, pdf, _ = skewed[key]
    with pikepdf.open(pdf) as document:
        page = document.pages[0]
        contents = page.obj.Contents
        streams = contents if isinstance(contents, pikepdf.Array) else [contents]
        content = b"".join(stream.read_bytes() for stream in streams)
    matrices = re.findall(rb"(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) -?[\d.]+ -?[\d.]+ Tm", content)
    assert len(matrices) > 50
    assert all(m == (b"1", b"0", b"0", b"1") for m in matrices), set(matrices)
