"""Where things are on the page: OCR words on the upright page, and the zones of the layout.

Nghị định 30 (Phụ lục I) fixes the zones: at the top of page 1 two columns — the issuing
body, number and (for a công văn) the `V/v` summary on the left; Quốc hiệu, tiêu ngữ, place
and date on the right; under them, centred, the type heading and the summary; at the end of
the last page `Nơi nhận` bottom left and the signer bottom right.

Tesseract often reads a row of both columns as one line ("SỞ NỘI VỤ Độc lập - Tự do ..."),
so columns are split word by word, at the x where the right column starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from statistics import median

from core.ocr_results import Box, OcrPage
from header.text import fold_letters, is_noise, is_upper_text, matches_phrase, similar, vietnamese_letters
from header.vocabulary import AUTHORITY_PREFIXES, CAPITALS

QUOC_HIEU = tuple("cong hoa xa hoi chu nghia viet nam".split())
TIEU_NGU = tuple("doc lap tu do hanh phuc".split())
DATE_WORDS = ("ngay", "thang", "nam")


@dataclass(frozen=True)
class Word:
    """A word as OCR read it. Zones are found on `box`, in the OCR copy (upright and
    deskewed, so lines are level); fields report `page_box`, on the page as displayed."""

    text: str
    box: Box  # pixels of the OCR copy
    confidence: float  # 0-1
    page_box: Box  # pixels of the page as displayed upright

    @property
    def centre(self) -> float:
        return (self.box[0] + self.box[2]) / 2


@dataclass(frozen=True)
class Row:
    """Words of one OCR line, or of one column's part of it, left to right."""

    page: int  # 1-based
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    @property
    def box(self) -> Box:
        return (min(w.box[0] for w in self.words), min(w.box[1] for w in self.words),
                max(w.box[2] for w in self.words), max(w.box[3] for w in self.words))

    @property
    def left(self) -> int:
        return self.box[0]

    @property
    def right(self) -> int:
        return self.box[2]

    @property
    def top(self) -> int:
        return self.box[1]

    @property
    def bottom(self) -> int:
        return self.box[3]

    @property
    def height(self) -> int:
        return max(1, self.bottom - self.top)

    @property
    def centre(self) -> float:
        return (self.left + self.right) / 2

    def split(self, x: float) -> tuple[Row | None, Row | None]:
        """(words centred left of x, words centred right of it)."""
        left = tuple(w for w in self.words if w.centre < x)
        right = tuple(w for w in self.words if w.centre >= x)
        return (Row(self.page, left) if left else None, Row(self.page, right) if right else None)

    def after(self, index: int) -> Row | None:
        rest = self.words[index:]
        return Row(self.page, rest) if rest else None


@dataclass(frozen=True)
class PageText:
    number: int  # 1-based
    width: int
    height: int
    rows: tuple[Row, ...]  # top to bottom
    left: float  # where the text lines start and end (the page's text area)
    right: float

    @property
    def middle(self) -> float:
        return (self.left + self.right) / 2


def _to_page(box: Box, affine: tuple[float, ...]) -> Box:
    a, b, c, d, e, f = affine
    xs, ys = [], []
    for x, y in ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])):
        xs.append(a * x + b * y + c)
        ys.append(d * x + e * y + f)
    return round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys))


