"""One reader per field (or per group of fields read from the same words).

Each reader takes the rows of its zone, normalises what OCR made of them and returns
HeaderField values whose confidence starts from Tesseract's word confidences and is lowered
for every repair, fallback or guess that was needed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from header.fields import HeaderField
from header.layout import (
    DATE_WORDS,
    ClosingZones,
    HeaderZones,
    Row,
    Word,
    is_number_label,
    is_recipients_label,
)
from header.number_line import find_document_number
from header.text import (
    as_digits,
    edit_distance,
    fold,
    fold_letters,
    is_name_like,
    is_upper_text,
    nfc,
    similar,
    split_glued_words,
    strip_dash,
    tidy,
)
from header.vocabulary import (
    AUTHORITY_PREFIXES,
    BODY_START_KEYS,
    CAPITALS,
    CONG_VAN,
    ADMINISTRATIVE_LEVELS,
    MARKS,
    PLACES,
    PLACES_UPPER,
    SUMMARY_PREFIXES,
    STATIC_TYPES,
    TypeTable,
)

Fields = dict[str, HeaderField]

# How much a field's confidence is lowered when it needed help.
REPAIRED = 0.9  # letters or digits were repaired
FALLBACK = 0.75  # found without its anchor (a label or keyword OCR destroyed)
DERIVED = 0.7  # inferred from another field (the type from the symbol)


def _words(rows: Sequence[Row]) -> list[Word]:
    return [w for row in rows for w in row.words]


def ocr_confidence(words: Sequence[Word]) -> float:
    """Half the mean, half the worst word: one unreadable word makes the field doubtful."""
    if not words:
        return 0.0
    scores = [w.confidence for w in words]
    return 0.5 * sum(scores) / len(scores) + 0.5 * min(scores)


def _box(words: Sequence[Word]):
    """Where the words are on the page as displayed (the box a viewer highlights)."""
    return (min(w.page_box[0] for w in words), min(w.page_box[1] for w in words),
            max(w.page_box[2] for w in words), max(w.page_box[3] for w in words))


def _field(value, words: Sequence[Word], page: int, factor: float = 1.0, read: str = "") -> HeaderField:
    return HeaderField(value, round(ocr_confidence(words) * factor, 3), page, _box(words), read)


def _repair_capitals(text: str) -> tuple[str, int]:
    words, changed = CAPITALS.repair(text.split())
    return " ".join(words), changed


# -- number and symbol ------------------------------------------------------------------------

_SLASH_LOOKALIKES = re.compile(r"(?<=\d)[Il|\\](?=[A-ZĐ])")


def read_number(zones: HeaderZones, heading_type: str | None, bodies: Sequence[str],
                types: TypeTable = STATIC_TYPES) -> Fields:
    """The number from the `Số:` row of the header's left column, and nowhere else: when
    that row is there but its serial cannot be read surely (a number written by hand in the
    slot, read as `7.` or `z2`), the number is left empty and flagged with the row's box."""
    row = zones.number_row
    if row is None:
        return {}
    unread = {"number": _unread(row.words, row.page, row.text)}
    words = list(row.words)
    labelled = is_number_label(words[0].text)
    glued = re.match(r"^(?:S\S{0,2}?|56)[:;.,](?=\S)", words[0].text)
    if labelled and not glued:
        words = words[1:]
    if not words:
        return unread
    read = "".join(w.text for w in words)
    text = read[glued.end():] if glued else read
    text = text.replace("–", "-").replace("—", "-").replace(",", ".").strip(".;:…")
    text = _SLASH_LOOKALIKES.sub("/", text)
    if "/" not in text and (labelled or glued):  # the slash lost: `15QĐ-SNV`
        text = re.sub(r"^(\d+)(?=[A-ZĐ])", r"\1/", text)
    parts = text.split("/")
    if len(parts) < 2:
        return unread
    year = as_digits(parts[1]) if len(parts) >= 3 else None
    if year is not None and len(year) != 4:
        year = None
    symbol_text = "/".join(parts[2:] if year else parts[1:])
    symbol, symbol_repairs = _repair_symbol(symbol_text, heading_type, bodies, types)
    serial = as_digits(parts[0])
    factor = (1.0 if labelled or glued else FALLBACK)
    if serial is None or not _serial_sure(parts[0], serial, words):
        if symbol and re.fullmatch(r"[A-ZĐ][A-ZĐa-z.]*(?:-[A-ZĐ0-9.]+)*", symbol):
            unread["symbol"] = _field(symbol, words, row.page, factor * (REPAIRED if symbol_repairs else 1.0))
        return unread
    if not symbol:
        return unread
    repairs = (serial != parts[0]) + (year is not None and year != parts[1]) + symbol_repairs + ("/" not in read)
    factor *= REPAIRED if repairs else 1.0
    number = f"{serial}/{year}/{symbol}" if year else f"{serial}/{symbol}"
    fields = {
        "number": _field(number, words, row.page, factor, read),
        "serial": _field(serial, words[:1], row.page, factor),
        "symbol": _field(symbol, words, row.page, factor),
    }
    if year:
        fields["number_year"] = _field(year, words, row.page, factor)
    return fields


