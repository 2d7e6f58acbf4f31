"""Stream ends that every PDF/A validator reads the same way (ISO 19005-2 6.1.7.1).

The rule: `stream` is followed by CR LF or LF; the data is exactly /Length bytes; an
end-of-line marker, then `endstream`. qpdf always closes a stream with `\\nendstream`, so
data whose last byte is CR reads `...\\r\\nendstream`: validators take the CR LF as the
end-of-line and the data as one byte short of /Length. A zlib stream ends with its Adler-32
checksum, so about one Flate stream in 256 ends with CR, whatever the compression level.

settle_stream_ends() gives every stream of a pikepdf.Pdf final bytes that do not end with
CR before it is saved, and stream_findings() checks the written bytes against the rule:
every file sohoa writes or signs goes through it (ocr.pdfa, signing.pdfa).

The bytes are final only if qpdf writes them as they are: at the PDF/A save settings
(decode level "generalized", streams compressed) it passes a stream through untouched when
its /Filter is the single name /FlateDecode, or when a filter of the chain is one it does
not decode at that level (DCT, JBIG2, CCITT, JPX, RunLength); it compresses unfiltered
streams and decodes and recompresses the other chains itself. So unfiltered and other
chains are compressed here first, and object streams must be off (their bytes are qpdf's).
"""

from __future__ import annotations

import base64
import mmap
import re
import zlib
from collections.abc import Callable
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name

_CR = b"\r"
# Filters qpdf decodes (and then recompresses with Flate) at decode level "generalized".
_GENERALIZED = {"/FlateDecode", "/Fl", "/LZWDecode", "/LZW", "/ASCII85Decode", "/A85", "/ASCIIHexDecode", "/AHx"}
_FLATE = {"/FlateDecode", "/Fl"}


def _filters(stream: pikepdf.Stream) -> list[str]:
    value = stream.get(Name.Filter)
    if value is None:
        return []
    if isinstance(value, Array):
        return [str(v) for v in value]
    return [str(value)]


def _parms(stream: pikepdf.Stream, count: int) -> list:
    value = stream.get(Name.DecodeParms)
    if isinstance(value, Array):
        return list(value) + [None] * (count - len(value))
    return [value] + [None] * (count - 1)


def _text_like_streams(pdf: pikepdf.Pdf) -> set[tuple[int, int]]:
    """Streams whose decoded data may take a trailing newline without changing what they
    mean: page content, form XObjects, CMaps (a newline is whitespace to their parsers)."""
    found = set()
    for page in pdf.pages:
        contents = page.obj.get(Name.Contents)
        for item in contents if isinstance(contents, Array) else [contents]:
            if isinstance(item, pikepdf.Stream) and item.is_indirect:
                found.add(item.objgen)
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream):
            if obj.get(Name.Subtype) == Name.Form or obj.get(Name.Type) == Name.CMap:
                found.add(obj.objgen)
        elif isinstance(obj, Dictionary) and isinstance(obj.get(Name.ToUnicode), pikepdf.Stream):
            if obj.ToUnicode.is_indirect:
                found.add(obj.ToUnicode.objgen)
    return found


def _root_metadata(pdf: pikepdf.Pdf) -> tuple[int, int] | None:
    metadata = pdf.Root.get(Name.Metadata)
    return metadata.objgen if isinstance(metadata, pikepdf.Stream) and metadata.is_indirect else None


def settle_stream_ends(pdf: pikepdf.Pdf, *, needs_fix: Callable[[bytes], bool] | None = None) -> int:
    """Give every stream bytes that qpdf will write as they are and that do not end with
    CR. Returns how many streams had to be changed for their last byte.

    needs_fix: which raw bytes to change (default: ending with CR); tests pass a wider one
    to take every path on every stream.
    """
    needs_fix = needs_fix or (lambda raw: raw.endswith(_CR))
    text_like = _text_like_streams(pdf)
    metadata = _root_metadata(pdf)
    changed = 0
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Stream):
            continue
        if obj.objgen == metadata:
            # qpdf writes the XMP packet uncompressed; whitespace after it is allowed.
            packet = obj.read_bytes()
            if needs_fix(packet):
                obj.write(packet + b"\n")
                changed += 1
            continue
        filters = _filters(obj)
        if not filters or (all(f in _GENERALIZED for f in filters) and not (
                filters[0] in _FLATE and isinstance(obj.get(Name.Filter), Name))):
            try:
                decoded = obj.read_bytes()
            except pikepdf.PdfError:
                continue  # qpdf cannot decode it either and writes it as it is
            obj.write(zlib.compress(decoded), filter=Name.FlateDecode)
            filters = ["/FlateDecode"]
        raw = obj.read_raw_bytes()
        if not needs_fix(raw):
            continue
        try:
            if filters == ["/FlateDecode"] or filters == ["/Fl"]:
                _refit_flate(obj, obj.objgen in text_like)
            else:
                _wrap_ascii85(obj, raw, filters)
        except (zlib.error, pikepdf.PdfError):
            continue  # damaged data: left as it is, for the check after the save to name
        changed += 1
    return changed


