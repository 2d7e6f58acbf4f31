"""The look of the agency's signature on a digitised copy (Nghị định 30/2020, Phụ lục I).

No image: a text block on page 1 with the agency's name and the signing time in ISO 8601
with the Vietnam offset (2026-11-22T10:15:00+07:00), 10 pt, black, in a Times-metric font
that has every Vietnamese letter.

Where: never over what the page shows. Page 1 is rendered at 72 dpi as displayed (its
/Rotate applied, scan and all) and the block goes to the first corner, in the order top
right (where Nghị định 30 shows it), top left, bottom right, bottom left, with room for it
in the margin there: no ink under it or within 3 pt around it, and none between it and
the sheet's edge above (top corners) or below (bottom corners), so it sits beside the
text rather than in a gap between two of its lines; inside the sheet (5 mm from its
edges), as near that corner as the ink allows. Then a side margin; a page inked
everywhere gets its least inked place. A long agency name is broken into lines no wider
than half the page. The block is drawn upright as the page is displayed: on a page
turned by /Rotate its appearance is turned back by its /Matrix, so a page sohoa set
upright shows the block upright too, and a sideways page is not clipped.

Not part of the document's text: the block is the signature's appearance, an artifact
(/Artifact marked content), and its spans carry an empty /ActualText, so text extraction
(poppler's pdftotext, viewers' copy) leaves it out of the page's text; its glyphs still
map to Unicode, as PDF/A-2u wants.

The font is Liberation Serif 2 (Debian fonts-liberation2, metric-compatible with Times New
Roman). pyHanko writes glyph widths in font units as if every font had 1000 units per em,
so a 2048-unit TrueType font comes out twice as wide; the font is therefore derived once,
with fontTools, into a Latin + Vietnamese subset scaled to 1000 units per em, kept in the
data home.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pikepdf
from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.ttLib.scaleUpem import scale_upem
from pdf2image import convert_from_bytes
from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.layout import AxisAlignment, BoxConstraints, InnerScaling, Margins, SimpleBoxLayoutRule
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.stamp import TextStamp, TextStampStyle

from core.clock import in_vietnam
from core.pdf.pages import page_geometry
from signing.errors import SigningConfigError

FONT_SIZE = 10  # pt, Nghị định 30
LEADING = 12  # pt between the block's lines
SOURCE_FONT = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")
DERIVED_FONT_NAME = "sohoa-appearance-LiberationSerif-1000upm.ttf"
_MM = 72 / 25.4
RIGHT_MARGIN = 15 * _MM  # the smallest right margin Nghị định 30 allows
TOP_OFFSET = 5 * _MM  # inside the 20-25 mm top margin, above the Quốc hiệu
EDGE = 5 * _MM  # the block stays this far inside the sheet
PADDING = 2.0
CLEARANCE = 3.0  # pt of white kept between the block and the page's ink
INK = 170  # grey level under which a pixel of the 72-dpi rendering is ink
SPECKS = 0.001  # share of the block's area that may be dust and still count as empty
_SAMPLE_TIME = "2026-11-22T10:15:00+07:00"  # every digit of Liberation Serif has one width

# Basic Latin, Latin-1, Latin Extended-A/B (Ă Đ Ơ Ư ...), combining marks, Vietnamese
# precomposed letters, dashes and quotes, №.
_UNICODES = [
    *range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x300, 0x324), *range(0x1EA0, 0x1EFA),
    *range(0x2010, 0x2027), 0x2116,
]


def appearance_font(font_dir: Path) -> Path:
    """The derived font, made on first use (atomically: several workers may race)."""
    target = font_dir / DERIVED_FONT_NAME
    if target.is_file():
        return target
    if not SOURCE_FONT.is_file():
        raise SigningConfigError(f"thiếu phông {SOURCE_FONT} (gói Debian fonts-liberation2)")
    font = TTFont(SOURCE_FONT)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.layout_features = ["*"]
    options.drop_tables += ["FFTM"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=_UNICODES)
    subsetter.subset(font)
    scale_upem(font, 1000)
    font_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    font.save(tmp)
    os.replace(tmp, target)
    return target


@lru_cache(maxsize=4)
def _font_bytes(path: Path) -> bytes:
    return path.read_bytes()


@lru_cache(maxsize=4)
def _font_metrics(path: Path) -> tuple[dict[int, str], dict[str, int]]:
    font = TTFont(io.BytesIO(_font_bytes(path)))
    return dict(font.getBestCmap()), {name: advance for name, (advance, _) in font["hmtx"].metrics.items()}


def missing_characters(text: str, font_path: Path) -> str:
    cmap, _ = _font_metrics(font_path)
    return "".join(sorted({c for c in text if ord(c) not in cmap and not c.isspace()}))


def text_width(text: str, font_path: Path, size: float = FONT_SIZE) -> float:
    cmap, advances = _font_metrics(font_path)
    return sum(advances[cmap[ord(c)]] for c in text if ord(c) in cmap) / 1000 * size


class _BfcharGlyphAccumulator(GlyphAccumulator):
    """pyHanko writes consecutive CIDs of its ToUnicode map as `bfrange` lines with arrays
    of targets. That form is valid PDF, but the `page` PDF/A validator calls it malformed;
    single `bfchar` lines say the same and every reader and validator accepts them."""

    def marked_content_property_list(self, txt):
        # An empty ActualText: text extraction takes nothing from the block (see the module).
        return generic.DictionaryObject({generic.NameObject("/ActualText"): generic.TextStringObject("")})

    def _format_tounicode_cmap(self):
        header = (
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        )
        pairs = sorted(self._cid_to_unicode.items())
        blocks = []
        for start in range(0, len(pairs), 100):  # at most 100 entries per block
            chunk = pairs[start:start + 100]
            lines = [f"<{cid:04x}> <{text.encode('utf-16be').hex()}>" for cid, text in chunk]
            blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(lines) + "\nendbfchar\n")
        footer = "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
        stream = generic.StreamObject(stream_data=(header + "".join(blocks) + footer).encode("ascii"))
        stream.compress()
        return stream


@dataclass(frozen=True)
class _FontFactory(GlyphAccumulatorFactory):
    """Reads the font from memory (pyHanko's factory opens the file for every signature
    and never closes it)."""

    def create_font_engine(self, writer, obj_stream=None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return _BfcharGlyphAccumulator(
            writer=writer,
            font_handle=io.BytesIO(_font_bytes(Path(self.font_file))),
            font_size=self.font_size,
            ot_script_tag=self.ot_script_tag,
            ot_language_tag=self.ot_language_tag,
            writing_direction=self.writing_direction,
            bcp47_lang_code=self.bcp47_lang_code,
            obj_stream=obj_stream,
        )


@dataclass(frozen=True)
class Nd30StampStyle(TextStampStyle):
    """pyHanko fills `ts` with its own signing time, formatted by timestamp_format in the
    machine's zone; the block shows that same instant in ISO 8601 with +07:00. rotation is
    the page's /Rotate: the block is laid out as displayed and turned back to user space.
    agency: the agency's name broken into the lines that fit the page (place_block)."""

    timestamp_format: str = "%Y-%m-%dT%H:%M:%S%z"
    rotation: int = 0
    agency: str | None = None

    def create_stamp(self, writer, box, text_params):
        signed_at = dt.datetime.strptime(text_params["ts"], self.timestamp_format)
        shown = dict(text_params, ts=in_vietnam(signed_at))
        if self.agency is not None:
            shown["agency"] = self.agency
        if self.rotation in (90, 270):  # the widget's rectangle is the displayed block on its side
            box = BoxConstraints(width=box.height, height=box.width)
        return _Nd30Stamp(writer=writer, style=self, box=box, text_params=shown)


