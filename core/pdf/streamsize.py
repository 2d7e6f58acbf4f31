"""How long a PDF stream is once decoded, measured without holding it decoded.

A few hundred kilobytes of Flate data can inflate to gigabytes (a "decompression bomb"):
40 MB of `q Q` fits in 150 KB. qpdf, pikepdf and poppler decode a stream whole before
anything looks at it, so the size is measured here first, a megabyte at a time, and the
measuring stops as soon as the answer is "more than the limit".
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib

import pikepdf
from pikepdf import Name

_CHUNK = 1 << 20

_FLATE = {"/FlateDecode", "/Fl"}
_LZW = {"/LZWDecode", "/LZW"}
_RUN_LENGTH = {"/RunLengthDecode", "/RL"}
_HEX = {"/ASCIIHexDecode", "/AHx"}
_A85 = {"/ASCII85Decode", "/A85"}
_DECODED = _FLATE | _LZW | _RUN_LENGTH | _HEX | _A85


def decoded_size(stream: pikepdf.Stream, limit: int) -> int:
    """The stream's decoded length; any number above limit once it is known to be longer.

    Filters that only shrink their input (ASCIIHex, ASCII85) are decoded whole: the result
    is smaller than the file. Flate, LZW and run-length are decoded a bounded amount at a
    time. Image codecs (DCT, CCITT, JBIG2, JPX) are not decoded: an image's size is its
    declared width × height, which the pixel limit checks. Damaged data counts as far as it
    decodes; refusing damage is the readability check's job.
    """
    filters = stream.get(Name.Filter)
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)] if filters else []
    parameters = stream.get(Name.DecodeParms)
    if not names or names[0] not in _DECODED:
        return _length(stream)  # not read at all: a JPEG page is megabytes for nothing
    data = stream.read_raw_bytes()
    for position, name in enumerate(names):
        last = position == len(names) - 1
        if name in _FLATE:
            if last:
                return _count(_inflate(data), limit)
            data = _collect(_inflate(data), limit)
        elif name in _LZW:
            early = _parameter(parameters, position, "/EarlyChange", 1)
            data = _collect(_lzw(data, early), limit)
        elif name in _RUN_LENGTH:
            data = _collect(_run_length(data), limit)
        elif name in _HEX:
            data = _ascii_hex(data)
        elif name in _A85:
            data = _ascii85(data)
        else:
            break
        if len(data) > limit:
            return len(data)
    return len(data)


def _length(stream: pikepdf.Stream) -> int:
    try:
        return max(int(stream.get(Name.Length, 0)), 0)
    except (TypeError, ValueError):
        return 0


def _parameter(parameters, position: int, key: str, default: int) -> int:
    if isinstance(parameters, pikepdf.Array):
        parameters = parameters[position] if position < len(parameters) else None
    if isinstance(parameters, pikepdf.Dictionary) and key in parameters:
        try:
            return int(parameters[key])
        except (TypeError, ValueError):
            return default
    return default


def _count(chunks, limit: int) -> int:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            break
    return total


def _collect(chunks, limit: int) -> bytes:
    """The decoded bytes, up to just past limit (a filter after this one needs them)."""
    out = bytearray()
    for chunk in chunks:
        out += chunk
        if len(out) > limit:
            break
    return bytes(out)


def _inflate(data: bytes):
    inflater = zlib.decompressobj()
    try:
        chunk = inflater.decompress(data, _CHUNK)
        while chunk:
            yield chunk
            # Called again even without input left: zlib may hold output it did not give yet.
            chunk = inflater.decompress(inflater.unconsumed_tail, _CHUNK)
    except zlib.error:
        return


def _lzw(data: bytes, early: int):
    """PDF's LZW (ISO 32000-1, 7.4.4): codes of 9 to 12 bits, most significant bit first."""
    table = [bytes([i]) for i in range(256)] + [b"", b""]
    width, buffer, bits, previous = 9, 0, 0, b""
    out = bytearray()
    for byte in data:
        buffer = (buffer << 8) | byte
        bits += 8
        while bits >= width:
            bits -= width
            code = (buffer >> bits) & ((1 << width) - 1)
            buffer &= (1 << bits) - 1
            if code == 256:
                del table[258:]
                width, previous = 9, b""
                continue
            if code == 257:
                yield bytes(out)
                return
            if code < len(table):
                entry = table[code]
                if previous and len(table) < 4096:
                    table.append(previous + entry[:1])
            elif code == len(table) and previous and len(table) < 4096:
                entry = previous + previous[:1]
                table.append(entry)
            else:
                break  # damaged: what was decoded counts
            out += entry
            previous = entry
            if len(table) + early >= (1 << width) and width < 12:
                width += 1
            if len(out) >= _CHUNK:
                yield bytes(out)
                out.clear()
        else:
            continue
        break
    yield bytes(out)


def _run_length(data: bytes):
    out = bytearray()
    position = 0
    while position < len(data):
        length = data[position]
        if length == 128:
            break
        if length < 128:
            out += data[position + 1:position + 2 + length]
            position += 2 + length
        else:
            out += data[position + 1:position + 2] * (257 - length)
            position += 2
        if len(out) >= _CHUNK:
            yield bytes(out)
            out.clear()
    yield bytes(out)


def _ascii_hex(data: bytes) -> bytes:
    digits = re.sub(rb"[^0-9A-Fa-f>]", b"", data).split(b">", 1)[0]
    if len(digits) % 2:
        digits += b"0"
    try:
        return binascii.unhexlify(digits)
    except binascii.Error:
        return b""


def _ascii85(data: bytes) -> bytes:
    text = re.sub(rb"\s", b"", data)
    if text.startswith(b"<~"):
        text = text[2:]
    text = text.split(b"~>", 1)[0]
    try:
        return base64.a85decode(text)
    except ValueError:
        return b""
