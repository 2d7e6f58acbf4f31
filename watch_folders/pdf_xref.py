"""Is a copy of a PDF whole? Its cross-reference chain must parse to the end of the file.

A PDF ends with `startxref <offset> %%EOF`. The offset leads to the last revision's
cross-reference section (an `xref` table and its `trailer`, or an object of /Type /XRef),
whose /Prev leads to the revision before, and so on to the first. An incrementally updated
PDF (every signed PDF) has such an ending after each revision, so "ends with %%EOF" is true
of a copy cut after any revision; what a half-written copy cannot have is the whole chain:

- the file ends with the last `startxref`, its number and `%%EOF` (only whitespace after:
  scanners sometimes add a newline);
- that offset, and every /Prev (and /XRefStm of a hybrid file) from there, points inside
  the file at a section that parses: a table's entries and its trailer dictionary, or a
  stream that inflates to as many entries as its /Index says; objects in use lie inside
  the file;
- the section written last lies right before that final `startxref` (a revision's
  cross-reference is written after its objects, so a revision still being written cannot
  reach it);
- a linearised file (its first-page section near the start, with its own %%EOF) is as long
  as its /Linearized dictionary's /L says, or longer by the revisions appended since.

Only the last 2 KB and the cross-reference sections are read (20 bytes per object for a
table; a stream is a few KB), never a page. No PDF library decides this: qpdf, behind
pikepdf, rebuilds a broken cross-reference from the objects it finds, and so opens a cut
copy as happily as a whole one. A whole file this parser cannot follow (a writer's
offsets off by a few bytes) is not lost: it waits for the incomplete period and is taken
(steadiness.py), and the pipeline's qpdf repairs it as readers do.
"""

from __future__ import annotations

import os
import re
import zlib

_WS = rb"[\x00\t\n\x0c\r ]"
_WHITESPACE = b"\x00\t\n\x0c\r "
_TAIL = 2048
_ENDING = re.compile(rb"startxref" + _WS + rb"+(\d{1,15})" + _WS + rb"*%%EOF" + _WS + rb"*\Z")
_OBJ = re.compile(rb"(\d{1,10})" + _WS + rb"+(\d{1,5})" + _WS + rb"+obj" + _WS + rb"*")
_SUBSECTION = re.compile(rb"(\d{1,10})[ \t]+(\d{1,10})[ \t]*(?:\r\n|\r|\n)")
_ENTRY = rb"\d{10} \d{5} [nf](?: \r\n| \r| \n|\r\n|\n|\r)"  # 20 bytes; 19 and 21 seen in the wild
_IN_USE = re.compile(rb"(\d{10}) \d{5} n")
_MAX_SECTIONS = 100_000
_DICT_WINDOW = 64 * 1024
_MAX_ENTRY_BYTES = 21
_MAX_OBJECTS = 5_000_000  # per section; a 10,000-page scan has some 30,000


class Broken(Exception):
    """Not a whole PDF as far as its cross-reference shows; the message says why (for the log)."""


def pdf_problem(fd: int, size: int, header_at: int = 0) -> str | None:
    """None when the PDF open as fd (size bytes, its %PDF- at header_at) is whole; else why not."""
    try:
        _check(_File(fd, size), header_at)
    except Broken as why:
        return str(why)
    except Exception as error:  # a clerk's file, however strange, must not stop the service
        return f"cannot be parsed ({type(error).__name__}: {error})"
    return None


class _File:
    def __init__(self, fd: int, size: int):
        self.fd, self.size = fd, size

    def read(self, at: int, count: int) -> bytes:
        count = max(0, min(count, self.size - at))
        return os.pread(self.fd, count, at) if count else b""


def _check(f: _File, header_at: int) -> None:
    tail_at = max(0, f.size - _TAIL)
    tail = f.read(tail_at, f.size - tail_at)
    ending = _ENDING.search(tail)
    if ending is None:
        if tail.rstrip(_WHITESPACE).endswith(b"%%EOF"):
            raise Broken("no startxref right before the final %%EOF")
        raise Broken("does not end with %%EOF")
    final_startxref = tail_at + ending.start()
    offset = int(ending.group(1))
    # Offsets count from the %PDF- header; readers allow a few bytes of junk before it.
    shifts = (0, header_at) if header_at else (0,)
    for shift in shifts:
        try:
            sections = _walk(f, offset + shift, shift, final_startxref)
            break
        except Broken:
            if shift == shifts[-1]:
                raise
    latest = max(sections)
    gap = final_startxref - sections[latest]
    if not 0 <= gap <= 4096 or f.read(sections[latest], gap).strip(_WHITESPACE):
        raise Broken(f"the cross-reference section at {latest} is not the last thing before startxref")
    _check_linearised_length(f, header_at, sections)


