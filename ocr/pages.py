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
from PIL import Image
from pdf2image.exceptions import PDFPageCountError, PDFSyntaxError

from ocr.errors import CorruptFile
from ocr.results import OcrPage
from ocr.tesseract import TesseractError, ocr_image_file


@dataclass(frozen=True)
class PageJob:
    pdf_path: Path  # the document as built from the input, pages showing the scans
    page_number: int  # 1-based
    dpi: float
    language: str
    # When the page is exactly an image file shown upright and whole, OCR reads that file:
    # no rasterising, the very pixels of the scan. frame None: Tesseract reads the file
    # itself (JPEG); a frame number: that frame is decoded here first (PNG, TIFF).
    image_file: Path | None = None
    frame: int | None = None


def _limit_threads() -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"


def ocr_page(job: PageJob) -> OcrPage:
    _limit_threads()
    if job.image_file is not None and job.frame is None:
        try:
            return ocr_image_file(job.image_file, language=job.language, dpi=job.dpi)
        except TesseractError as error:
            if "cannot be read" in str(error) or "pixRead" in str(error):
                raise CorruptFile(f"trang {job.page_number}: ảnh hỏng, không giải mã được") from error
            raise
    with tempfile.TemporaryDirectory(prefix="sohoa-page-") as work:
        if job.image_file is not None:
            return ocr_image_file(_extract_frame(job, Path(work)), language=job.language, dpi=job.dpi)
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


def _extract_frame(job: PageJob, work: Path) -> Path:
    """Decode one frame (of a PNG or TIFF) to an uncompressed PNM, which Tesseract reads
    fastest. Decoding it is also the check that the image data is whole."""
    try:
        with Image.open(job.image_file) as image:
            image.seek(job.frame)
            image.load()
            frame = image if image.mode in ("1", "L", "RGB") else image.convert("RGB")
            path = work / f"frame-{job.frame}.pnm"
            frame.save(path, format="PPM")
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise CorruptFile(f"trang {job.page_number}: ảnh hỏng hoặc bị cắt cụt ({error})") from error
    return path


def ocr_pages(jobs: list[PageJob], workers: int) -> list[OcrPage]:
    """OCR every page; results in the order of jobs."""
    if not jobs:
        return []
    workers = max(1, min(workers, len(jobs)))
    if workers == 1:
        return [ocr_page(job) for job in jobs]
    with ProcessPoolExecutor(max_workers=workers, initializer=_limit_threads) as pool:
        return list(pool.map(ocr_page, jobs))