def _refit_flate(stream: pikepdf.Stream, text_like: bool) -> None:
    """A zlib stream's last byte comes from the checksum of the decoded data: change the
    decoded data, not what it means."""
    if text_like:
        decoded = stream.read_bytes()
        for newlines in range(1, 4):  # one always does: it adds 10 to the checksum's low byte
            stream.write(zlib.compress(decoded + b"\n" * newlines), filter=Name.FlateDecode)
            if not stream.read_raw_bytes().endswith(_CR):
                break
        return
    parms = stream.get(Name.DecodeParms)
    if isinstance(parms, Dictionary) and int(parms.get(Name.Predictor, 1)) >= 10:
        # PNG rows already (img2pdf's images): the first row's previous row is zeros, so
        # None and Up decode alike, and so do Sub and Paeth; swapping its filter-type byte
        # moves the checksum and keeps the data and its compression.
        rows = bytearray(zlib.decompress(stream.read_raw_bytes()))
        swapped = {0: 2, 2: 0, 1: 4, 4: 1}.get(rows[0]) if rows else None
        if swapped is not None:
            rows[0] = swapped
            stream.write(zlib.compress(bytes(rows)), filter=Name.FlateDecode, decode_parms=parms)
            return
    # One row of a PNG "Up" predictor: the previous row of the first is zeros, so the row
    # decodes to itself, and its filter-type byte (2) moves the checksum.
    decoded = stream.read_bytes()
    parms = Dictionary(Predictor=12, Colors=1, BitsPerComponent=8, Columns=max(len(decoded), 1))
    stream.write(zlib.compress(b"\x02" + decoded), filter=Name.FlateDecode, decode_parms=parms)


def _wrap_ascii85(stream: pikepdf.Stream, raw: bytes, filters: list[str]) -> None:
    """Data qpdf passes through (DCT, JBIG2, CCITT, JPX ...) gets an ASCII85 layer in front,
    which always ends with `~>`; qpdf does not decode the chain, so it stays."""
    parms = _parms(stream, len(filters))
    encoded = base64.a85encode(raw) + b"~>"
    new_filters = Array([Name.ASCII85Decode, *(Name(f) for f in filters)])
    if any(p is not None for p in parms):
        stream.write(encoded, filter=new_filters, decode_parms=Array([None, *parms]))
    else:
        stream.write(encoded, filter=new_filters)


# -- the check on written bytes ------------------------------------------------------------

_WHITESPACE = b"\x00\t\n\x0c\r "
_DELIMITERS = b"()<>[]{}/%"
_OBJ_HEADER = re.compile(rb"(?<![0-9])(\d{1,10})[\x00\t\n\x0c\r ]+(\d{1,5})[\x00\t\n\x0c\r ]+obj(?![A-Za-z0-9])")
_MAX_DEPTH = 64
_KEYWORD_CHARS = re.compile(rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]+")
_NUMBER = re.compile(rb"[+-]?(\d+\.?\d*|\.\d+)")
_REF_TAIL = re.compile(rb"[\x00\t\n\x0c\r ]+(\d+)[\x00\t\n\x0c\r ]+R(?![A-Za-z0-9])")


class _Syntax(Exception):
    pass


class _Ref(tuple):
    pass


def _skip(data, i: int) -> int:
    n = len(data)
    while i < n:
        c = data[i]
        if c in _WHITESPACE:
            i += 1
        elif c == 0x25:  # %: a comment, to the end of the line
            while i < n and data[i] not in b"\r\n":
                i += 1
        else:
            break
    return i


def _parse(data, i: int, depth: int = 0):
    """(value, position after it) of the PDF object at i: enough of the syntax to read a
    stream dictionary (nested values, strings with parentheses) and know where it ends."""
    if depth > _MAX_DEPTH:
        raise _Syntax("nested too deep")
    i = _skip(data, i)
    if i >= len(data):
        raise _Syntax("end of file")
    c = data[i]
    if data[i:i + 2] == b"<<":
        result, i = {}, i + 2
        while True:
            i = _skip(data, i)
            if data[i:i + 2] == b">>":
                return result, i + 2
            key, i = _parse(data, i, depth + 1)
            if not isinstance(key, str) or not key.startswith("/"):
                raise _Syntax("dictionary key is not a name")
            result[key], i = _parse(data, i, depth + 1)
    if c == 0x3C:  # <: hex string
        end = data.find(b">", i)
        if end < 0:
            raise _Syntax("unterminated hex string")
        return b"", end + 1
    if c == 0x28:  # (: literal string, nested parentheses, backslash escapes
        level, i = 1, i + 1
        n = len(data)
        while i < n and level:
            ch = data[i]
            if ch == 0x5C:
                i += 2
                continue
            level += (ch == 0x28) - (ch == 0x29)
            i += 1
        if level:
            raise _Syntax("unterminated string")
        return b"", i
    if c == 0x5B:  # [
        items, i = [], i + 1
        while True:
            i = _skip(data, i)
            if i >= len(data):
                raise _Syntax("unterminated array")
            if data[i] == 0x5D:
                return items, i + 1
            item, i = _parse(data, i, depth + 1)
            items.append(item)
    if c == 0x2F:  # /name
        match = _KEYWORD_CHARS.match(data, i + 1)
        end = match.end() if match else i + 1
        return "/" + bytes(data[i + 1:end]).decode("latin-1"), end
    match = _NUMBER.match(data, i)
    if match:
        text = match.group()
        if b"." in text:
            return float(text), match.end()
        # "N G R": a reference
        ref = _REF_TAIL.match(data, match.end())
        if ref and not text.startswith((b"+", b"-")):
            return _Ref((int(text), int(ref.group(1)))), ref.end()
        return int(text), match.end()
    match = _KEYWORD_CHARS.match(data, i)
    if match:
        return bytes(match.group()).decode("latin-1"), match.end()
    raise _Syntax(f"unexpected byte {c:#x}")