def _walk(f: _File, first: int, shift: int, limit: int) -> dict[int, int]:
    """Every section of the chain from `first`: {where it starts: where it ends}."""
    sections: dict[int, int] = {}
    todo = [(first, True)]
    while todo:
        at, follow = todo.pop()
        if at in sections:
            continue  # reached twice (a hybrid's stream and table both name the revision before)
        if len(sections) >= _MAX_SECTIONS:
            raise Broken("more cross-reference sections than any real file has")
        if not 0 <= at < limit:
            raise Broken(f"startxref or /Prev points at {at}, outside the file")
        end, prev, stream = _section(f, at, shift)
        sections[at] = end
        # A hybrid file's /XRefStm stream only adds to its table: readers ignore its /Prev.
        if stream is not None:
            todo.append((stream + shift, False))
        if prev is not None and follow:
            todo.append((prev + shift, True))
    return sections


def _section(f: _File, at: int, shift: int) -> tuple[int, int | None, int | None]:
    """(end, /Prev, /XRefStm) of the section at `at`."""
    start = f.read(at, 64)
    skip = len(start) - len(start.lstrip(_WHITESPACE))
    if start.startswith(b"xref", skip):
        return _table(f, at, at + skip + 4, shift)
    header = _OBJ.match(start, skip)
    if header is not None:
        return _stream(f, at, at + header.end(), shift)
    raise Broken(f"no cross-reference section at {at}")


def _table(f: _File, section: int, at: int, shift: int) -> tuple[int, int | None, int | None]:
    while True:
        window = f.read(at, 64)
        skip = len(window) - len(window.lstrip(_WHITESPACE))
        if window.startswith(b"trailer", skip):
            at += skip + len(b"trailer")
            break
        subsection = _SUBSECTION.match(window, skip)
        if subsection is None:
            raise Broken(f"cross-reference table damaged or cut at {at}")
        at += subsection.end()
        count = int(subsection.group(2))
        if count > _MAX_OBJECTS or count * 19 > f.size - at:
            raise Broken(f"cross-reference table at {at} runs past the end of the file")
        block = f.read(at, count * _MAX_ENTRY_BYTES)
        entries = re.compile(b"(?:%s){%d}" % (_ENTRY, count)).match(block)
        if entries is None:
            raise Broken(f"cross-reference table damaged or cut at {at}")
        # Ten digits each: the greatest as text is the greatest as a number, one int() only.
        furthest = max(_IN_USE.findall(block, 0, entries.end()), default=None)
        _objects_inside(f, [int(furthest)] if furthest else [], shift, section)
        at += entries.end()
    window = f.read(at, _DICT_WINDOW)
    skip = len(window) - len(window.lstrip(_WHITESPACE))
    end, top, _ = _dictionary(window, skip, at)
    return at + end, _number(top, b"Prev", at), _number(top, b"XRefStm", at)


def _stream(f: _File, section: int, at: int, shift: int) -> tuple[int, int | None, int | None]:
    window = f.read(at, _DICT_WINDOW)
    end, top, whole = _dictionary(window, 0, at)
    if not re.search(rb"/Type" + _WS + rb"*/XRef(?![A-Za-z])", top):
        raise Broken(f"the object at {section} is not a cross-reference stream")
    keyword = re.compile(_WS + rb"*stream(?:\r\n|\n)").match(window, end)
    if keyword is None:
        raise Broken(f"cross-reference stream at {section} damaged or cut")
    data_at = at + keyword.end()
    length = _number(top, b"Length", at)
    if length is None:  # an indirect /Length (not allowed here, but seen): find the keyword
        found = f.read(data_at, 1 << 20).find(b"endstream")
        if found < 0:
            raise Broken(f"cross-reference stream at {section} has no end")
        length = found
    data = f.read(data_at, length)
    closing = re.compile(_WS + rb"*endstream" + _WS + rb"*endobj").match(f.read(data_at + length, 64))
    if len(data) < length or closing is None:
        raise Broken(f"cross-reference stream at {section} damaged or cut")
    _check_stream_entries(f, top, whole, data, shift, section)
    return data_at + length + closing.end(), _number(top, b"Prev", at), None


def _check_stream_entries(f: _File, top: bytes, whole: bytes, data: bytes, shift: int, at: int) -> None:
    named = re.search(rb"/Filter" + _WS + rb"*(\[[^\]]*\]|/\w+)", top)
    filters = re.findall(rb"/(\w+)", named.group(1)) if named else []
    if filters not in ([], [b"FlateDecode"]):
        return  # a filter no writer uses for this: its structure above is all we check
    widths = _numbers(top, b"W")
    size = _number(top, b"Size", at) or 0
    index = _numbers(top, b"Index") or [0, size]
    if len(widths) != 3 or len(index) % 2:
        raise Broken(f"cross-reference stream at {at} has a damaged /W or /Index")
    named = re.search(rb"/Predictor" + _WS + rb"*(\d+)", whole)  # inside /DecodeParms
    predictor = int(named.group(1)) if named else 1
    row = sum(widths) + (1 if predictor >= 10 else 0)
    rows = sum(index[1::2])
    if row <= 0 or row > 64 or rows > _MAX_OBJECTS:
        raise Broken(f"cross-reference stream at {at} has an impossible /W or /Index")
    if filters:
        # Inflated no further than its entries need: the stream cannot be a bomb here.
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(data, rows * row + 1)
        except zlib.error:
            raise Broken(f"cross-reference stream at {at} damaged") from None
        if not inflater.eof and not inflater.unconsumed_tail:
            raise Broken(f"cross-reference stream at {at} cut short")
    if len(data) < rows * row:
        raise Broken(f"cross-reference stream at {at} holds fewer entries than its /Index says")
    offsets = _stream_offsets(data, widths, rows, predictor)
    if offsets is not None:
        _objects_inside(f, offsets, shift, at)


