"""OCR of a document's pages, in parallel, one Tesseract process per available CPU.

Each worker rasterises its page with poppler at the resolution of the scan it contains, so
Tesseract sees the scanned pixels as a viewer shows the page (after /Rotate), and the words
map straight back to the page.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pdf2image import convert_from_path
from pdf2image.exceptions import PDFPageCountError, PDFSyntaxError

from ocr.results import OcrPage
from ocr.tesseract import TesseractError, ocr_image_file


@dataclass(frozen=True)
class PageJob:
    pdf_path: Path  # the document as built from the input, pages showing the scans
    page_number: int  # 1-based
    dpi: float
    language: str


def _limit_threads() -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"


def ocr_page(job: PageJob) -> OcrPage:
    _limit_threads()
    with tempfile.TemporaryDirectory(prefix="sohoa-page-") as work:
        try:
            paths = convert_from_path(
                job.pdf_path,
                dpi=job.dpi,
                first_page=job.page_number,
                last_page=job.page_number,
                output_folder=work,
                fmt="ppm",
                grayscale=True,  # Tesseract reads grey; a third of the bytes to write and read
                use_cropbox=True,
                paths_only=True,
            )
        except (PDFPageCountError, PDFSyntaxError) as error:
            raise TesseractError(f"không dựng được ảnh trang {job.page_number}: {error}") from error
        if not paths:
            raise TesseractError(f"không dựng được ảnh trang {job.page_number}")
        return ocr_image_file(Path(paths[0]), language=job.language, dpi=job.dpi)


def ocr_pages(jobs: list[PageJob], workers: int) -> list[OcrPage]:
    """OCR every page; results in the order of jobs."""
    if not jobs:
        return []
    workers = max(1, min(workers, len(jobs)))
    if workers == 1:
        return [ocr_page(job) for job in jobs]
    with ProcessPoolExecutor(max_workers=workers, initializer=_limit_threads) as pool:
        return list(pool.map(ocr_page, jobs))
