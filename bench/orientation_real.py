"""Orientation and blank verdicts on the real scanner PDFs of ../shared/realscans/.

Every page there is upright, with text on it: any rotation sohoa would set is a wrong
/Rotate, any blank verdict drops text. Each page is loaded as ingest loads it
(ocr.sources.load_source, rasterised at its own image resolution as ocr.pages does) and
its OCR copy is prepared (ocr.cleanup.prepare_page); where the ink leaves the orientation
in doubt, the page is read as ocr.pages.ocr_page reads it (OCR confidence of the candidates).

    .venv/bin/python bench/orientation_real.py [--full] [FILE.pdf ...]

Before the evidence rule (issue 12, point 5): 4 of the 63 pages turned (tables set upside
down or sideways: 24 p2, 28 p2, 30 p2, 49 p3 at the scans' own resolution, --full; 24 p2,
28 p2, 30 p2, 40 p4 at 100 dpi), none blank. After: 0 turned, 0 blank; 6 pages left in
doubt by the ink, all kept upright by OCR confidence (156 s; --full on 24, 28, 30, 49: 0).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.patches import apply_all  # noqa: E402

apply_all()  # as sohoa's entry points do at start: the patched libraries, one OCR thread

from ocr.cleanup import prepare_page  # noqa: E402
from ocr.pages import PageJob, ocr_page  # noqa: E402
from core.pdf.pages import image_dpi  # noqa: E402
from ocr.sources import load_source  # noqa: E402

REAL_SCANS = ROOT.parent / "shared" / "realscans"
_DEFAULT_DPI = 300.0
_ANALYSIS_DPI = 100.0


def real_pages(path: Path, work: Path, *, full: bool = False):
    """(page number, dpi, pixels, the OCR job ocr.pages would run) of every page of path.

    The ink analysis runs at 100 dpi whatever the scan's resolution (ocr/cleanup.py), so
    unless full the page is rasterised at 100 dpi straight away: the same verdicts at a
    ninth of the work. The job always reads the page at its own resolution."""
    from pdf2image import convert_from_path

    loaded = load_source(path, max_pixels=200_000_000)
    base = work / f"{path.stem}.pdf"
    loaded.pdf.save(base)
    for index, page in enumerate(loaded.pdf.pages):
        dpi = image_dpi(page) or _DEFAULT_DPI
        shown = dpi if full else min(dpi, _ANALYSIS_DPI)
        (image,) = convert_from_path(base, dpi=shown, first_page=index + 1, last_page=index + 1,
                                     use_cropbox=True)
        yield index + 1, shown, np.asarray(image.convert("RGB")), PageJob(base, index + 1, dpi, "vie")


def verdict(pixels: np.ndarray, dpi: float, job: PageJob) -> tuple[int, bool, bool]:
    """(rotation, blank, whether OCR had to decide) as the pipeline would find them."""
    prepared = prepare_page(pixels, dpi)
    if prepared.blank or prepared.orientation_sure:
        return prepared.rotation, prepared.blank, False
    # in doubt: the page read as ocr.pages reads it, at its own resolution, both ways
    result = ocr_page(job)
    return result.rotation, result.blank, True


def main(argv: list[str]) -> int:
    full = "--full" in argv
    files = [Path(a) for a in argv if a != "--full"] or sorted(REAL_SCANS.glob("*.pdf"))
    pages = rotated = blank = by_ocr = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="orientation-real-") as work:
        for path in files:
            for number, dpi, pixels, job in real_pages(path, Path(work), full=full):
                rotation, is_blank, asked = verdict(pixels, dpi, job)
                pages += 1
                rotated += rotation != 0
                blank += is_blank
                by_ocr += asked
                if rotation or is_blank or asked:
                    print(f"{path.name} p{number}: rotation {rotation}, blank {is_blank}, "
                          f"OCR decided {asked}", flush=True)
    print(f"{len(files)} files, {pages} pages: {rotated} rotated, {blank} blank, "
          f"{by_ocr} decided by OCR confidence ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
