"""The invisible text layer: OCR words drawn in text render mode 3 over the page image.

Words are drawn with a glyphless font (Tesseract's pdf.ttf: one empty glyph half an em
wide, every character code mapped to it) so that any Unicode text can be written without
embedding a real font, while a ToUnicode map gives viewers and pdftotext the real letters.
Each word is stretched (Tz) to the width of the word in the image, so selecting text in a
viewer highlights the right word.

Skewed scans: the text is drawn level, each line on its baseline where it crosses the
page's vertical centre line, and the page shows the scan as it was scanned, slant and
all. Text extraction (pdftotext, a viewer's copy, another archive's indexer) puts words
on one line only when their baselines agree to about half a letter height, and starts
each line from its top-most words: text drawn at the scan's angle came out split and
interleaved (35 % CER on 1-5° skews, bench/skewed_text.py) and now comes out as OCR read
it. Rows keep the places and spacing they have on the deskewed OCR copy, so a two-column
header row stays one row. The price is in selection: a word lies level where its printed
self slants, off by its distance from the centre line times the skew's tangent (about
half a line at the ends of a full-width line at 3°); it still spans its word across and
selecting it picks that word.

The other way — drawing the scan turned level by the measured skew (its bytes unchanged,
a cm transform) under a level layer — would make selection exact but change what the
page shows: the archive copy must show the scan as it is (Thông tư 05/2025: faithful, at
100 %, uncropped), and the turned scan either loses its corners to the page box or needs
a larger page than the sheet. A wrong skew measure would also turn the page for all to
see; here it only moves invisible text.
"""

from __future__ import annotations

import functools
import glob
import math
import os
import zlib
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name

from core.errors import SohoaError
from core.ocr_results import OcrLine, OcrPage

FONT_RESOURCE_NAME = "/SohoaOCR"
_GLYPH_WIDTH = 0.5  # advance of the glyphless font's only glyph, in em
Matrix = tuple[float, float, float, float, float, float]


class GlyphlessFontMissing(SohoaError, RuntimeError):
    code = "ocr-font-missing"


@functools.cache
def glyphless_font_program() -> bytes:
    """Tesseract ships pdf.ttf for its own PDF renderer; we draw with the same font."""
    candidates = []
    if os.environ.get("TESSDATA_PREFIX"):
        candidates.append(os.path.join(os.environ["TESSDATA_PREFIX"], "pdf.ttf"))
    candidates += sorted(glob.glob("/usr/share/tesseract-ocr/*/tessdata/pdf.ttf"), reverse=True)
    candidates += ["/usr/share/tessdata/pdf.ttf", "/usr/local/share/tessdata/pdf.ttf"]
    for candidate in candidates:
        if Path(candidate).is_file():
            return Path(candidate).read_bytes()
    raise GlyphlessFontMissing(
        "không tìm thấy pdf.ttf của Tesseract (cài lại gói tesseract-ocr)"
    )


def _to_unicode_cmap() -> bytes:
    # Character codes are UTF-16 code units, so the map is the identity. One bfrange per
    # high byte: a range may only vary in its last byte. Surrogates are never written.
    ranges = [f"<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>" for hi in range(256) if not 0xD8 <= hi <= 0xDF]
    blocks = []
    for start in range(0, len(ranges), 100):
        chunk = ranges[start : start + 100]
        blocks.append(f"{len(chunk)} beginbfrange\n" + "\n".join(chunk) + "\nendbfrange")
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")


def add_glyphless_font(pdf: pikepdf.Pdf) -> pikepdf.Object:
    """Add the font objects to pdf and return the Type0 font to put in page resources."""
    descriptor = pdf.make_indirect(
        Dictionary(
            Type=Name.FontDescriptor,
            FontName=Name.GlyphLessFont,
            Flags=5,  # fixed pitch, symbolic
            FontBBox=Array([0, 0, 500, 1000]),
            ItalicAngle=0,
            Ascent=1000,
            Descent=-1,
            CapHeight=1000,
            StemV=80,
            FontFile2=pdf.make_stream(glyphless_font_program()),
        )
    )
    cid_font = pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.CIDFontType2,
            BaseFont=Name.GlyphLessFont,
            CIDSystemInfo=Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
            FontDescriptor=descriptor,
            DW=round(_GLYPH_WIDTH * 1000),
            # Every CID shows glyph 1, the font's only non-.notdef glyph.
            CIDToGIDMap=pdf.make_stream(
                zlib.compress(b"\x00\x01" * 65536), Filter=Name.FlateDecode
            ),
        )
    )
    return pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.Type0,
            BaseFont=Name.GlyphLessFont,
            Encoding=Name("/Identity-H"),
            DescendantFonts=Array([cid_font]),
            ToUnicode=pdf.make_stream(_to_unicode_cmap()),
        )
    )