class _Nd30Stamp(TextStamp):
    def render(self):
        return b"/Artifact BMC " + super().render() + b" EMC"

    def as_form_xobject(self):
        form = super().as_form_xobject()
        width, height = self.box.width, self.box.height
        turn = {90: (0, 1, -1, 0, height, 0), 180: (-1, 0, 0, -1, width, height),
                270: (0, -1, 1, 0, 0, width)}.get(self.style.rotation)
        if turn is not None:  # counter-clockwise by /Rotate, so the page's turn sets it upright
            form[generic.NameObject("/Matrix")] = generic.ArrayObject(generic.FloatObject(v) for v in turn)
        return form


def stamp_style(font_path: Path) -> Nd30StampStyle:
    return Nd30StampStyle(
        stamp_text="%(agency)s\n%(ts)s",
        border_width=0,
        background=None,
        text_box_style=TextBoxStyle(
            font=_FontFactory(str(font_path), font_size=FONT_SIZE), font_size=FONT_SIZE, leading=LEADING,
            # pyHanko's default 10 pt inner margin would make the text shrink to fit the box
            box_layout_rule=SimpleBoxLayoutRule(
                x_align=AxisAlignment.ALIGN_MIN, y_align=AxisAlignment.ALIGN_MAX, margins=Margins.uniform(0),
                inner_content_scaling=InnerScaling.NO_SCALING,
            ),
        ),
        # 10 pt exactly, never scaled: the box is sized to the text by block_box()
        inner_content_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MAX, y_align=AxisAlignment.ALIGN_MAX, margins=Margins.uniform(PADDING),
            inner_content_scaling=InnerScaling.NO_SCALING,
        ),
    )


