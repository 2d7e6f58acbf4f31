"""Page images for the browser, drawn on the server: one page of the archived PDF/A as a
PNG, with the words of the current query outlined where the text layer puts them.

The text layer of the PDF/A is the OCR's (or the scanner's kept) words with their boxes:
poppler reads it back with positions (header.pdfwords.text_layer_page) at the very
resolution the page is rendered at, so a box lands on its word without any JavaScript.
Shared by the document page and the REST API.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

DPI = 100  # a page fits a screen's width; a 30-page document stays light
MAX_DPI = 200
RENDER_SECONDS = 60
# The outline drawn round a hit: one exact colour (tests look for its pixels) over a light
# translucent fill of the stylesheet's --mark yellow, so the word stays readable.
MARK_OUTLINE = (214, 90, 0)
MARK_FILL = (255, 229, 138, 110)
OUTLINE_WIDTH = 2


class PageImageError(Exception):
    """The page could not be rendered (the message says why, in Vietnamese)."""


def query_forms(query: str) -> set[str]:
    """The folded tokens of a query (diacritics, case and quotes do not matter), as the
    index analyses them, so a query that found a document finds its words on the page."""
    from index.analysis import fold_tokens, tokenize

    return set(fold_tokens(tokenize(query)))


def word_matches(word: str, forms: set[str]) -> bool:
    """Whether an OCR word (with its punctuation: "tỉnh,", "268/SGTVT-VP") holds a query
    token, exactly or, for long words, within one OCR error as the index matches them."""
    from index.analysis import FUZZY_MIN_LETTERS, fold_tokens, tokenize, within_one_edit

    for token in fold_tokens(tokenize(word)):
        if token in forms:
            return True
        if len(token) >= FUZZY_MIN_LETTERS and any(
                len(form) >= FUZZY_MIN_LETTERS and within_one_edit(token, form) for form in forms):
            return True
    return False


def hit_boxes(pdf: Path, page: int, query: str, dpi: int = DPI) -> list[tuple[int, int, int, int]]:
    """Boxes (left, top, right, bottom; pixels at dpi) of the page's words that match."""
    from header.pdfwords import text_layer_page

    forms = query_forms(query)
    if not forms:
        return []
    words = text_layer_page(pdf, page, dpi)
    if words is None:
        return []
    return [word.box for word in words.words if word_matches(word.text, forms)]


def render_page(pdf: Path, page: int, query: str = "", dpi: int = DPI) -> bytes:
    """PNG bytes of `page` (1-based) of `pdf`, the query's words outlined."""
    from PIL import Image, ImageDraw

    dpi = max(30, min(int(dpi), MAX_DPI))
    with tempfile.TemporaryDirectory(prefix="sohoa-page-") as folder:
        target = Path(folder) / "page"
        try:
            done = subprocess.run(
                ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", "-singlefile",
                 str(pdf), str(target)],
                capture_output=True, timeout=RENDER_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise PageImageError(f"trang {page} của {pdf.name}: vẽ quá {RENDER_SECONDS} giây, đã dừng") from None
        png = target.with_suffix(".png")
        if done.returncode != 0 or not png.is_file():
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise PageImageError(f"trang {page} của {pdf.name}: không vẽ được ({said[-1] if said else 'pdftoppm lỗi'})")
        rendered = png.read_bytes()
    boxes = hit_boxes(pdf, page, query, dpi) if query.strip() else []
    if not boxes:
        return rendered
    image = Image.open(io.BytesIO(rendered)).convert("RGBA")
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for left, top, right, bottom in boxes:
        draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=MARK_FILL)
    image = Image.alpha_composite(image, layer).convert("RGB")
    draw = ImageDraw.Draw(image)
    for left, top, right, bottom in boxes:
        draw.rectangle((left - 3, top - 3, right + 3, bottom + 3), outline=MARK_OUTLINE, width=OUTLINE_WIDTH)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
