"""Scan clean-up: pages set upright by their PDF rotation, skewed pages read and their words
placed on the skewed image, blank sheets flagged, and the archived scan never re-encoded."""

import json
import re
import subprocess

import numpy as np
import page as page_validator
import pikepdf
import pytest

from ocr.cleanup import detect_orientation, prepare_page
from tests.conftest import json_lines, run_sohoa
from tests.fixtures import degraded, scans


def _sheet(name="cong_van_268", dpi=200):
    return degraded.from_sample(scans.render_page(name, dpi=dpi), name, "test")


@pytest.mark.parametrize("turned", [0, 90, 180, 270])
@pytest.mark.parametrize("skew", [0.0, -4.3, 7.5])
def test_orientation_and_skew_are_found(turned, skew):
    page = degraded.turn(degraded.skew(_sheet("ke_hoach_42"), skew), turned)
    prepared = prepare_page(np.asarray(page.image), page.dpi)
    assert prepared.rotation == (360 - turned) % 360
    assert abs(prepared.skew - skew) <= 0.1
    assert not prepared.blank


def test_a_blank_sheet_is_recognised_as_blank_and_a_sparse_one_is_not():
    assert prepare_page(np.asarray(degraded.blank_page().image), 200).blank
    assert not prepare_page(np.asarray(_sheet("giay_moi_17").image), 200).blank


def test_borders_and_punch_holes_do_not_confuse_the_orientation():
    page = degraded.punch_holes(degraded.dark_border(degraded.turn(_sheet(), 180), "test-border"))
    found = detect_orientation(prepare_page(np.asarray(page.image), page.dpi, ).image < 128)
    assert found.rotation == 0  # the OCR copy itself is upright
    assert prepare_page(np.asarray(page.image), page.dpi).rotation == 180


@pytest.fixture(scope="module")
def turned_document(tmp_path_factory):
    """A 4-sheet TIFF as a feeder delivers it: upright, sideways, upside down, and blank."""
    folder = tmp_path_factory.mktemp("turned")
    sheets = [_sheet("ke_hoach_42"), degraded.turn(_sheet("giay_moi_17"), 90),
              degraded.turn(_sheet("thong_bao_05"), 180), degraded.blank_page()]
    pages = [scans.SamplePage(image=s.image, dpi=s.dpi, lines=s.rows, words=s.words) for s in sheets]
    source = scans.write_tiff(folder / "lẫn-lộn.tif", pages, "tiff_lzw")
    assert run_sohoa(folder / "home", "init").returncode == 0  # commands refuse a folder that is not a home
    done = run_sohoa(folder / "home", "ingest", "--json", str(source))
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    return folder / "home", result, sheets


def test_each_turned_page_is_set_upright_by_its_page_rotation(turned_document):
    _, result, sheets = turned_document
    with pikepdf.open(result["pdfa"]) as pdf:
        rotations = [int(page.obj.get("/Rotate", 0)) for page in pdf.pages]
    assert rotations == [0, 270, 180, 0]
    for number, sheet in enumerate(sheets[:3], start=1):
        text = subprocess.run(["pdftotext", "-f", str(number), "-l", str(number), result["pdfa"], "-"],
                              capture_output=True, text=True, check=True).stdout
        words = sheet.text.split()
        assert sum(w in text for w in words) / len(words) > 0.95, number


def test_a_blank_page_is_kept_and_flagged(turned_document):
    home, result, _ = turned_document
    assert result["pages"] == 4
    assert result["metadata"]["blank_pages"] == [4]
    shown = json.loads(run_sohoa(home, "show", str(result["id"]), "--json").stdout)
    assert [p["blank"] for p in shown["page_details"]] == [False, False, False, True]
    assert [p["rotation"] for p in shown["page_details"]] == [0, 270, 180, 0]


def test_turned_pages_stay_valid_pdfa(turned_document):
    _, result, _ = turned_document
    report = page_validator.validate_pdf(result["pdfa"], profile="2u")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]


@pytest.fixture(scope="module")
def skewed_jpeg(tmp_path_factory):
    folder = tmp_path_factory.mktemp("skewed")
    sheet = degraded.jpeg(degraded.skew(_sheet(), 3.2), 70)
    source = sheet.write(folder)
    assert run_sohoa(folder / "home", "init").returncode == 0  # commands refuse a folder that is not a home
    done = run_sohoa(folder / "home", "ingest", "--json", str(source))
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    return sheet, source, result


def test_a_skewed_scan_is_archived_with_its_own_bytes(skewed_jpeg):
    _, source, result = skewed_jpeg
    with pikepdf.open(result["pdfa"]) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        assert image.read_raw_bytes() == source.read_bytes()
        assert int(pdf.pages[0].obj.get("/Rotate", 0)) == 0


def test_words_of_a_skewed_page_lie_on_the_skewed_image(skewed_jpeg):
    sheet, _, result = skewed_jpeg
    html = subprocess.run(["pdftotext", "-bbox", "-enc", "UTF-8", result["pdfa"], "-"],
                          capture_output=True, text=True, check=True).stdout
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    scale = sheet.dpi / 72
    layer = [(m[4], [float(v) * scale for v in m[:4]]) for m in re.findall(pattern, html)]
    layer_words = {text for text, _ in layer}
    truth = [(w, box) for w, box in sheet.words if len(w) >= 4]
    # Words OCR misread (or pdftotext joined) cannot be looked for; most must be there.
    readable = [(w, box) for w, box in truth if w in layer_words]
    assert len(readable) / len(truth) > 0.7
    placed = 0
    for word, (left, top, right, bottom) in readable:
        # Drawn level (tests/test_text_order.py): on its word across, and up or down from it
        # by at most its distance from the page's centre line times the skew's tangent.
        drift = abs((left + right) / 2 - sheet.image.width / 2) * np.tan(np.radians(3.2)) + (bottom - top) / 2
        for text, (x0, y0, x1, y1) in layer:
            if text == word and left <= (x0 + x1) / 2 <= right and abs((y0 + y1 - top - bottom) / 2) <= drift:
                placed += 1
                break
    assert placed / len(readable) > 0.95, f"{placed} of {len(readable)}"
    # and the text is drawn level, so that text extraction keeps its lines
    with pikepdf.open(result["pdfa"]) as pdf:
        content = b"".join(s.read_bytes() for s in pdf.pages[0].obj.Contents) \
            if isinstance(pdf.pages[0].obj.Contents, pikepdf.Array) else pdf.pages[0].obj.Contents.read_bytes()
    angles = {round(np.degrees(np.arctan2(float(m[1]), float(m[0]))), 1)
              for m in re.findall(rb"(-?[\d.]+) (-?[\d.]+) -?[\d.]+ -?[\d.]+ -?[\d.]+ -?[\d.]+ Tm", content)}
    assert angles == {0.0}, angles
