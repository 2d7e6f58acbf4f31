"""OCR of a document's pages, in parallel, one Tesseract process per available CPU.

Each worker reads its page as displayed — the image file itself for JPEG and PNG, a decoded
frame for TIFF, a poppler rendering at the scan's own resolution for PDF — makes the OCR
copy (upright, deskewed, cleaned: ocr/cleanup.py) and reads it with Tesseract. The words
come back with the map onto the page as displayed upright, so the text layer lands on the
scan's words.
"""

from __future__ import annotations

import dataclasses
import tempfile
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pdf2image import convert_from_path
from pdf2image.exceptions import PDFPageCountError, PDFSyntaxError
from PIL import Image

from ocr.cleanup import ALL_STEPS, CleanupSteps, PreparedPage, confirms_turn, prepare_page
from ocr.colour import ocr_pixels
from ocr.errors import CorruptFile
from ocr.memory import is_out_of_memory, limit_memory, too_much_memory
from core.ocr_results import OcrPage
from ocr.tesseract import TesseractError, ocr_grey_image, tesseract_version


@dataclass(frozen=True)
class PageJob:
    pdf_path: Path  # the document as built from the input, pages showing the scans
    page_number: int  # 1-based
    dpi: float
    language: str
    # When the page is exactly an image file shown upright and whole, the worker reads that
    # file (frame `frame` of it) instead of rasterising the page: the very pixels of the scan.
    image_file: Path | None = None
    frame: int = 0


def _read_pixels(job: PageJob, work: Path) -> np.ndarray:
    if job.image_file is not None:
        try:
            with Image.open(job.image_file) as image:
                image.seek(job.frame)
                image.load()
                return ocr_pixels(image)  # CMYK, Lab and 16-bit grey scans included
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise CorruptFile(f"trang {job.page_number}: ảnh hỏng hoặc bị cắt cụt ({error})") from error
    try:
        (path,) = convert_from_path(
            job.pdf_path, dpi=job.dpi, first_page=job.page_number, last_page=job.page_number,
            output_folder=work, fmt="ppm", use_cropbox=True, paths_only=True,
        )
    except (PDFPageCountError, PDFSyntaxError, ValueError) as error:
        raise TesseractError(f"không dựng được ảnh trang {job.page_number}: {error}") from error
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _recognise(prepared: PreparedPage, job: PageJob, work: Path) -> OcrPage:
    ocr = ocr_grey_image(prepared.image, language=job.language, dpi=job.dpi, work=work)
    width, height = prepared.page_size
    return dataclasses.replace(ocr, width=width, height=height, to_page=prepared.to_page,
                               rotation=prepared.rotation, skew=prepared.skew)


def ocr_page(job: PageJob, steps: CleanupSteps = ALL_STEPS) -> OcrPage:
    try:
        return _ocr_page(job, steps)
    except Exception as error:
        if is_out_of_memory(error):  # the process's memory limit (ocr/memory.py): the page's fault
            raise too_much_memory() from error
        raise


def _ocr_page(job: PageJob, steps: CleanupSteps) -> OcrPage:
    with tempfile.TemporaryDirectory(prefix="sohoa-page-") as work_dir:
        work = Path(work_dir)
        pixels = _read_pixels(job, work)
        prepared = prepare_page(pixels, job.dpi, steps=steps)
        if prepared.blank:
            width, height = prepared.page_size
            return OcrPage(width=width, height=height, dpi=job.dpi, lines=(), blank=True,
                           engine=f"tesseract {tesseract_version()} -l {job.language}")
        result = _recognise(prepared, job, work)
        if not prepared.orientation_sure and prepared.alternative is not None:
            # The ink's evidence for a turn was middling: read the page turned too, and turn
            # it only if Tesseract reads it that way clearly better (ocr/cleanup.py).
            turned = prepare_page(pixels, job.dpi, steps=steps, orientation=prepared.alternative)
            other = _recognise(turned, job, work)
            if confirms_turn((result.mean_confidence, len(result.words)),
                             (other.mean_confidence, len(other.words))):
                result = other
        return result


def _start_pool_worker(memory_limit_mb: int) -> None:
    # Forked: OMP_THREAD_LIMIT and the other patches (core/patches.py) come with the parent.
    limit_memory(memory_limit_mb)


def ocr_pages(jobs: list[PageJob], workers: int, *, memory_limit_mb: int = 0) -> list[OcrPage]:
    """OCR every page; results in the order of jobs. With a memory limit the pages are
    read in processes of their own, even one page, so that a page needing more fails
    alone and this process goes on with the next file."""
    if not jobs:
        return []
    workers = max(1, min(workers, len(jobs)))
    if workers == 1 and not memory_limit_mb:
        return [ocr_page(job) for job in jobs]
    with ProcessPoolExecutor(max_workers=workers, initializer=_start_pool_worker,
                             initargs=(memory_limit_mb,)) as pool:
        try:
            return list(pool.map(ocr_page, jobs))
        except BrokenProcessPool as error:  # a reader died: killed, or aborted on std::bad_alloc
            raise too_much_memory(memory_limit_mb, died=True) from error
