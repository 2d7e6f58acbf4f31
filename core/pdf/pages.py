"""What is on a PDF page: the resolution of its scan image, and whether it already has text."""

from __future__ import annotations

import io
import math
from collections import deque
from dataclasses import dataclass

import pikepdf
from pikepdf import Name
from PIL import Image

from core.pdf.streamsize import decoded_size

_TEXT_SHOWING = {"Tj", "TJ", "'", '"'}
_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
# Forms drawn by forms drawn by the page ...: deeper than this is not a scanner's or an
# office program's page, and poppler would stop there too.
_FORM_DEPTH = 8
# A page's drawing is edited (an old OCR text layer taken out) as a list of instructions,
# some 200 bytes of memory for each byte of drawing; an OCR text layer is tens of KB.
_EDITABLE_DRAWING = 4 << 20
# The drawing of a page that is one scan: `q 595 0 0 842 0 0 cm /Im0 Do Q`, some 40 bytes.
_ONE_IMAGE_DRAWING = 4096


@dataclass(frozen=True)
class PageGeometry:
    box: tuple[float, float, float, float]  # the crop box viewers and pdftoppm show, user space
    rotate: int  # /Rotate, 0/90/180/270

    @property
    def displayed_size(self) -> tuple[float, float]:
        """Width and height in points of the page as displayed, after /Rotate."""
        x0, y0, x1, y1 = self.box
        width, height = x1 - x0, y1 - y0
        return (height, width) if self.rotate in (90, 270) else (width, height)


def page_geometry(page: pikepdf.Page) -> PageGeometry:
    box = page.cropbox if Name.CropBox in page.obj else page.mediabox
    x0, y0, x1, y1 = (float(v) for v in box)
    rotate = int(page.obj.get(Name.Rotate, 0)) % 360
    return PageGeometry(box=(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), rotate=rotate)


def _multiply(m: tuple, n: tuple) -> tuple:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def drawing_size(page: pikepdf.Page, limit: int) -> int:
    """Decoded bytes of what the page's drawing instructions are: its content streams and
    the forms they draw (each form once), counted without decoding them whole; the count
    stops once past limit. What every reader of the page (qpdf, pikepdf, poppler) would
    first decode in memory, so a decompression bomb is found before any of them runs."""
    streams = []
    contents = page.obj.get(Name.Contents)
    for stream in contents if isinstance(contents, pikepdf.Array) else [contents]:
        if isinstance(stream, pikepdf.Stream):
            streams.append(stream)
    seen: set[tuple[int, int]] = set()
    _forms(page.obj.get(Name.Resources), streams, seen, depth=0)
    total = 0
    for stream in streams:
        total += decoded_size(stream, limit - total)
        if total > limit:
            break
    return total


def _forms(resources, found: list, seen: set, depth: int) -> None:
    if not isinstance(resources, pikepdf.Dictionary) or depth >= _FORM_DEPTH:
        return
    xobjects = resources.get(Name.XObject)
    if not isinstance(xobjects, pikepdf.Dictionary):
        return
    for xobject in xobjects.values():
        if not isinstance(xobject, pikepdf.Stream) or xobject.get(Name.Subtype) != Name.Form:
            continue
        if xobject.objgen in seen:
            continue
        seen.add(xobject.objgen)
        found.append(xobject)
        _forms(xobject.get(Name.Resources), found, seen, depth + 1)


class Enough(Exception):
    """Raised by a visitor of walk() that has seen what it needed."""


class _Instructions(pikepdf.StreamParser):
    """Each instruction of a content stream in turn, none of them kept: as
    pikepdf.parse_content_stream's list, 4 MB of `q Q` are 2 million instructions and 800 MB.
    Operands past the last eight are dropped: no operator looked at here takes more."""

    def __init__(self, operators: set[str] | None, visit):
        super().__init__()
        self.operators = operators
        self.visit = visit
        self.operands = deque(maxlen=8)

    def handle_object(self, obj, *position) -> None:
        if isinstance(obj, pikepdf.Operator):
            op = str(obj)
            if self.operators is None or op in self.operators:
                self.visit(op, list(self.operands))
            self.operands.clear()
        else:
            self.operands.append(obj)

    def handle_eof(self) -> None:
        pass


def walk(page_or_form, visit, operators: set[str] | None = None) -> None:
    """visit(operator, operands) for each instruction of a page's or a form's content (those
    in operators only, if given), in order, until visit raises Enough."""
    parser = _Instructions(operators, visit)
    try:
        if isinstance(page_or_form, pikepdf.Page):
            page_or_form.parse_contents(parser)
        else:
            pikepdf.Object._parse_stream(page_or_form, parser)
    except Enough:
        pass


def _operations(page: pikepdf.Page, visit, operators: set[str] | None = None) -> None:
    """visit(operator, operands, current transformation matrix) for each operation of the
    page's content other than q, Q and cm, which only move the matrix; operators limits
    the parse (give q, Q and cm with the others)."""
    stack = [_IDENTITY]

    def step(op: str, operands: list) -> None:
        if op == "q":
            stack.append(stack[-1])
        elif op == "Q":
            if len(stack) > 1:
                stack.pop()
            else:
                stack[0] = _IDENTITY
        elif op == "cm":
            stack[-1] = _multiply(tuple(float(v) for v in operands), stack[-1])
        else:
            visit(op, operands, stack[-1])

    walk(page, step, operators)