def page_text(page: OcrPage, number: int) -> PageText:
    """The OCR lines of a page as rows of words, top to bottom; pieces of one visual row
    that OCR returned as separate lines are one row again."""
    rows = []
    for line in page.lines:
        words = tuple(Word(vietnamese_letters(w.text), w.box, max(0.0, w.confidence) / 100,
                           _to_page(w.box, page.to_page))
                      for w in line.words if w.text.strip() and not is_noise(w.text))
        if words:
            rows.append(Row(number, words))
    rows = _join_row_pieces(sorted(rows, key=lambda r: (r.top, r.left)))
    lefts = sorted(r.left for r in rows) or [0]
    rights = sorted(r.right for r in rows) or [page.width]
    # the text area, robust to a stray mark in a margin
    left = lefts[len(lefts) // 10] if len(lefts) >= 10 else lefts[0]
    right = rights[-1 - len(rights) // 10] if len(rights) >= 10 else rights[-1]
    return PageText(number, page.width, page.height, tuple(rows), float(left), float(right))


def _join_row_pieces(rows: list[Row]) -> list[Row]:
    joined: list[Row] = []
    for row in rows:
        for index, other in enumerate(joined):
            overlap = min(other.bottom, row.bottom) - max(other.top, row.top)
            apart = row.left >= other.right or row.right <= other.left
            if apart and overlap > 0.6 * min(other.height, row.height):
                words = tuple(sorted(other.words + row.words, key=lambda w: w.box[0]))
                joined[index] = Row(row.page, words)
                break
        else:
            joined.append(row)
    return sorted(joined, key=lambda r: (r.top, r.left))


# -- the header: top of page 1 -------------------------------------------------------------


@dataclass(frozen=True)
class HeaderZones:
    page: PageText
    split: float  # x where the right column begins
    left: tuple[Row, ...]  # issuing body, number, V/v summary, marks
    right: tuple[Row, ...]  # quốc hiệu, tiêu ngữ, place and date
    below: tuple[Row, ...]  # everything under the header on page 1
    number_row: Row | None  # the left-column row that holds "Số: ..."
    date_rows: tuple[Row, ...]  # the right-column rows that hold place and date
    quoc_hieu_found: bool


def _find_phrase(rows: tuple[Row, ...], phrase: tuple[str, ...], limit: float) -> tuple[Row, int] | None:
    for row in rows:
        if row.top > limit:
            break
        start = matches_phrase([w.text for w in row.words], phrase)
        if start is not None:
            return row, start
    return None


def is_number_label(word: str) -> bool:
    """`Số:` and what OCR makes of it: `S6:`, `Sô:`, `So`, `Sé:`, `56:`."""
    core = word.rstrip(":;.,")
    if not core or len(core) > 3:
        return False
    return fold_letters(core) in {"so", "s6", "s0", "se", "sa", "56", "sd", "s5", "sc", "s"} and core[0] in "Ss5"


def has_number(row: Row) -> bool:
    """`Số: 268/SGTVT-VP` however damaged: a label then digits, or digits then a slash
    (not "SỞ TƯ PHÁP", whose first word folds like the label)."""
    text = row.text
    if row.words and re.match(r"^(?:S\S{0,2}?|56)[:;]", row.words[0].text):
        return True  # `Số:` glued to what OCR made of a handwritten serial: `Số:.Z/`
    if row.words and is_number_label(row.words[0].text):
        following = row.words[1].text if len(row.words) > 1 else ""
        if row.words[0].text.endswith(":") or any(ch.isdigit() for ch in text[:12]) or following.startswith("/"):
            return True
    return "/" in text and any(ch.isdigit() for ch in text.split("/")[0][-4:])


# How the body of a document starts (folded first words), and the words by which a line
# cites another document rather than naming this one.
BODY_OPENINGS = ("can cu", "kinh gui", "hom nay", "thuc hien", "xet de", "theo de", "theo cong van",
                 "theo quyet dinh", "theo chi thi", "theo ke hoach", "dieu 1", "dieu i")
_CITING = ("can cu", "cua", "theo", "vao luc", "hom nay", "tai", "kem theo", "ban hanh")


def _folded_words(row: Row) -> list[str]:
    return [fold_letters(w.text) for w in row.words if fold_letters(w.text)]


def opens_body(row: Row) -> bool:
    words = _folded_words(row)
    return any(words[:len(opening.split())] == opening.split() for opening in BODY_OPENINGS)


def cites(row: Row) -> bool:
    """Words of a citation in the row: `căn cứ`, `của`, `theo`, `vào lúc` ... (a number or
    date with them is another document's, or an event's, never this document's own)."""
    joined = f" {' '.join(_folded_words(row))} "
    return any(f" {cue} " in joined for cue in _CITING)


def has_date_words(row: Row) -> bool:
    words = [fold_letters(w.text) for w in row.words]
    found = sum(any(w == key or (len(w) >= 3 and similar(w, key)) for w in words) for key in DATE_WORDS)
    return found >= 2 or (found == 1 and sum(ch.isdigit() for ch in row.text) >= 4)


def find_header(page: PageText) -> HeaderZones:
    band = page.height * 0.45
    rows = page.rows
    quoc_hieu = _find_phrase(rows, QUOC_HIEU, band)
    tieu_ngu = _find_phrase(rows, TIEU_NGU, band)
    if quoc_hieu is not None:
        row, start = quoc_hieu
        split = row.words[start].box[0] - 0.3 * row.height
    elif tieu_ngu is not None:
        row, start = tieu_ngu
        split = row.words[start].box[0] - 2.0 * row.height
    else:
        split = page.left + 0.45 * (page.right - page.left)
    anchor_top = min((found[0].top for found in (quoc_hieu, tieu_ngu) if found), default=0)
    # The number and the date are the document's own only in the header: a row from the
    # body on ("Căn cứ Quyết định số 2119/2009/QĐ-UB ngày 12/3/2009 của ...") cites another.
    body_top = min((r.top for r in rows if anchor_top <= r.top and opens_body(r)), default=band)

    number_row = date_row = None
    for row in rows:
        if row.top > min(band, body_top - 1) or row.top < anchor_top:
            continue
        left, right = row.split(split)
        if number_row is None and left is not None and has_number(left) and not cites(left):
            number_row = left
        if date_row is None and right is not None and has_date_words(right) and not cites(right):
            date_row = right
    bottoms = [r.bottom for r in (number_row, date_row) if r is not None]
    if not bottoms:
        anchor = tieu_ngu or quoc_hieu
        bottoms = [anchor[0].bottom + 2 * anchor[0].height] if anchor else [int(page.height * 0.2)]
    bottom = max(bottoms)

    # Extend down through rows that stay in one column close under the header: the V/v
    # summary and the marks under the number, the date wrapped under the place.
    header_rows = [r for r in rows if r.top < bottom]
    pitch = median([r.height for r in header_rows]) if header_rows else 30
    last_left = number_row.bottom if number_row else bottom
    last_right = date_row.bottom if date_row else bottom
    for row in rows:
        if row.top < bottom or row in header_rows:
            continue
        left, right = row.split(split)
        if right is None and left is not None and row.top - last_left < 1.3 * pitch and left.right < split:
            header_rows.append(row)
            last_left = row.bottom
        elif left is None and right is not None and row.top - last_right < 1.0 * pitch and date_row is not None \
                and not _date_complete(date_row, header_rows, split):
            header_rows.append(row)
            last_right = row.bottom
        else:
            break
    left_rows, right_rows = [], []
    for row in header_rows:
        left, right = row.split(split)
        if left is not None:
            left_rows.append(left)
        if right is not None:
            right_rows.append(right)
    date_rows = _date_rows(right_rows, date_row, tieu_ngu)
    below = tuple(r for r in rows if r not in header_rows and r.top >= min(r.top for r in header_rows or rows))
    return HeaderZones(page, split, tuple(left_rows), tuple(right_rows), below, number_row,
                       date_rows, quoc_hieu is not None)


def _date_complete(date_row: Row, header_rows: list[Row], split: float) -> bool:
    # "năm 2024" read: the date does not go on
    words = [fold_letters(w.text) for w in date_row.words]
    year_read = sum(ch.isdigit() for ch in date_row.text[-6:]) >= 4
    return year_read and any(similar(w, "nam") or w == "nam" for w in words[-3:])


def _date_rows(right_rows: list[Row], date_row: Row | None, tieu_ngu) -> tuple[Row, ...]:
    """The rows of the right column after the tiêu ngữ: place and date, on one or two rows."""
    if date_row is None:
        return ()
    index = next((i for i, r in enumerate(right_rows) if r.top == date_row.top and r.left == date_row.left), None)
    if index is None:
        return (date_row,)
    chosen = [date_row]
    before = right_rows[index - 1] if index > 0 else None
    if before is not None and not _is_tieu_ngu_or_quoc_hieu(before) and before.text.rstrip().endswith(","):
        chosen.insert(0, before)  # the place alone on the row above
    for after in right_rows[index + 1:index + 2]:
        chosen.append(after)  # the date wrapped under the place
    return tuple(chosen)


def _is_tieu_ngu_or_quoc_hieu(row: Row) -> bool:
    words = [w.text for w in row.words]
    return matches_phrase(words, TIEU_NGU) is not None or matches_phrase(words, QUOC_HIEU) is not None


# -- the closing: end of the last page -----------------------------------------------------


@dataclass(frozen=True)
class ClosingZones:
    page: PageText
    left: tuple[Row, ...]  # "Nơi nhận:" and its list
    right: tuple[Row, ...]  # the signer's title(s), signature space, name
    recipients_found: bool


def is_recipients_label(row: Row) -> int | None:
    """Index of the first word after "Nơi nhận:" when the row starts with it."""
    words = [fold_letters(w.text) for w in row.words[:3]]
    joined = ""
    for count, word in enumerate(words, start=1):
        joined += word
        if joined in ("noinhan", "noinhận") or (len(joined) >= 7 and similar(joined, "noinhan")):
            return count
    return None


def _starts_signer_block(row: Row) -> bool:
    first = row.words[0].text.upper().replace(",", ".")
    if any(first == p or first == p[:-1] for p in AUTHORITY_PREFIXES):
        return is_upper_text(row.text)
    repaired, _ = CAPITALS.repair([w.text for w in row.words])
    return is_upper_text(row.text) and " ".join(repaired) in _TITLES


_TITLES = {"GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "CHỦ TỊCH", "PHÓ CHỦ TỊCH", "TRƯỞNG PHÒNG", "PHÓ TRƯỞNG PHÒNG",
           "CHÁNH VĂN PHÒNG", "CỤC TRƯỞNG", "PHÓ CỤC TRƯỞNG", "TRƯỞNG BAN", "PHÓ TRƯỞNG BAN",
           "CHI CỤC TRƯỞNG", "VỤ TRƯỞNG", "BỘ TRƯỞNG", "THỨ TRƯỞNG", "HIỆU TRƯỞNG", "VIỆN TRƯỞNG",
           "CHÁNH THANH TRA", "THỦ TƯỚNG", "BÍ THƯ"}


def find_closing(page: PageText) -> ClosingZones:
    """The closing rows, from the `Nơi nhận:` row (or, without it, the first row of the
    signer's title) down. On page 1 the header's top fifth is not searched."""
    rows = page.rows
    start = None
    split = page.middle
    header_end = page.height * 0.2 if page.number == 1 else 0
    for row in rows:
        if row.top < header_end:
            continue
        after = is_recipients_label(row)
        if after is not None:
            start = row
            following = row.words[after:]
            if following and following[0].box[0] - row.words[after - 1].box[2] > 2 * row.height:
                split = (row.words[after - 1].box[2] + following[0].box[0]) / 2
            else:
                split = max(page.middle, row.words[after - 1].box[2] + row.height)
            break
    if start is None:
        for row in rows:
            if row.top < max(header_end, page.height * 0.3 if page.number == 1 else 0):
                continue
            _, right = row.split(page.middle)
            if right is not None and _starts_signer_block(right):
                start = row
                break
    if start is None:
        return ClosingZones(page, (), (), False)
    top = start.top - 0.5 * start.height
    left_rows, right_rows = [], []
    for row in rows:
        if row.top < top:
            continue
        left, right = row.split(split)
        if left is not None:
            left_rows.append(left)
        if right is not None:
            right_rows.append(right)
    return ClosingZones(page, tuple(left_rows), tuple(right_rows), is_recipients_label(start) is not None)
