"""The agency's visible signature block on page 1: in an empty place (never over the page's
ink, even where the Quốc hiệu fills the top right corner), inside the page, upright as the
page is displayed (pages sohoa set upright by /Rotate 180 and /Rotate 90), and not part of
the document's extracted text. Signed through the real `sohoa ingest` with the test
identity `sohoa init` makes."""

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import page as page_validator
import pikepdf
import pytest
from PIL import Image

from tests.conftest import json_lines, run_sohoa
from tests.fixtures import degraded, scans

REALSCANS = Path(__file__).resolve().parents[2] / "shared" / "realscans"
AGENCY = "Trung tâm Lưu trữ tỉnh Hậu Giang"
MM = 72 / 25.4
DPI = 150


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signature-block")
    home = folder / "home"
    assert run_sohoa(home, "init").returncode == 0
    config = home / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r'(?m)^name = ".*"$', f'name = "{AGENCY}"', text, count=1), encoding="utf-8")
    sheets = {
        # Nghị định 30 layout with tight margins (11 mm top, 10 mm right): the Quốc hiệu
        # fills the top right corner.
        "tight": degraded.from_sample(scans.render_page("cong_van_268"), "le-hep", "test"),
        "upside-down": degraded.turn(degraded.from_sample(scans.render_page("thong_bao_05"), "lon-nguoc", "test"), 180),
        "sideways": degraded.turn(degraded.from_sample(scans.render_page("ke_hoach_42", 0), "nam-ngang", "test"), 270),
    }
    sources = {key: sheet.write(folder) for key, sheet in sheets.items()}
    if REALSCANS.is_dir():
        sources["real"] = REALSCANS / "hau-giang-2010-36.pdf"
    done = run_sohoa(home, "ingest", "--json", *[str(p) for p in sources.values()])
    assert done.returncode == 0, done.stderr
    results = dict(zip(sources, json_lines(done.stdout)))
    assert all(r["status"] == "archived" for r in results.values()), results
    for result in results.values():
        # what was signed, from the record's sidecar (metadata.json beside the PDF)
        sidecar = json.loads((Path(result["pdfa"]).parent / "metadata.json").read_text(encoding="utf-8"))
        result["signature"] = sidecar["signature"]
        assert result["signature"]["appearance"] == "visible"
    return results


def _block(pdf: Path) -> tuple[tuple[float, ...], tuple[float, ...], int]:
    """The signature widget's rectangle, the page's box (user space) and its /Rotate."""
    with pikepdf.open(pdf) as document:
        page = document.pages[0]
        (widget,) = [a for a in page.obj.get("/Annots", []) if a.get("/FT") == "/Sig" and "/AP" in a]
        box = page.obj.get("/CropBox", page.obj.MediaBox)
        return (tuple(float(v) for v in widget.Rect), tuple(float(v) for v in box),
                int(page.obj.get("/Rotate", 0)) % 360)


def _shown(rect, box, rotate) -> tuple[float, float, float, float]:
    """A user-space rectangle on the page as displayed: left, top, right, bottom in points
    from the displayed page's top left (the page turned clockwise by /Rotate)."""
    x0, y0, x1, y1 = box
    corners = []
    for u, v in ((rect[0], rect[1]), (rect[2], rect[3])):
        if rotate == 90:
            corners.append((v - y0, u - x0))
        elif rotate == 180:
            corners.append((x1 - u, v - y0))
        elif rotate == 270:
            corners.append((y1 - v, x1 - u))
        else:
            corners.append((u - x0, y1 - v))
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return min(xs), min(ys), max(xs), max(ys)


def _render(pdf: Path, work: Path, *options: str, dpi: int = DPI) -> np.ndarray:
    stem = work / f"{pdf.parent.name}-{len(options)}-{dpi}"
    # PGM: nothing to compress, the renders are large
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-f", "1", "-l", "1", "-singlefile", *options,
                    str(pdf), str(stem)], check=True)
    with Image.open(f"{stem}.pgm") as image:
        return np.asarray(image.convert("L"))


@pytest.fixture(scope="module")
def rendered(signed, tmp_path_factory):
    """Page 1 of each signed file as displayed, with the block and without it (the scan)."""
    work = tmp_path_factory.mktemp("renders")
    return {key: (_render(Path(r["pdfa"]), work), _render(Path(r["pdfa"]), work, "-hide-annotations"))
            for key, r in signed.items()}


def _pixels(shown, dpi: int = DPI) -> tuple[slice, slice]:
    left, top, right, bottom = (round(v * dpi / 72) for v in shown)
    return slice(top, bottom), slice(left, right)


def _dark(image: np.ndarray, shown) -> float:
    rows, columns = _pixels(shown)
    return float((image[rows, columns] < 128).mean())