def displayed_to_user_space(box: tuple[float, float, float, float], rotate: int) -> Matrix:
    """Matrix from the page as displayed (origin bottom left, after /Rotate) to user space.

    The OCR image is the page as a viewer shows it; the text layer lives in the page's
    unrotated user space, so its coordinates are turned back through /Rotate.
    """
    x0, y0, x1, y1 = box
    width = x1 - x0
    rotate %= 360
    if rotate == 90:
        return (0, 1, -1, 0, x0 + width, y0)
    if rotate == 180:
        return (-1, 0, 0, -1, x1, y1)
    if rotate == 270:
        return (0, -1, 1, 0, x0, y1)
    return (1, 0, 0, 1, x0, y0)


def _hex(text: str) -> str:
    return "".join(f"{ord(ch):04X}" for ch in text if ord(ch) <= 0xFFFF and ord(ch) > 0x1F)


def _fmt(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _baseline_y(line: OcrLine, x: float) -> float:
    """The line's baseline in the OCR copy (hOCR: from the box's bottom left corner)."""
    return line.box[3] + line.baseline_offset + line.baseline_slope * (x - line.box[0])


def _middle_of_copy(page: OcrPage) -> float:
    """x, in the OCR copy, of the page's vertical centre line (to_page inverted)."""
    a, b, c, d, e, f = page.to_page
    x, y = page.width / 2 - c, page.height / 2 - f
    return (e * x - b * y) / (a * e - b * d)


def _line_operators(line: OcrLine, page: OcrPage, middle: float, scale_x: float, scale_y: float,
                    page_height: float) -> list[str]:
    a, b, c, d, e, f = page.to_page
    unit = math.hypot(a, d)  # pixels of the page per pixel of the OCR copy
    # The copy is deskewed, so its lines are level: the line's baseline at its middle (its
    # own slope, noisy on a short line, is not carried further).
    level = _baseline_y(line, (line.box[0] + line.box[2]) / 2)
    # Level on the page too, on the line's baseline where it crosses the page's centre
    # line: every row keeps the place and spacing it has on the deskewed copy, so readers
    # order the rows as OCR read them; a word lies off its printed self by its distance
    # from the centre times the skew's tangent (the module's docstring).
    base = page_height - (d * middle + e * level + f) * scale_y

    def page_x(x: float) -> float:  # the copy's baseline point at x, on the page, in points
        return (a * x + b * level + c) * scale_x

    # Letters reach from the line's top to its baseline: size the font to that, so a
    # viewer's selection box covers the words as printed. One size for the whole line.
    size = max(1.0, (level - line.box[1]) * unit * scale_y)
    ops = [f"/{FONT_RESOURCE_NAME[1:]} {_fmt(size)} Tf"]
    words = [(word, _hex(word.text)) for word in line.words if _hex(word.text)]
    for index, (word, chars) in enumerate(words):
        # Stretched (Tz) over the part of the page's width its image word spans.
        start, end = sorted((page_x(word.box[0]), page_x(word.box[2])))
        natural = len(chars) // 4 * _GLYPH_WIDTH * size
        ops.append(f"1 0 0 1 {_fmt(start)} {_fmt(base)} Tm")
        ops.append(f"{_fmt(100 * max(end - start, 0.1) / natural)} Tz <{chars}> Tj")
        if index + 1 < len(words):
            # A real space between words, stretched over the gap, so copied text and
            # pdftotext keep word boundaries.
            following = words[index + 1][0].box
            gap = min(page_x(following[0]), page_x(following[2])) - end
            if gap > 0:
                ops.append(f"{_fmt(100 * gap / (_GLYPH_WIDTH * size))} Tz <0020> Tj")
    return ops


def text_layer_content(page: OcrPage, displayed_size: tuple[float, float], to_user_space: Matrix) -> bytes:
    """Content stream drawing page's words invisibly over a page displayed at displayed_size (pt)."""
    width_pt, height_pt = displayed_size
    scale_x = width_pt / page.width
    scale_y = height_pt / page.height
    middle = _middle_of_copy(page)
    ops = ["q", " ".join(_fmt(v) for v in to_user_space) + " cm", "BT", "3 Tr"]
    for line in page.lines:
        ops.extend(_line_operators(line, page, middle, scale_x, scale_y, height_pt))
    ops += ["ET", "Q", ""]
    return "\n".join(ops).encode("ascii")