def agency_lines(agency_name: str, font_path: Path, page_width: float) -> list[str]:
    """The agency's name in lines no wider than half the page (a long name would cross the
    page or run off it), broken between words, inside a word only if it alone is wider."""
    limit = max(page_width / 2, text_width(_SAMPLE_TIME, font_path), 1.0)
    limit = min(limit, max(page_width - 2 * EDGE - 2 * PADDING - 1, 1.0))
    lines: list[str] = []
    for word in agency_name.split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and text_width(joined, font_path) <= limit:
            lines[-1] = joined
            continue
        lines.append("")
        for char in word:
            if lines[-1] and text_width(lines[-1] + char, font_path) > limit:
                lines.append("")
            lines[-1] += char
    return lines or [""]


def block_size(lines: list[str], font_path: Path) -> tuple[float, float]:
    """Width and height of the block (the agency's lines, then the time) as displayed, in points."""
    width = max(text_width(line, font_path) for line in [*lines, _SAMPLE_TIME]) + 2 * PADDING + 1
    return width, (len(lines) + 1) * LEADING + 2 * PADDING + 2


def block_box(page_box: tuple[float, float, float, float], rotate: int, size: tuple[float, float],
              shown_at: tuple[float, float] | None = None) -> tuple[float, float, float, float]:
    """The block's rectangle in user space. shown_at: its top left corner on the page as
    displayed (points from the displayed page's top left); by default the top right."""
    width, height = size
    x0, y0, x1, y1 = page_box
    # Displayed rectangle, origin bottom-left of the displayed page.
    shown_width, shown_height = (y1 - y0, x1 - x0) if rotate in (90, 270) else (x1 - x0, y1 - y0)
    if shown_at is None:
        left = max(shown_width - RIGHT_MARGIN - width, 0)
        bottom = max(shown_height - TOP_OFFSET - height, 0)
    else:
        left, bottom = shown_at[0], shown_height - shown_at[1] - height
    corners = [(left, bottom), (left + width, bottom + height)]
    mapped = [_displayed_to_user(x, y, page_box, rotate) for x, y in corners]
    xs, ys = [p[0] for p in mapped], [p[1] for p in mapped]
    return (min(xs), min(ys), max(xs), max(ys))


