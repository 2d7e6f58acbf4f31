"""The look of the agency's signature on a digitised copy (Nghị định 30/2020, Phụ lục I).

No image: a text block at the top right of page 1 with the agency's name and the signing
time in ISO 8601 with the Vietnam offset (2026-11-22T10:15:00+07:00), 10 pt, upright,
black, in a Times-metric font that has every Vietnamese letter.

The font is Liberation Serif 2 (Debian fonts-liberation2, metric-compatible with Times New
Roman). pyHanko writes glyph widths in font units as if every font had 1000 units per em,
so a 2048-unit TrueType font comes out twice as wide; the font is therefore derived once,
with fontTools, into a Latin + Vietnamese subset scaled to 1000 units per em, kept in the
data home.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.ttLib.scaleUpem import scale_upem
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.layout import AxisAlignment, InnerScaling, Margins, SimpleBoxLayoutRule
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.stamp import TextStampStyle

from signing.errors import SigningConfigError

VIETNAM = dt.timezone(dt.timedelta(hours=7))
FONT_SIZE = 10  # pt, Nghị định 30
LEADING = 12  # pt between the block's lines
SOURCE_FONT = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")
DERIVED_FONT_NAME = "sohoa-appearance-LiberationSerif-1000upm.ttf"
_MM = 72 / 25.4
RIGHT_MARGIN = 15 * _MM  # the smallest right margin Nghị định 30 allows
TOP_OFFSET = 5 * _MM  # inside the 20-25 mm top margin, above the Quốc hiệu
PADDING = 2.0
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
    machine's zone; the block shows that same instant in ISO 8601 with +07:00."""

    timestamp_format: str = "%Y-%m-%dT%H:%M:%S%z"

    def create_stamp(self, writer, box, text_params):
        signed_at = dt.datetime.strptime(text_params["ts"], self.timestamp_format)
        shown = dict(text_params, ts=signed_at.astimezone(VIETNAM).isoformat(timespec="seconds"))
        return super().create_stamp(writer, box, shown)


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


def block_box(page_box: tuple[float, float, float, float], rotate: int, agency_name: str,
              font_path: Path) -> tuple[float, float, float, float]:
    """The block's rectangle in user space: at the top right of the page as displayed."""
    width = max(text_width(agency_name, font_path), text_width(_SAMPLE_TIME, font_path)) + 2 * PADDING + 1
    height = 2 * LEADING + 2 * PADDING + 2
    x0, y0, x1, y1 = page_box
    # Displayed rectangle, origin bottom-left of the displayed page.
    shown_width, shown_height = (y1 - y0, x1 - x0) if rotate in (90, 270) else (x1 - x0, y1 - y0)
    left = max(shown_width - RIGHT_MARGIN - width, 0)
    bottom = max(shown_height - TOP_OFFSET - height, 0)
    corners = [(left, bottom), (left + width, bottom + height)]
    mapped = [_displayed_to_user(x, y, page_box, rotate) for x, y in corners]
    xs, ys = [p[0] for p in mapped], [p[1] for p in mapped]
    return (min(xs), min(ys), max(xs), max(ys))


def _displayed_to_user(x: float, y: float, box, rotate: int) -> tuple[float, float]:
    x0, y0, x1, y1 = box
    if rotate == 90:  # shown turned clockwise: the user-space top edge is on the right
        return x1 - y, y0 + x
    if rotate == 180:
        return x1 - x, y1 - y
    if rotate == 270:
        return x0 + y, y1 - x
    return x0 + x, y0 + y
