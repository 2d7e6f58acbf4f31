"""Tesseract: a page in, hOCR out, parsed into OcrPage. Through its library kept loaded
(ocr/libtesseract.py) where it is the command's engine, else through pytesseract.

hOCR rather than TSV because it carries each line's baseline and letter height, which the
invisible text layer needs to put the words exactly over the words of the image.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytesseract
from PIL import Image

from core.errors import SohoaError
from ocr.libtesseract import LibraryError, library_version, loaded_engine
from core.ocr_results import Box, OcrLine, OcrPage, OcrWord

_LINE_CLASSES = {"ocr_line", "ocr_header", "ocr_caption", "ocr_textfloat"}
_BBOX = re.compile(r"bbox (-?\d+) (-?\d+) (-?\d+) (-?\d+)")
_BASELINE = re.compile(r"baseline (-?[\d.]+) (-?[\d.]+)")
_X_SIZE = re.compile(r"x_size ([\d.]+)")
_CONFIDENCE = re.compile(r"x_wconf (-?[\d.]+)")


class TesseractError(SohoaError, RuntimeError):
    """Tesseract is missing, lacks a language, or failed on a page."""

    code = "ocr-failed"


@functools.cache
def tesseract_version() -> str:
    try:
        return str(pytesseract.get_tesseract_version())
    except (pytesseract.TesseractNotFoundError, OSError) as error:
        raise TesseractError(
            "không tìm thấy Tesseract (cài gói tesseract-ocr và tesseract-ocr-vie)"
        ) from error


@functools.cache
def check_languages(language: str) -> None:
    """Fail early and plainly when a configured language pack is not installed."""
    tesseract_version()
    installed = set(pytesseract.get_languages(config=""))
    missing = [code for code in language.split("+") if code not in installed]
    if missing:
        raise TesseractError(
            f"Tesseract thiếu gói ngôn ngữ {', '.join(missing)} "
            f"(cài tesseract-ocr-{missing[0]})"
        )


@functools.cache
def _library_matches() -> bool:
    """Read through libtesseract only when it is the very engine the command is."""
    return library_version() == tesseract_version()


def ocr_grey_image(grey: np.ndarray, *, language: str, dpi: float, work: Path) -> OcrPage:
    """OCR one 8-bit grey page image: through the loaded library (ocr/libtesseract.py),
    or, where that is not the command's own engine, by running the command on a file."""
    if _library_matches():
        try:
            hocr = loaded_engine(language).hocr(grey, dpi)
        except LibraryError as error:
            raise TesseractError(str(error)) from error
        return parse_hocr(hocr, dpi=dpi, engine=f"tesseract {tesseract_version()} -l {language}")
    copy = work / "ocr-copy.pgm"
    Image.fromarray(grey).save(copy, format="PPM")
    return ocr_image_file(copy, language=language, dpi=dpi)


def ocr_image_file(path: Path, *, language: str, dpi: float) -> OcrPage:
    """OCR one page image file (PNM, PNG, TIFF ...) and return its words and lines.
    Tesseract's OpenMP threads are limited at start (core/patches.py)."""
    config = f"--dpi {round(dpi)} --psm 3"
    try:
        hocr = pytesseract.image_to_pdf_or_hocr(
            str(path), lang=language, config=config, extension="hocr"
        )
    except pytesseract.TesseractError as error:
        raise TesseractError(f"Tesseract lỗi: {error.message.strip()}") from error
    return parse_hocr(hocr, dpi=dpi, engine=f"tesseract {tesseract_version()} -l {language}")


def _title_box(title: str) -> Box:
    match = _BBOX.search(title)
    if not match:
        raise ValueError(f"hOCR element without bbox: {title!r}")
    left, top, right, bottom = (int(v) for v in match.groups())
    return left, top, right, bottom


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_hocr(hocr: bytes, *, dpi: float, engine: str) -> OcrPage:
    root = ET.fromstring(hocr)
    width = height = 0
    lines: list[OcrLine] = []
    for element in root.iter():
        css_class = element.get("class")
        if css_class == "ocr_page":
            _, _, width, height = _title_box(element.get("title", ""))
        elif css_class in _LINE_CLASSES:
            line = _parse_line(element)
            if line is not None:
                lines.append(line)
    return OcrPage(width=width, height=height, dpi=dpi, lines=tuple(lines), engine=engine)


def _parse_line(element: ET.Element) -> OcrLine | None:
    title = element.get("title", "")
    words = []
    for child in element.iter():
        if child.get("class") != "ocrx_word":
            continue
        text = unicodedata.normalize("NFC", "".join(child.itertext())).strip()
        if not text:
            continue
        confidence = _CONFIDENCE.search(child.get("title", ""))
        words.append(
            OcrWord(
                text=text,
                box=_title_box(child.get("title", "")),
                confidence=float(confidence.group(1)) if confidence else 0.0,
            )
        )
    if not words:
        return None
    box = _title_box(title)
    baseline = _BASELINE.search(title)
    x_size = _X_SIZE.search(title)
    return OcrLine(
        words=tuple(words),
        box=box,
        baseline_slope=float(baseline.group(1)) if baseline else 0.0,
        baseline_offset=float(baseline.group(2)) if baseline else 0.0,
        text_height=float(x_size.group(1)) if x_size else float(box[3] - box[1]),
    )