def image_dpi(page: pikepdf.Page) -> float | None:
    """The resolution of the page's largest drawn image, in dots per inch.

    A scan PDF draws one image over the page; rasterising the page at that image's own
    resolution gives Tesseract exactly the scanned pixels, no more and no fewer. Of several
    images (an MRC page: a 150 dpi background and a 300 dpi text mask over the same area)
    the finest of those covering the most of the page; a small image drawn on a speck (a
    stray mask of 6000 x 1000 pixels over 30 x 5 points is 14 400 dpi) does not set it.
    """
    xobjects = page.resources.get(Name.XObject, {})
    drawn_images = []  # (area in square inches, dpi)

    def drawn(op: str, operands: list, ctm: tuple) -> None:
        xobject = xobjects.get(operands[0]) if operands else None
        if xobject is None or xobject.get(Name.Subtype) != Name.Image:
            return
        width_in = math.hypot(ctm[0], ctm[1]) / 72
        height_in = math.hypot(ctm[2], ctm[3]) / 72
        if width_in > 0 and height_in > 0:
            dpi = max(int(xobject.Width) / width_in, int(xobject.Height) / height_in)
            drawn_images.append((width_in * height_in, dpi))

    _operations(page, drawn, {"q", "Q", "cm", "Do"})
    if not drawn_images:
        return None
    largest = max(area for area, _ in drawn_images)
    # Images covering (nearly) as much as the largest: the finest of them, as before.
    return max(dpi for area, dpi in drawn_images if area >= largest * 0.5)


_JPEG_COLOUR_SPACES = {Name.DeviceGray, Name.DeviceRGB}


def is_jpeg_stream(image: pikepdf.Object) -> bool:
    """Is the stream's data a JPEG file as it is (DCTDecode its only filter)?"""
    return image.get(Name.Filter) in (Name.DCTDecode, pikepdf.Array([Name.DCTDecode]))


def full_page_jpeg(page: pikepdf.Page) -> bytes | None:
    """The JPEG bytes of a page that is nothing but one JPEG scan covering it, upright.

    That is how scanners and img2pdf write a page: Tesseract can read those bytes as the
    scan itself, decoded once, instead of a poppler rendering of the page (another process,
    another decode, a raw bitmap written and read back). Anything else on the page, a
    colour space or decode array poppler would apply, a mask, a flip, returns None.
    """
    if page_geometry(page).rotate or drawing_size(page, _ONE_IMAGE_DRAWING) > _ONE_IMAGE_DRAWING:
        return None
    xobjects = page.resources.get(Name.XObject, {})
    drawn = []

    def draws(op: str, operands: list, ctm: tuple) -> None:
        drawn.append((xobjects.get(operands[0]) if op == "Do" and operands else None, ctm))
        if drawn[-1][0] is None or len(drawn) > 1:
            raise Enough  # something else than one image is drawn

    _operations(page, draws)
    if len(drawn) != 1 or drawn[0][0] is None:
        return None
    image, (a, b, c, d, e, f) = drawn[0]
    x0, y0, x1, y1 = page_geometry(page).box
    covers = b == 0 and c == 0 and all(abs(u - v) < 0.5 for u, v in ((a, x1 - x0), (d, y1 - y0), (e, x0), (f, y0)))
    plain_jpeg = (
        image.get(Name.Subtype) == Name.Image
        and is_jpeg_stream(image)
        and image.get(Name.ColorSpace) in _JPEG_COLOUR_SPACES
        and int(image.get(Name.BitsPerComponent, 8)) == 8
        and not any(key in image for key in (Name.Decode, Name.SMask, Name.Mask, Name.DecodeParms))
    )
    if not (covers and plain_jpeg):
        return None
    data = image.read_raw_bytes()
    try:
        with Image.open(io.BytesIO(data)) as header:  # reads the JPEG's header only
            same_size = header.format == "JPEG" and header.size == (int(image.Width), int(image.Height))
    except (OSError, SyntaxError, ValueError):
        return None
    return data if same_size else None


def has_text(page: pikepdf.Page) -> bool:
    """True when the page (or a form it draws) shows text: a text layer is already there."""
    return _shows_text(page, depth=0, seen=set())


def _shows_text(obj, depth: int, seen: set) -> bool:
    shown = []

    def text(op: str, operands: list) -> None:
        shown.append(op)
        raise Enough

    walk(obj, text, _TEXT_SHOWING)
    if shown:
        return True
    if depth >= 3:
        return False
    resources = obj.get(Name.Resources) if not isinstance(obj, pikepdf.Page) else obj.resources
    for xobject in (resources or {}).get(Name.XObject, {}).values():
        if xobject.get(Name.Subtype) != Name.Form or xobject.objgen in seen:
            continue  # a form named a thousand times is read once
        seen.add(xobject.objgen)
        if _shows_text(xobject, depth + 1, seen):
            return True
    return False


def strip_invisible_text(page: pikepdf.Page) -> bool:
    """Remove an OCR text layer (text drawn invisibly, render mode 3) from the page.

    Returns False, leaving the page unchanged, when the page shows visible text: that text
    is part of what the page looks like and must not be dropped. So does a page whose
    drawing is too big to hold as a list of instructions: it is rasterised instead.
    """
    if drawing_size(page, _EDITABLE_DRAWING) > _EDITABLE_DRAWING:
        return False
    kept = []
    block: list | None = None
    block_visible = False
    render_mode = 0
    for operands, operator in pikepdf.parse_content_stream(page):
        op = str(operator)
        if op == "BT":
            block, block_visible = [(operands, operator)], False
            continue
        if block is None:
            kept.append((operands, operator))
            continue
        block.append((operands, operator))
        if op == "Tr":
            render_mode = int(operands[0])
        elif op in _TEXT_SHOWING and render_mode != 3:
            block_visible = True
        elif op == "ET":
            if block_visible:
                return False
            block = None
    page.contents_coalesce()
    page.obj.Contents.write(pikepdf.unparse_content_stream(kept))
    return True