def _stream_offsets(data: bytes, widths: list[int], rows: int, predictor: int) -> list[int] | None:
    """The offsets of objects in use, when the rows can be read back (no predictor, or PNG
    None/Up, what writers use); None otherwise."""
    width = sum(widths)
    png = predictor >= 10
    previous = bytes(width)
    offsets = []
    for number in range(rows):
        start = number * (width + png)
        if png:
            kind = data[start]
            raw = data[start + 1:start + 1 + width]
            if kind == 2:
                raw = bytes((a + b) & 0xFF for a, b in zip(raw, previous))
            elif kind != 0:
                return None
        elif predictor == 1:
            raw = data[start:start + width]
        else:
            return None
        previous = raw
        kind = int.from_bytes(raw[:widths[0]], "big") if widths[0] else 1
        if kind == 1:
            offsets.append(int.from_bytes(raw[widths[0]:widths[0] + widths[1]], "big"))
    return offsets


def _objects_inside(f: _File, offsets, shift: int, at: int) -> None:
    furthest = max(offsets, default=-1)
    if furthest + shift >= f.size:
        raise Broken(f"the cross-reference section at {at} lists an object at {furthest}, past the end")


def _check_linearised_length(f: _File, header_at: int, sections: dict[int, int]) -> None:
    head = f.read(header_at, 1024)
    first = _OBJ.search(head)
    if first is None or not head.startswith(b"<<", first.end()):
        return
    try:
        _, top, _ = _dictionary(head, first.end(), header_at)
    except Broken:
        return  # the first object is not a small dictionary: not a linearisation dictionary
    if not re.search(rb"/Linearized(?![A-Za-z])", top):
        return
    length = _number(top, b"L", header_at)
    if length is None:
        return
    length += header_at
    if length > f.size:
        raise Broken(f"linearised for {length} bytes, but the file has {f.size}")
    # An update appended since has its section past /L, and the final startxref leads there
    # first (the main table of a linearised file lies past /L too, but is reached by /Prev).
    appended = next(iter(sections)) >= length
    if length < f.size and not appended and f.read(length, 4096).strip(_WHITESPACE):
        raise Broken(f"linearised for {length} bytes, but the file has {f.size} and no revision was appended")


def _dictionary(data: bytes, start: int, at: int) -> tuple[int, bytes, bytes]:
    """The dictionary `<< ... >>` at data[start:]: (index after it, its top level with nested
    dictionaries and strings blanked, the whole of it)."""
    if not data.startswith(b"<<", start):
        raise Broken(f"no dictionary where one belongs at {at + start}")
    depth, i, top = 0, start, bytearray()
    while i < len(data):
        c = data[i]
        if data.startswith(b"<<", i):
            depth += 1
            i += 2
            top += b" " if depth > 1 else b""
            continue
        if data.startswith(b">>", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i, bytes(top), data[start:i]
            continue
        if c == 0x28:  # ( a literal string: nested parentheses, backslash escapes
            i = _string_end(data, i)
            top += b" "
            continue
        if c == 0x3C:  # < a hex string
            close = data.find(b">", i)
            if close < 0:
                break
            i = close + 1
            top += b" "
            continue
        if c == 0x25:  # % a comment, to the end of the line
            while i < len(data) and data[i] not in b"\r\n":
                i += 1
            continue
        if depth == 1:
            top.append(c)
        i += 1
    raise Broken(f"dictionary at {at + start} damaged or cut")


def _string_end(data: bytes, i: int) -> int:
    depth = 0
    while i < len(data):
        c = data[i]
        if c == 0x5C:  # backslash: the next byte is taken as it is
            i += 2
            continue
        depth += (c == 0x28) - (c == 0x29)
        i += 1
        if depth == 0:
            return i
    return i


def _number(top: bytes, key: bytes, at: int) -> int | None:
    """A direct whole number under /key; None if the key is absent or an indirect reference."""
    found = re.search(rb"/" + key + rb"(?![A-Za-z])" + _WS + rb"*([^\x00\t\n\x0c\r /\[<(]+)((?:" + _WS +
                      rb"+\d+" + _WS + rb"+R)?)", top)
    if found is None or found.group(2):
        return None
    if not found.group(1).isdigit():
        raise Broken(f"/{key.decode()} is not a number in the dictionary near {at}")
    return int(found.group(1))


def _numbers(top: bytes, key: bytes) -> list[int]:
    found = re.search(rb"/" + key + rb"(?![A-Za-z])" + _WS + rb"*\[([^\]]*)\]", top)
    return [int(n) for n in found.group(1).split()] if found and found.group(1).split() and \
        all(n.isdigit() for n in found.group(1).split()) else []