def read_number_line(text: str) -> Fields:
    """Without a `Số:` row in the header's columns (a page whose layout was not found), the
    number from a `Số:` line that starts a line above the body (header.number_line), split
    into its parts like a row's; not located on the page, so FALLBACK confidence and no box."""
    number = find_document_number(text, header_only=True)
    if number is None:
        return {}
    parts = number.split("/")
    year = parts[1] if len(parts) >= 3 and re.fullmatch(r"\d{4}", parts[1]) else None
    fields = {"number": HeaderField(number, FALLBACK, None, None, number)}
    if parts[0].isdigit():
        fields["serial"] = HeaderField(parts[0], FALLBACK, None, None)
    fields["symbol"] = HeaderField("/".join(parts[2:] if year else parts[1:]), FALLBACK, None, None)
    if year:
        fields["number_year"] = HeaderField(year, FALLBACK, None, None)
    return fields


# A slot filled in by hand is taken only when OCR read it this surely and needed no repair:
# a wrong number is worse than an empty one flagged for review.
SURE_BY_HAND = 0.85


def _unread(words: Sequence[Word], page: int, read: str) -> HeaderField:
    """A field whose place on the page was found but whose value could not be read surely:
    empty, flagged for review, with the box a reviewer looks at."""
    return HeaderField(None, 0.0, page, _box(words), read, "unread")


def _serial_sure(raw: str, serial: str, words: Sequence[Word]) -> bool:
    """Printed serials are glued to their symbol (`07/SNV-VP`) or at least clean digits; a
    serial in a slot (leader dots `..7./`, or a word of its own before `/ĐN-CC-TC`) was
    most likely written by hand, and Tesseract's reading of handwriting is a guess unless
    it is sure of the word and read plain digits."""
    first = words[0]
    in_slot = bool(re.search(r"[.…]", raw)) or ("/" not in first.text and len(words) > 1)
    if not in_slot:
        return True
    return first.confidence >= SURE_BY_HAND and serial == raw.strip(".…")


def _initials(body: str) -> str:
    """"SỞ GIÁO DỤC VÀ ĐÀO TẠO" -> "SGDĐT": the letters symbols are made of, Đ kept."""
    letters = []
    for word in body.split():
        if fold_letters(word) in ("va", "") or not word[0].isalpha():
            continue
        letters.append("Đ" if word[0] in "Đđ" else fold(word[0]).upper())
    return "".join(letters)


def _repair_symbol(text: str, heading_type: str | None, bodies: Sequence[str],
                   types: TypeTable = STATIC_TYPES) -> tuple[str, int]:
    """Give back the Đ OCR turned into D (from the type symbol or the bodies' initials), and
    the letters it turned into digits in a type symbol."""
    parts = [p for p in text.split("-") if p]
    repairs = 0
    out = []
    initials = [_initials(body) for body in bodies if body]
    for position, part in enumerate(parts):
        fixed = part
        if position == 0 and len(parts) > 1:
            fixed = _type_symbol(part, heading_type, types)
        if fixed == part:
            for source in initials:
                index = fold(source).upper().find(fold(part).upper()) if len(part) >= 2 else -1
                if index >= 0 and part.isupper():
                    fixed = source[index:index + len(part)]
                    break
        repairs += fixed != part
        out.append(fixed)
    return "-".join(out), repairs


