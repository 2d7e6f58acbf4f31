"""The invisible text layer: OCR words drawn in text render mode 3 over the page image.

Words are drawn with a glyphless font (Tesseract's pdf.ttf: one empty glyph half an em
wide, every character code mapped to it) so that any Unicode text can be written without
embedding a real font, while a ToUnicode map gives viewers and pdftotext the real letters.
Each word is stretched (Tz) to the width of the word in the image, so selecting text in a
viewer highlights the right word.
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

from ocr.results import OcrLine, OcrPage

FONT_RESOURCE_NAME = "/SohoaOCR"
_GLYPH_WIDTH = 0.5  # advance of the glyphless font's only glyph, in em
Matrix = tuple[float, float, float, float, float, float]


class GlyphlessFontMissing(RuntimeError):
    pass


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


def _line_operators(line: OcrLine, page: OcrPage, scale_x: float, scale_y: float, page_height: float) -> list[str]:
    left, top, _, bottom = line.box
    a, b, c, d, e, f = page.to_page
    # Direction of the text on the displayed page (PDF y grows upwards): on a skewed scan
    # the words are drawn at the scan's angle, over the words as printed.
    dx, dy = a * scale_x, -d * scale_y
    length = math.hypot(dx, dy)
    cos, sin = dx / length, dy / length
    unit = math.hypot(a, d)  # pixels of the page per pixel of the OCR copy
    ops: list[str] = []
    words = line.words
    for index, word in enumerate(words):
        chars = _hex(word.text)
        if not chars:
            continue
        baseline = bottom + line.baseline_offset + line.baseline_slope * (word.box[0] - left)
        x_px = a * word.box[0] + b * baseline + c
        y_px = d * word.box[0] + e * baseline + f
        # Letters reach from the line's top to its baseline: size the font to that, so a
        # viewer's selection box covers the word as printed.
        size = max(1.0, (baseline - top) * unit * scale_y)
        natural = len(chars) // 4 * _GLYPH_WIDTH * size
        width = (word.box[2] - word.box[0]) * unit * scale_x
        ops.append(f"/{FONT_RESOURCE_NAME[1:]} {_fmt(size)} Tf")
        ops.append(f"{_fmt(cos)} {_fmt(sin)} {_fmt(-sin)} {_fmt(cos)} "
                   f"{_fmt(x_px * scale_x)} {_fmt(page_height - y_px * scale_y)} Tm")
        ops.append(f"{_fmt(100 * width / natural)} Tz <{chars}> Tj")
        if index + 1 < len(words):
            # A real space between words, stretched over the gap, so copied text and
            # pdftotext keep word boundaries.
            gap = (words[index + 1].box[0] - word.box[2]) * unit * scale_x
            if gap > 0:
                ops.append(f"{_fmt(100 * gap / (_GLYPH_WIDTH * size))} Tz <0020> Tj")
    return ops


def text_layer_content(page: OcrPage, displayed_size: tuple[float, float], to_user_space: Matrix) -> bytes:
    """Content stream drawing page's words invisibly over a page displayed at displayed_size (pt)."""
    width_pt, height_pt = displayed_size
    scale_x = width_pt / page.width
    scale_y = height_pt / page.height
    ops = ["q", " ".join(_fmt(v) for v in to_user_space) + " cm", "BT", "3 Tr"]
    for line in page.lines:
        ops.extend(_line_operators(line, page, scale_x, scale_y, height_pt))
    ops += ["ET", "Q", ""]
    return "\n".join(ops).encode("ascii")