_INTEGER_OBJECT = re.compile(rb"(?<![0-9])(\d{1,10})[\x00\t\n\x0c\r ]+(\d{1,5})[\x00\t\n\x0c\r ]+obj"
                             rb"[\x00\t\n\x0c\r ]*(\d{1,20})[\x00\t\n\x0c\r ]*endobj")


class _IntegerObjects:
    """The values of `N G obj <integer> endobj` (the last one of each, as a reader takes
    it), found in one pass over the file the first time an indirect /Length asks."""

    def __init__(self, data):
        self.data = data
        self.values: dict[tuple[int, int], int] | None = None

    def get(self, ref: _Ref) -> int | None:
        if self.values is None:
            self.values = {(int(m.group(1)), int(m.group(2))): int(m.group(3))
                           for m in _INTEGER_OBJECT.finditer(self.data)}
        return self.values.get(tuple(ref))


def _check_stream(data, keyword: int, dictionary: dict, where: str,
                  integers: _IntegerObjects) -> tuple[list[str], int]:
    """Findings for the stream whose `stream` keyword is at keyword, and where to go on."""
    findings = []
    after = keyword + len(b"stream")
    if data[after:after + 2] == b"\r\n":
        start = after + 2
    elif data[after:after + 1] == b"\n":
        start = after + 1
    else:
        findings.append(f"{where}: sau từ khóa stream không phải CR LF hoặc LF (ISO 19005-2 6.1.7.1)")
        start = after + 1 if data[after:after + 1] == b"\r" else after
    length = dictionary.get("/Length")
    if isinstance(length, _Ref):
        length = integers.get(length)
    if not isinstance(length, int) or length < 0 or start + length > len(data):
        findings.append(f"{where}: /Length của stream không đọc được hoặc vượt quá tệp")
        end = data.find(b"endstream", start)
        return findings, (len(data) if end < 0 else end + 9)
    end = data.find(b"endstream", max(start, start + length - 3))
    if end < 0:
        findings.append(f"{where}: không có từ khóa endstream sau dữ liệu stream")
        return findings, len(data)
    if data[end - 2:end] == b"\r\n" and end - 2 >= start:
        data_end = end - 2
    elif data[end - 1:end] in (b"\r", b"\n") and end - 1 >= start:
        data_end = end - 1
    else:
        findings.append(f"{where}: trước endstream không có dấu xuống dòng (ISO 19005-2 6.1.7.1)")
        data_end = end
    if data_end - start != length:
        findings.append(f"{where}: /Length {length} nhưng dữ liệu stream dài {data_end - start} byte"
                        " (ISO 19005-2 6.1.7.1)")
    return findings, end + 9


def stream_findings(data) -> list[str]:
    """Every stream of every object in the file's bytes (all revisions), checked against
    ISO 19005-2 6.1.7.1 as PDF/A validators read it. Never raises on damaged input."""
    findings = []
    integers = _IntegerObjects(data)
    position = 0
    while True:
        header = _OBJ_HEADER.search(data, position)
        if header is None:
            return findings
        where = f"đối tượng {int(header.group(1))} {int(header.group(2))}"
        try:
            value, end = _parse(data, header.end())
        except (_Syntax, RecursionError, ValueError):
            position = header.end()
            continue
        keyword = _skip(data, end)
        if isinstance(value, dict) and data[keyword:keyword + 6] == b"stream":
            found, position = _check_stream(data, keyword, value, where, integers)
            findings += found
        else:
            position = end


def file_stream_findings(path: Path) -> list[str]:
    """stream_findings() over a file, mapped rather than read into memory."""
    with open(path, "rb") as handle:
        if handle.seek(0, 2) == 0:
            return ["tệp rỗng"]
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return stream_findings(data)