def emptiest_place(grey: np.ndarray, size: tuple[float, float]) -> tuple[int, int]:
    """Top left corner (pixels of grey, y down) for a block of size (pixels) on the page
    grey shows (1 pixel about 1 point): see the module's docstring."""
    height, width = grey.shape
    block_w, block_h = (int(np.ceil(v)) for v in size)
    edge = int(EDGE)
    if block_w + 2 * edge > width or block_h + 2 * edge > height:
        edge = 0  # a small sheet: inside it, however near its edge
    sums = np.pad((grey < INK).astype(np.int32).cumsum(0).cumsum(1), ((1, 0), (1, 0)))

    def ink(top, left, bottom, right):  # ink in rows top..bottom, columns left..right (clipped)
        top, bottom = np.clip(top, 0, height), np.clip(bottom, 0, height)
        left, right = np.clip(left, 0, width), np.clip(right, 0, width)
        bottom, right = np.maximum(bottom, top), np.maximum(right, left)
        return sums[bottom, right] - sums[top, right] - sums[bottom, left] + sums[top, left]

    x = np.arange(edge, max(edge, width - edge - block_w) + 1)[None, :]
    y = np.arange(edge, max(edge, height - edge - block_h) + 1)[:, None]
    clear, specks = int(CLEARANCE), SPECKS * block_w * block_h
    under = ink(y - clear, x - clear, y + block_h + clear, x + block_w + clear)
    # In a margin: nothing between the block and the sheet's edge on that side, so the
    # block sits beside the page's text, not in a gap between its lines.
    free = {"top": ink(edge, x, y - clear, x + block_w) <= specks,
            "bottom": ink(y + block_h + clear, x, height - edge, x + block_w) <= specks,
            "left": ink(y, edge, y + block_h, x - clear) <= specks,
            "right": ink(y, x + block_w + clear, y + block_h, width - edge) <= specks}
    empty = under <= specks
    right_x = max(edge, min(width - edge - block_w, width - int(RIGHT_MARGIN) - block_w))
    left_x = min(max(edge, int(RIGHT_MARGIN)), width - edge - block_w)
    top_y, bottom_y = edge, max(edge, height - edge - block_h)
    # Top right first (Nghị định 30), then the other corners, in the top or bottom margin
    # (nothing between the block and the sheet's edge above, or below, it), in the half of
    # the page on that corner's side; then beside the text, in a side margin.
    right_half, left_half = x + block_w / 2 >= width / 2, x + block_w / 2 <= width / 2
    places = [(free["top"] & right_half, right_x, top_y), (free["top"] & left_half, left_x, top_y),
              (free["bottom"] & right_half, right_x, bottom_y), (free["bottom"] & left_half, left_x, bottom_y),
              (free["right"], right_x, top_y), (free["left"], left_x, top_y)]
    for margin, corner_x, corner_y in places:
        zone = empty & margin
        if zone.any():
            distance = np.hypot(x - corner_x, y - corner_y)
            row, column = np.unravel_index(np.where(zone, distance, np.inf).argmin(), zone.shape)
            return int(x[0, column]), int(y[row, 0])
    # Ink everywhere: the least inked place, the nearest the top right among equals.
    distance = np.broadcast_to(np.hypot(x - right_x, y - top_y), under.shape)
    row, column = np.unravel_index(np.lexsort((distance.ravel(), under.ravel()))[0], under.shape)
    return int(x[0, column]), int(y[row, 0])


def place_block(data: bytes, agency_name: str, font_path: Path, style: Nd30StampStyle,
                ) -> tuple[tuple[float, float, float, float], Nd30StampStyle]:
    """Where the block goes on page 1 of the PDF data (user space) and the style that draws
    it upright there."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        geometry = page_geometry(pdf.pages[0])
    shown_width, _ = geometry.displayed_size
    lines = agency_lines(agency_name, font_path, shown_width)
    style = dataclasses.replace(style, rotation=geometry.rotate, agency="\n".join(lines))
    size = block_size(lines, font_path)
    try:
        (image,) = convert_from_bytes(data, dpi=72, first_page=1, last_page=1, grayscale=True,
                                      use_cropbox=True)
    except (PDFPageCountError, PDFSyntaxError, PDFInfoNotInstalledError, ValueError):
        # No rendering (poppler missing or the page unreadable to it): the default place.
        return block_box(geometry.box, geometry.rotate, size), style
    scale = image.width / shown_width  # pixels per point, about 1
    left, top = emptiest_place(np.asarray(image), (size[0] * scale, size[1] * scale))
    return block_box(geometry.box, geometry.rotate, size, (left / scale, top / scale)), style


def _displayed_to_user(x: float, y: float, box, rotate: int) -> tuple[float, float]:
    x0, y0, x1, y1 = box
    if rotate == 90:  # shown turned clockwise: the user-space top edge is on the right
        return x1 - y, y0 + x
    if rotate == 180:
        return x1 - x, y1 - y
    if rotate == 270:
        return x0 + y, y1 - x
    return x0 + x, y0 + y
