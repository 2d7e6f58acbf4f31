"""A page's old text layer: a born-digital page's visible text, or a scanner's OCR layer.

Scanners (Alaris Capture Pro, Tesseract, Abbyy in an MFP ...) write their OCR as text no
one sees: drawn in render mode 3 (or 7, clip only), or drawn before the page image that
then covers it. On Vietnamese that text is poor ("Dộc lập", "VỊ Thanh, ngày O/ỉ tháng o4"),
and it is what search, copy and every other archive would read. Such a layer is taken out
and the page OCR'd again, as OCRmyPDF's --redo-ocr does; text a reader sees is what the
page looks like and is kept.

The layer is taken out of the drawing instructions only: the page images and their bytes
stay as they are. Colour and other graphics-state settings made inside a dropped text
object are kept (they stay in force after ET: a JBIG2 stencil mask drawn next is painted
in the fill colour set there).
"""

from __future__ import annotations

import pikepdf
from pikepdf import Name

from core.pdf.pages import drawing_size, has_text, page_geometry

NONE, INVISIBLE, VISIBLE = "none", "invisible", "visible"

_SHOWING = {"Tj", "TJ", "'", '"'}
# Operators that belong to text only: dropped with an invisible text object. Everything
# else inside BT ... ET (colour, gs, marked content) is kept.
_TEXT_ONLY = _SHOWING | {"BT", "ET", "Tf", "Tm", "Td", "TD", "T*", "Tc", "Tw", "Tz", "TL", "Tr", "Ts"}
_INVISIBLE_MODES = {3, 7}
_FORM_DEPTH = 4
# Instructions are edited as a list (some 200 bytes of memory per byte of drawing); a
# scanner's OCR layer is tens of KB. Past this the page's text is left as it is.
_EDITABLE_DRAWING = 4 << 20
# An image drawn over at least this share of the page hides the text drawn before it.
_COVERING = 0.9


def text_layer_kind(page: pikepdf.Page) -> str:
    """NONE, INVISIBLE (only text a reader cannot see: a scanner's OCR layer) or VISIBLE
    (some text is seen: a born-digital page, kept as it is)."""
    if not has_text(page):
        return NONE
    if drawing_size(page, _EDITABLE_DRAWING) > _EDITABLE_DRAWING:
        return VISIBLE  # too big to take apart: treated as what the page shows
    box = page_geometry(page).box
    visible = _shows_visible_text(pikepdf.parse_content_stream(page), page.resources, box, 0, 0, set())
    return VISIBLE if visible else INVISIBLE


def _shows_visible_text(instructions, resources, box, mode: int, depth: int, seen: set) -> bool:
    """Whether any text is drawn visibly and not covered by a page-sized image drawn later."""
    modes = [mode]
    ctms = [(1.0, 0.0, 0.0, 1.0, 0.0, 0.0)]
    seen_visible = False
    xobjects = (resources or {}).get(Name.XObject, {}) if resources is not None else {}
    for operands, operator in instructions:
        op = str(operator)
        if op == "q":
            modes.append(modes[-1])
            ctms.append(ctms[-1])
        elif op == "Q":
            if len(modes) > 1:
                modes.pop()
                ctms.pop()
        elif op == "cm":
            ctms[-1] = _multiply(tuple(float(v) for v in operands), ctms[-1])
        elif op == "Tr" and operands:
            modes[-1] = int(operands[0])
        elif op in _SHOWING and modes[-1] not in _INVISIBLE_MODES:
            seen_visible = True
        elif op == "Do" and operands:
            xobject = xobjects.get(operands[0])
            if not isinstance(xobject, pikepdf.Stream):
                continue
            if xobject.get(Name.Subtype) == Name.Image:
                if seen_visible and depth == 0 and _covers(xobject, ctms[-1], box):
                    seen_visible = False  # the text drawn so far lies under the scan
            elif xobject.get(Name.Subtype) == Name.Form and depth < _FORM_DEPTH and xobject.objgen not in seen:
                seen.add(xobject.objgen)
                form = pikepdf.parse_content_stream(xobject)
                if _shows_visible_text(form, xobject.get(Name.Resources), box, modes[-1], depth + 1, seen):
                    seen_visible = True
    return seen_visible


