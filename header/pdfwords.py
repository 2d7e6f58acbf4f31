"""Words with positions from a PDF's existing text layer (poppler's `pdftotext -bbox-layout`),
for pages sohoa did not OCR itself: the header reader needs where words are, not just text."""

from __future__ import annotations

import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

from core.ocr_results import OcrLine, OcrPage, OcrWord

_XHTML = "{http://www.w3.org/1999/xhtml}"
# A text layer made elsewhere (a scanner's OCR, a word processor) carries no confidence; it
# is trusted a little less than a clean Tesseract reading, so doubtful repairs get flagged.
EXISTING_TEXT_CONFIDENCE = 90.0


def text_layer_page(pdf: Path, page_number: int, dpi: float) -> OcrPage | None:
    """The words of one page's text layer as an OcrPage (pixels at dpi), None if it has none."""
    try:
        result = subprocess.run(
            ["pdftotext", "-bbox-layout", "-enc", "UTF-8", "-f", str(page_number), "-l", str(page_number),
             str(pdf), "-"],
            capture_output=True, check=True, timeout=120,
        )
        root = ET.fromstring(result.stdout)
    except (subprocess.SubprocessError, OSError, ET.ParseError):
        return None
    page = root.find(f".//{_XHTML}page")
    if page is None:
        return None
    scale = dpi / 72.0

    def box(element: ET.Element) -> tuple[int, int, int, int]:
        return tuple(round(float(element.get(k, 0)) * scale) for k in ("xMin", "yMin", "xMax", "yMax"))

    lines = []
    for line in page.iter(f"{_XHTML}line"):
        words = tuple(
            OcrWord(unicodedata.normalize("NFC", word.text.strip()), box(word), EXISTING_TEXT_CONFIDENCE)
            for word in line.iter(f"{_XHTML}word") if word.text and word.text.strip()
        )
        if words:
            line_box = box(line)
            lines.append(OcrLine(words, line_box, 0.0, 0.0, float(line_box[3] - line_box[1])))
    if not lines:
        return None
    width, height = round(float(page.get("width", 0)) * scale), round(float(page.get("height", 0)) * scale)
    return OcrPage(width=width, height=height, dpi=dpi, lines=tuple(lines), engine="pdftotext -bbox-layout")