@pytest.mark.parametrize("key", ["tight", "upside-down", "sideways", "real"])
def test_the_block_covers_no_ink_of_the_scan(signed, rendered, key):
    if key not in signed:
        pytest.skip("../shared/realscans/ is not there")
    rect, box, rotate = _block(Path(signed[key]["pdfa"]))
    _, scan = rendered[key]  # the page as scanned, without the block
    shown = _shown(rect, box, rotate)
    assert _dark(scan, shown) <= 0.01
    if key == "real":  # ordinary margins: the top right, as Nghị định 30 shows it
        assert shown[1] < 0.1 * scan.shape[0] * 72 / DPI and shown[0] > 0.5 * scan.shape[1] * 72 / DPI
    if key == "tight":
        # The page is tight: where the block used to go (top right, 15 mm from the right
        # edge, 5 mm from the top) the Quốc hiệu is.
        width, height = shown[2] - shown[0], shown[3] - shown[1]
        page_width = scan.shape[1] * 72 / DPI
        former = (page_width - 15 * MM - width, 5 * MM, page_width - 15 * MM, 5 * MM + height)
        assert _dark(scan, former) > 0.01


@pytest.mark.parametrize("key", ["tight", "upside-down", "sideways", "real"])
def test_the_block_is_drawn_whole_inside_the_page(signed, rendered, key):
    if key not in signed:
        pytest.skip("../shared/realscans/ is not there")
    rect, box, rotate = _block(Path(signed[key]["pdfa"]))
    assert box[0] <= rect[0] < rect[2] <= box[2] and box[1] <= rect[1] < rect[3] <= box[3]
    shown = _shown(rect, box, rotate)
    page, scan = rendered[key]
    ys, xs = np.nonzero(np.abs(page.astype(int) - scan.astype(int)) > 64)
    assert len(xs) > 200  # the block is drawn
    rows, columns = _pixels(shown)
    # every pixel the block drew lies in its rectangle (nothing spilt, nothing clipped away)
    assert rows.start - 2 <= ys.min() and ys.max() <= rows.stop + 2
    assert columns.start - 2 <= xs.min() and xs.max() <= columns.stop + 2
    assert 0 <= columns.start and columns.stop <= page.shape[1] and 0 <= rows.start and rows.stop <= page.shape[0]


def _ocr(pixels: np.ndarray, path: Path) -> str:
    Image.fromarray(pixels).save(path)
    return subprocess.run(["tesseract", str(path), "-", "-l", "vie", "--psm", "6"],
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("key, rotate", [("tight", 0), ("upside-down", 180), ("sideways", 90)])
def test_the_block_reads_upright_on_the_displayed_page(signed, key, rotate, tmp_path):
    pdf = Path(signed[key]["pdfa"])
    rect, box, page_rotate = _block(pdf)
    assert page_rotate == rotate  # set upright by sohoa
    rows, columns = _pixels(_shown(rect, box, page_rotate), 300)
    # only the block's rectangle, at 300 dpi for Tesseract
    crop = ["-x", str(columns.start), "-y", str(rows.start), "-W", str(columns.stop - columns.start),
            "-H", str(rows.stop - rows.start)]
    block = np.pad(_render(pdf, tmp_path, *crop, dpi=300), 20, constant_values=255)
    day = signed[key]["signature"]["signed_at"][:10]  # 2026-11-29
    assert day in _ocr(block, tmp_path / "block.png").replace(" ", "")
    assert day not in _ocr(np.rot90(block, 2), tmp_path / "turned.png").replace(" ", "")  # the check can fail


@pytest.mark.parametrize("key", ["tight", "upside-down", "sideways", "real"])
def test_the_block_is_not_part_of_the_documents_text(signed, key):
    if key not in signed:
        pytest.skip("../shared/realscans/ is not there")
    pdf = signed[key]["pdfa"]
    for options in ([], ["-layout"], ["-raw"]):
        text = subprocess.run(["pdftotext", *options, "-enc", "UTF-8", pdf, "-"],
                              capture_output=True, text=True, check=True).stdout
        folded = " ".join(text.split())
        assert AGENCY not in folded and "Hậu Giang Trung tâm" not in folded
        assert "Trung tâm Lưu trữ" not in folded, options
        assert signed[key]["signature"]["signed_at"] not in folded, options
    # The appearance is marked as an artifact, its spans with an empty ActualText.
    with pikepdf.open(pdf) as document:
        (widget,) = [a for a in document.pages[0].obj.Annots if a.get("/FT") == "/Sig" and "/AP" in a]
        content = widget.AP.N.read_bytes()
    assert content.startswith(b"/Artifact BMC") and b"/ActualText()" in re.sub(rb"\s", b"", content)


def test_a_turned_signed_page_stays_valid_pdfa(signed):
    report = page_validator.validate_pdf(signed["sideways"]["pdfa"], profile="2u")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]