def _covers(image: pikepdf.Stream, ctm: tuple, box: tuple) -> bool:
    """An opaque image drawn upright over most of the page box."""
    if any(key in image for key in (Name.SMask, Name.Mask)) or image.get(Name.ImageMask, False):
        return False
    a, b, c, d, e, f = ctm
    if abs(b) > 1e-6 or abs(c) > 1e-6:
        return False
    x0, x1 = sorted((e, e + a))
    y0, y1 = sorted((f, f + d))
    bx0, by0, bx1, by1 = box
    overlap = max(0.0, min(x1, bx1) - max(x0, bx0)) * max(0.0, min(y1, by1) - max(y0, by0))
    area = (bx1 - bx0) * (by1 - by0)
    return area > 0 and overlap >= _COVERING * area


def _multiply(m: tuple, n: tuple) -> tuple:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + b * c2, a * b2 + b * d2, c * a2 + d * c2, c * b2 + d * d2,
            e * a2 + f * c2 + e2, e * b2 + f * d2 + f2)


def strip_invisible_text(page: pikepdf.Page) -> bool:
    """Take a scanner's OCR layer out of the page (and the forms it draws), with the fonts
    only it used. Returns False, leaving the page unchanged, when the page shows text: that
    text is part of what the page looks like (the caller keeps it, or rasterises the page)."""
    if text_layer_kind(page) != INVISIBLE:
        return False
    page.contents_coalesce()
    kept = _without_text(pikepdf.parse_content_stream(page))
    page.obj.Contents.write(pikepdf.unparse_content_stream(kept))
    page.obj.Resources = _without_unused_fonts(page.resources, kept)
    _strip_forms(page.resources, 0, set())
    return True


def _strip_forms(resources, depth: int, seen: set) -> None:
    if depth >= _FORM_DEPTH or not isinstance(resources, pikepdf.Dictionary):
        return
    for xobject in resources.get(Name.XObject, {}).values():
        if not isinstance(xobject, pikepdf.Stream) or xobject.get(Name.Subtype) != Name.Form:
            continue
        if xobject.objgen in seen:
            continue
        seen.add(xobject.objgen)
        instructions = pikepdf.parse_content_stream(xobject)
        if any(str(op) in _SHOWING for _, op in instructions):
            kept = _without_text(instructions)
            xobject.write(pikepdf.unparse_content_stream(kept))
            if Name.Resources in xobject:
                xobject.Resources = _without_unused_fonts(xobject.Resources, kept)
        _strip_forms(xobject.get(Name.Resources), depth + 1, seen)


def _without_text(instructions) -> list:
    """The instructions less every text object's text operators."""
    kept = []
    inside = False
    for operands, operator in instructions:
        op = str(operator)
        if op == "BT":
            inside = True
        elif op == "ET":
            inside = False
        elif not (inside and op in _TEXT_ONLY) and op not in _SHOWING:
            kept.append(pikepdf.ContentStreamInstruction(operands, operator))
    return kept


def _without_unused_fonts(resources: pikepdf.Dictionary, kept: list) -> pikepdf.Dictionary:
    """A copy of the resources whose /Font names only the fonts still selected. A copy:
    the dictionary may be shared with pages that still use those fonts."""
    used = {str(operands[0]) for operands, operator in kept if str(operator) == "Tf" and operands}
    copy = pikepdf.Dictionary({key: value for key, value in resources.items()})
    fonts = resources.get(Name.Font)
    if isinstance(fonts, pikepdf.Dictionary):
        remaining = {name: font for name, font in fonts.items() if str(name) in used}
        if remaining:
            copy.Font = pikepdf.Dictionary(remaining)
        else:
            del copy.Font
    return copy
