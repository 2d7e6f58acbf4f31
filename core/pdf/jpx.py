"""JPEG 2000 images in a PDF/A-2 file: kept as they are, checked here.

PDF/A-2 allows JPXDecode images (ISO 19005-2 6.2.8.3) under four conditions on the JPEG
2000 data: 1, 3 or 4 colour channels; one bit depth for all of them, from 1 to 38; a colour
specification method (METH) of 1, 2 or 3; and, when there are several colour
specifications, exactly one marked as the one to use (APPROX = 1). pikepdf.pdfa does not
look into JPEG 2000 data and reports each such image as "unsupported": those reports are
replaced by this check (and the `page` validator checks the same in the tests).
"""

from __future__ import annotations

import struct

import pikepdf
from pikepdf import Name

_UNSUPPORTED = "JPEG 2000 images are not supported"
_CODESTREAM = b"\xff\x4f\xff\x51"  # SOC then SIZ: a bare codestream, no JP2 boxes


def without_checked_jpx(findings: list[str]) -> list[str]:
    """pikepdf's "unsupported" reports on JPEG 2000 images, which jpx_findings replaces."""
    return [finding for finding in findings if _UNSUPPORTED not in finding]


def jpx_findings(pdf: pikepdf.Pdf) -> list[str]:
    findings = []
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Stream) or obj.get(Name.Subtype) != Name.Image:
            continue
        filters = obj.get(Name.Filter)
        if filters != Name.JPXDecode and not (isinstance(filters, pikepdf.Array) and Name.JPXDecode in filters):
            continue
        problem = _problem(obj.read_raw_bytes() if filters == Name.JPXDecode else None, obj)
        if problem:
            findings.append(f"ảnh JPEG 2000 (đối tượng {obj.objgen[0]}): {problem} (ISO 19005-2 6.2.8.3)")
    return findings


def _problem(data: bytes | None, image: pikepdf.Stream) -> str | None:
    if data is None:
        return "JPXDecode sau một bộ lọc khác"
    if data.startswith(_CODESTREAM):
        if Name.ColorSpace not in image:
            return "dữ liệu JPEG 2000 trần, không có không gian màu"
        return _siz_problem(data[4:])
    boxes = dict(_boxes(data))
    header = boxes.get(b"jp2h")
    if header is None:
        return "không có hộp jp2h"
    inner = list(_boxes(header))
    ihdr = next((content for kind, content in inner if kind == b"ihdr"), None)
    if ihdr is None or len(ihdr) < 14:
        return "không có hộp ihdr"
    channels, depth = struct.unpack(">H", ihdr[8:10])[0], ihdr[10]
    if channels not in (1, 3, 4):
        return f"{channels} kênh màu (chỉ được 1, 3 hoặc 4)"
    if depth == 0xFF:
        depths = next((content for kind, content in inner if kind == b"bpcc"), b"")
        if len(set(depths)) != 1:
            return "các kênh màu có độ sâu bit khác nhau"
        depth = depths[0]
    if not 1 <= (depth & 0x7F) + 1 <= 38:
        return "độ sâu bit ngoài khoảng 1-38"
    colours = [content for kind, content in inner if kind == b"colr"]
    if len(colours) > 1 and sum(1 for c in colours if len(c) > 2 and c[2] == 1) != 1:
        return "nhiều đặc tả màu nhưng không đúng một đặc tả APPROX = 1"
    chosen = next((c for c in colours if len(c) > 2 and c[2] == 1), colours[0] if colours else None)
    if chosen is None and Name.ColorSpace not in image:
        return "không có đặc tả màu"
    if chosen is not None and chosen[0] not in (1, 2, 3):
        return f"phương pháp đặc tả màu METH = {chosen[0]} (chỉ được 1, 2 hoặc 3)"
    return None


def _siz_problem(siz: bytes) -> str | None:
    if len(siz) < 40:
        return "đoạn SIZ không đủ"
    components = struct.unpack(">H", siz[36:38])[0]
    if components not in (1, 3, 4):
        return f"{components} kênh màu (chỉ được 1, 3 hoặc 4)"
    depths = {siz[38 + 3 * i] & 0x7F for i in range(components) if 38 + 3 * i < len(siz)}
    if len(depths) != 1:
        return "các kênh màu có độ sâu bit khác nhau"
    return None


def _boxes(data: bytes):
    """(type, content) of each JP2 box in data, in order."""
    at = 0
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        start = at + 8
        if length == 1 and at + 16 <= len(data):
            length, start = struct.unpack(">Q", data[at + 8:at + 16])[0], at + 16
        elif length == 0:
            length = len(data) - at
        if length < start - at:
            return
        yield kind, data[start:at + length]
        at += length