def _type_symbol(part: str, heading_type: str | None, types: TypeTable = STATIC_TYPES) -> str:
    if part in types.by_symbol:
        return part
    expected = types.symbol_by_type.get(heading_type or "")
    if expected and edit_distance(fold_letters(part).upper(), fold_letters(expected).upper(), 1) <= 1:
        return expected  # the heading says which symbol this is (`CĐĐ` under CÔNG ĐIỆN)
    letters = part.translate(str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B"}))
    candidates = types.symbols_by_fold.get(fold_letters(letters).upper(), [])
    if len(candidates) == 1:
        return candidates[0]
    for candidate in candidates:  # HD/HĐ, DA/ĐA: the heading decides
        if types.by_symbol[candidate] == heading_type:
            return candidate
    return part


def type_from_symbol(symbol: str | None, types: TypeTable = STATIC_TYPES) -> str | None:
    if not symbol or "-" not in symbol:
        return None
    return types.by_symbol.get(symbol.split("-")[0])


# -- place and date ---------------------------------------------------------------------------


def read_date(zones: HeaderZones) -> Fields:
    """The date from the place-and-date line of the header's right column only. When that
    line is there but its day or month cannot be read surely (written by hand in the
    dotted slots), the date is left empty and flagged with the line's box."""
    words = _words(zones.date_rows)
    if not words:
        return {}
    folded = [fold_letters(w.text) for w in words]
    found: dict[str, int] = {}
    for index, token in enumerate(folded):
        for key in DATE_WORDS:
            after = max(found.values(), default=-1)
            if key not in found and index > after and (token == key or (len(token) >= 3 and similar(token, key))):
                found[key] = index
                break
    place_end = found.get("ngay", next((i for i, f in enumerate(folded) if f.startswith("ngay")), None))
    fields = _place(words[:place_end] if place_end else [], zones.page.number)
    unread = {**fields, "issue_date": _unread(words[place_end or 0:], zones.page.number,
                                              " ".join(w.text for w in words))}
    numbers, raw, sources = [], [], []
    for key in DATE_WORDS:
        index = found.get(key)
        word = words[index + 1] if index is not None and index + 1 < len(words) else None
        token = word.text if word else ""
        numbers.append(as_digits(token))
        raw.append(token.strip(".,;"))
        sources.append(word)
    factor = 1.0
    if None in numbers:  # keywords lost: take the three numbers after the place
        tokens = [w for w in words[found.get("ngay", 0):] if as_digits(w.text) is not None]
        if len(tokens) < 3:
            return unread
        sources = tokens[:3]
        numbers = [as_digits(w.text) for w in sources]
        raw = [w.text.strip(".,;") for w in sources]
        factor = FALLBACK
    day, month, year = (int(n) for n in numbers)
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return unread
    if not 1900 < year <= dt.date.today().year + 1:
        return unread
    if not all(_date_part_sure(word, number) for word, number in zip(sources[:2], numbers[:2])):
        return unread
    repaired = any(n != r for n, r in zip(numbers, raw))
    date_words = words[found["ngay"]:] if "ngay" in found else words
    fields["issue_date"] = _field(date.isoformat(), date_words, zones.page.number,
                                  factor * (REPAIRED if repaired else 1.0), " ".join(w.text for w in words))
    return fields


def _date_part_sure(word: Word | None, number: str) -> bool:
    """A day or month read from a slot (leader dots around it) or repaired from letters is
    taken only when OCR was sure of it; below half of Tesseract's confidence it is a guess."""
    if word is None:
        return False
    raw = word.text.strip(",;")
    clean = raw == number
    if word.confidence < 0.5:
        return False
    return clean and "." not in raw or word.confidence >= SURE_BY_HAND


def _place(place_words: Sequence[Word], page: int) -> Fields:
    if not place_words:
        return {}
    place_text = tidy(" ".join(w.text for w in place_words)).rstrip(",;. ")
    if not any(ch.isalpha() for ch in place_text):
        return {}
    repaired_place, changed = PLACES.repair(place_text.split())
    return {"place": _field(" ".join(repaired_place), place_words, page, REPAIRED if changed else 1.0, place_text)}


# -- issuing body and its parent ------------------------------------------------------------------


def _is_mark(row: Row) -> str | None:
    text, _ = _repair_capitals(row.text)
    text = text.strip(" .:")
    if text in MARKS:
        return text
    canonical = {"HOẢ TỐC": "HỎA TỐC"}.get(text)
    if canonical:
        return canonical
    folded = fold_letters(text)
    for mark in MARKS:
        if len(mark) >= 8 and similar(folded, fold_letters(mark)):
            return mark
    return None


def _starts_body(text: str) -> bool:
    words = [fold_letters(w) for w in text.split()]
    return tuple(words[:1]) in BODY_START_KEYS or tuple(words[:2]) in BODY_START_KEYS


def _with_place(text: str, place: str | None) -> tuple[str, int]:
    """The place line of the date names the province or district the body belongs to:
    where its words appear in the body (folded), they are spelled as in the place."""
    if not place:
        return text, 0
    words = text.split()
    place_words = place.upper().split()
    size = len(place_words)
    key = [fold_letters(w) for w in place_words]
    for start in range(len(words) - size + 1):
        window = words[start:start + size]
        if [fold_letters(w) for w in window] == key and window != place_words:
            changed = sum(a != b for a, b in zip(window, place_words))
            return " ".join(words[:start] + place_words + words[start + size:]), changed
    return text, 0


_LEVEL_KEYS = [tuple(fold_letters(w) for w in level.split()) for level in ADMINISTRATIVE_LEVELS]


def _repair_body_line(text: str, place: str | None) -> tuple[str, int]:
    """Known words spelled right up to the administrative level ("UBND TỈNH"); the proper
    name after it only from the provinces and the document's own place line."""
    words = text.split()
    folded = [fold_letters(w) for w in words]
    cut = len(words)
    for index in range(len(words)):
        level = next((key for key in _LEVEL_KEYS if tuple(folded[index:index + len(key)]) == key), None)
        known = CAPITALS.phrase_at(words, index)
        if known and len(known.split()) > len(level or ()):
            continue  # "QUẢN LÝ", "XÃ HỘI": a longer known phrase, not a level before a name
        if level and index + len(level) < len(words):
            cut = index + len(level)
            break
    head, changed = CAPITALS.repair(words[:cut])
    name, name_changes = PLACES_UPPER.repair(words[cut:])
    text, place_changes = _with_place(" ".join(head + name), place)
    return text, changed + name_changes + place_changes


def read_bodies(zones: HeaderZones, place: str | None) -> Fields:
    """The left column above the number: lines grouped into bodies (a line starting with a
    body's first word begins one), the last group issuing, the ones above its parent."""
    limit = zones.number_row.top if zones.number_row else min((r.top for r in zones.right[2:3]), default=None)
    rows = [r for r in zones.left if (limit is None or r.bottom <= limit + 2) and not _is_mark(r)
            and any(ch.isalpha() for ch in r.text)]
    if not rows:
        return {}
    groups: list[list[tuple[str, Row, int]]] = []
    for row in rows:
        text, changed = _repair_body_line(tidy(row.text), place)
        if not groups or _starts_body(text):
            groups.append([])
        groups[-1].append((text, row, changed))
    fields = {}
    issuing = groups[-1]
    fields["issuing_body"] = _group_field(issuing)
    if len(groups) > 1:
        fields["parent_body"] = _group_field([line for group in groups[:-1] for line in group])
    return fields


def _group_field(lines: list[tuple[str, Row, int]]) -> HeaderField:
    words = _words([row for _, row, _ in lines])
    repaired = any(changed for _, _, changed in lines)
    # A body always starts with one of the known words: otherwise the grouping is a guess.
    known_start = _starts_body(lines[0][0])
    factor = (REPAIRED if repaired else 1.0) * (1.0 if known_start else FALLBACK)
    read = " ".join(row.text for _, row, _ in lines)
    return _field(" ".join(text for text, _, _ in lines), words, lines[0][1].page, factor, read)


def read_marks(zones: HeaderZones) -> Fields:
    fields = {}
    candidates = list(zones.left) + [r for r in zones.below[:3] if r.right < zones.split]
    for row in candidates:
        mark = _is_mark(row)
        if mark and MARKS[mark] not in fields:
            fields[MARKS[mark]] = _field(mark, row.words, row.page, 1.0, row.text)
    return fields


# -- type and summary -------------------------------------------------------------------------


def _heading_type(row: Row, types: TypeTable = STATIC_TYPES) -> tuple[str | None, float]:
    if not is_upper_text(row.text):
        return None, 0.0
    text, changed = _repair_capitals(row.text.strip(" .:"))
    if text in types.by_heading:
        return types.by_heading[text], REPAIRED if changed else 1.0
    folded = fold_letters(text)
    near = [name for heading, name in types.by_heading.items()
            if len(heading) >= 6 and similar(folded, fold_letters(heading))]
    return (near[0], FALLBACK) if len(near) == 1 else (None, 0.0)


def _summary_prefix(text: str) -> tuple[str | None, str]:
    """("V/v" or "Về việc" or None, the summary without it)."""
    words = text.split()
    if not words:
        return None, text
    first = words[0]
    if re.fullmatch(r"[VvWw]\s*[/|Il1\\]?\s*[vVyY][.:]?", first) and len(words) > 1:
        return SUMMARY_PREFIXES["vv"], " ".join(words[1:])
    if len(words) > 2 and fold_letters(words[0]) == "ve" and similar(words[1], "viec"):
        return SUMMARY_PREFIXES["ve viec"], " ".join(words[2:])
    return None, text


def _is_vv(row: Row) -> bool:
    return _summary_prefix(row.text)[0] == "V/v"


def _summary_field(rows: list[Row], factor: float) -> Fields:
    text = tidy(" ".join(row.text for row in rows))
    if text.startswith("(") and text.endswith(")"):  # `( Về việc ... )`: brackets of the layout
        text = tidy(text[1:-1])
    prefix, summary = _summary_prefix(text)
    words = _words(rows)
    fields = {"summary": _field(summary, words[1 if prefix == "V/v" else 2 if prefix else 0:] or words,
                                rows[0].page, factor, text)}
    if prefix:
        fields["summary_prefix"] = _field(prefix, words[:1 if prefix == "V/v" else 2], rows[0].page, factor)
    return fields


def _centred(row: Row, zones: HeaderZones, tolerance: float = 0.08) -> bool:
    page = zones.page
    return abs(row.centre - page.middle) <= tolerance * (page.right - page.left)


_BODY_OPENINGS = {"can cu", "kinh gui", "dieu", "thuc hien", "xet de", "hom nay", "theo de"}


def find_heading(zones: HeaderZones, types: TypeTable = STATIC_TYPES) -> tuple[Row | None, str | None, float]:
    for row in zones.below[:4]:
        type_name, factor = _heading_type(row, types)
        if type_name and _centred(row, zones, 0.12):
            return row, type_name, factor
    return None, None, 0.0


def read_type_and_summary(zones: HeaderZones, heading: Row | None, heading_type: str | None,
                          heading_factor: float, symbol: str | None, types: TypeTable = STATIC_TYPES) -> Fields:
    fields: Fields = {}
    if heading is not None:
        symbol_type = type_from_symbol(symbol, types)
        agree = 1.0 if symbol_type in (None, heading_type) else FALLBACK
        fields["doc_type"] = _field(heading_type, heading.words, heading.page, heading_factor * agree, heading.text)
        summary_rows = _summary_under_heading(zones, heading)
        if summary_rows:
            fields.update(_summary_field(summary_rows, 1.0))
        return fields
    vv_rows = _vv_summary(zones)
    if vv_rows:
        fields["doc_type"] = _field(CONG_VAN, vv_rows[0].words[:1], vv_rows[0].page,
                                    1.0 if _is_vv(vv_rows[0]) else FALLBACK, vv_rows[0].text)
        fields.update(_summary_field(vv_rows, 1.0 if _is_vv(vv_rows[0]) else FALLBACK))
        return fields
    symbol_type = type_from_symbol(symbol, types)
    if symbol_type and zones.number_row is not None:
        fields["doc_type"] = _field(symbol_type, zones.number_row.words, zones.number_row.page, DERIVED,
                                    symbol or "")
    return fields


def _summary_under_heading(zones: HeaderZones, heading: Row) -> list[Row]:
    rows: list[Row] = []
    previous = heading
    index = zones.below.index(heading)
    for row in zones.below[index + 1:index + 5]:
        gap = row.top - previous.bottom
        opening = " ".join(fold_letters(w) for w in row.text.split()[:2])
        if gap > 0.8 * max(previous.height, row.height) or not _centred(row, zones, 0.1):
            break
        if opening in _BODY_OPENINGS or fold_letters(row.text.split()[0]) in _BODY_OPENINGS:
            break
        if row.height > 1.3 * heading.height:  # body text is set larger than the summary
            break
        if not any(ch.isalpha() for ch in row.text):  # the rule under the summary
            break
        rows.append(row)
        previous = row
    return rows


def _vv_summary(zones: HeaderZones) -> list[Row]:
    if zones.number_row is None:
        return []
    rows = []
    for row in zones.left:
        if row.top <= zones.number_row.top or _is_mark(row):
            continue
        if not rows and not _is_vv(row) and is_upper_text(row.text):
            continue
        rows.append(row)
    return rows


# -- addressees -----------------------------------------------------------------------------------


def read_addressees(zones: HeaderZones) -> Fields:
    for position, row in enumerate(zones.below[:8]):
        words = row.words
        joined = fold_letters(words[0].text) + (fold_letters(words[1].text) if len(words) > 1 else "")
        if not (joined.startswith("kinhgui") or similar(joined[:7], "kinhgui")):
            continue
        skip = 1 if fold_letters(words[0].text).startswith("kinhgui") else 2
        rest = words[skip:]
        items: list[list[Word]] = []
        if rest and any(ch.isalpha() for w in rest for ch in w.text):
            items.append(list(rest))
        else:
            previous = row
            for following in zones.below[position + 1:position + 8]:
                dash, _ = strip_dash(following.text)
                if not dash or following.top - previous.bottom > previous.height:
                    break
                items.append(list(following.words))
                previous = following
        if not items:
            return {}
        values = tuple(strip_dash(tidy(" ".join(w.text for w in item)))[1] for item in items)
        all_words = [w for item in items for w in item]
        return {"addressees": _field(values, all_words, row.page, 1.0, row.text)}
    return {}


# -- signer and recipients ----------------------------------------------------------------------


def _authority_prefix(word: str) -> str | None:
    core = word.upper().replace(",", ".").replace(" ", "")
    for prefix in AUTHORITY_PREFIXES:
        bare = prefix[:-1]
        if core in (prefix, bare, bare + ":", ".".join(bare) + ".") and (len(bare) > 1 or core == prefix):
            return prefix
    return None


def _title_line(row: Row) -> tuple[str, int, bool]:
    """(the line, how many words were repaired, whether it has a known word).

    A seal over the start of the line makes OCR read its strokes as a word or two before
    the title (`5` TRƯỞNG PHÒNG`, `SÀN Sh GIÁM ĐỐC`): they are dropped when what follows
    them is a known title, or when they are not capital letters at all."""
    words = [w.text for w in row.words]
    start = 0
    if not _known_title(words):
        for candidate in (1, 2):
            if candidate < len(words) and all(_is_stroke_junk(w, strict=False) for w in words[:candidate]) \
                    and _known_title(words[candidate:]):
                start = candidate
                break
        else:
            while start < min(2, len(words) - 1) and _is_stroke_junk(words[start], strict=True):
                start += 1
    prefix = _authority_prefix(words[start])
    rest = words[start + 1:] if prefix else words[start:]
    repaired, changed = CAPITALS.repair(rest)
    known = any(CAPITALS.lookup([w], fuzzy=False) for w in repaired) or _known_title(rest) or bool(prefix)
    text = tidy(" ".join(([prefix] if prefix else []) + repaired))
    return text, changed + start + (prefix is not None and prefix != words[start]), known


def _known_title(words: list[str]) -> bool:
    rest = words[1:] if words and _authority_prefix(words[0]) else words
    return bool(rest) and CAPITALS.covers(rest)


def _is_stroke_junk(word: str, strict: bool) -> bool:
    """A "word" OCR made of seal strokes in a line of capitals: not all capital letters
    (strict), or also a short one (when a known title follows it)."""
    if _authority_prefix(word):
        return False
    core = word.strip(".")
    if not core.isalpha() or not core.isupper():
        return True
    return not strict and len(core) <= 3


def _is_title_row(row: Row, previous: Row | None) -> bool:
    """A line of the signer's title: capitals, mostly letters, right under the line above.
    (Under a seal OCR reads strokes as short capital "words": `TT`, `40/2 5IPS)`.)"""
    text = row.text
    letters = sum(ch.isalpha() for ch in text)
    if letters < 3 or letters < 0.75 * len(text.replace(" ", "")) or not is_upper_text(text) or is_name_like(text):
        return False
    return previous is None or row.top - previous.bottom <= 0.9 * max(row.height, previous.height)


def _name_words(text: str) -> str:
    """The person's name out of the row OCR read under the signature: glued words parted,
    and of the runs of capitalised words the last one (seal strokes read as junk "words"
    before or after the name are dropped)."""
    runs: list[list[str]] = [[]]
    for word in split_glued_words(text).split():
        core = word.strip(".,;:-_~'\"`()|")
        if core and core.isalpha() and core[0].isupper() and not (len(core) > 1 and core[1:].isupper()):
            runs[-1].append(core)
        elif runs[-1]:
            runs.append([])
    named = [run for run in runs if len(run) >= 2]
    return " ".join(named[-1]) if named else ""


def read_signer(closing: ClosingZones) -> Fields:
    rows = [r for r in closing.right if sum(ch.isalpha() for ch in r.text) >= 2]
    titles: list[Row] = []
    for row in rows:
        if _is_title_row(row, titles[-1] if titles else None):
            titles.append(row)
        elif titles:
            break
    fields: Fields = {}
    if titles:
        lines = [_title_line(row) for row in titles]
        # after the first line, a line without a known word is seal strokes, not a title
        while len(lines) > 1 and not lines[-1][2]:
            lines.pop()
            titles.pop()
        changed = sum(c for _, c, _ in lines)
        factor = REPAIRED if changed else 1.0
        fields["signer_title"] = _field(" / ".join(text for text, _, _ in lines), _words(titles), titles[0].page,
                                        factor, " / ".join(r.text for r in titles))
        prefixes = [text.split()[0] for text, _, _ in lines if text.split()[0] in AUTHORITY_PREFIXES]
        if prefixes:
            fields["signer_authority"] = _field(" ".join(prefixes), _words(titles), titles[0].page)
    after = [r for r in rows if not titles or r.top > titles[-1].bottom]
    names = [r for r in after if is_name_like(tidy(r.text)) and _name_words(tidy(r.text)) == tidy(r.text)]
    if names:
        name = names[-1]
        fields["signer_name"] = _field(tidy(name.text), name.words, name.page)
        return fields
    cleaned = [(r, _name_words(tidy(r.text))) for r in after]
    cleaned = [(r, name) for r, name in cleaned if is_name_like(name)]
    if cleaned:
        row, name = cleaned[-1]
        fields["signer_name"] = _field(name, row.words, row.page, REPAIRED, row.text)
    return fields


def read_recipients(closing: ClosingZones) -> Fields:
    if not closing.recipients_found or not closing.left:
        return {}
    label = closing.left[0]
    after = is_recipients_label(label)
    items: list[list[Word]] = []
    first = label.after(after) if after is not None else None
    rows = ([first] if first else []) + list(closing.left[1:])
    previous = label
    for row in rows:
        if row.top - previous.bottom > 1.5 * previous.height and row is not first:
            break
        dash, _ = strip_dash(row.text)
        if dash or not items or items[-1][-1].text.endswith(";"):
            items.append(list(row.words))  # (an item ends with ";": what follows is the next)
        else:
            items[-1].extend(row.words)  # a wrapped item
        previous = row
    if not items:
        return {}
    values = [strip_dash(tidy(" ".join(w.text for w in item)))[1] for item in items]
    # Every item but the last ends with ";": a ":" or "," there is that ";" misread.
    values = [v[:-1] + ";" if i < len(values) - 1 and v[-1:] in ":,." else v for i, v in enumerate(values)]
    values[-1] = re.sub(r"[,;:]+\.?$", ".", values[-1])  # the list ends with a full stop
    words = [w for item in items for w in item]
    return {"recipients": _field(tuple(values), words, label.page, 1.0, " | ".join(values))}


def nfc_fields(fields: Fields) -> Fields:
    """Every value in NFC (OCR output already is; repairs keep it so)."""
    out = {}
    for name, found in fields.items():
        value = found.value
        value = tuple(nfc(v) for v in value) if isinstance(value, tuple) else value if value is None else nfc(value)
        out[name] = HeaderField(value, found.confidence, found.page, found.box, found.read, found.source)
    return out
