"""The one shape a signature's /ByteRange may have, checked before anything trusts it.

A signature signs two ranges of the file: from byte 0 to its /Contents hex string, and from
just after that string to the end of the revision it closes: `[0 a b c]`, the gap [a, b)
being exactly `<...>`, b + c the end of a revision (%%EOF). Anything else (more or fewer
numbers, negative or absurd ones, a gap that hides more than the signature value, ranges
that stop inside a revision or run past the file) leaves bytes outside the signature that
a reader still shows: the signature then does not vouch for the file (ISO 32000-1 12.8.1,
ISO 19005-2 6.4.3), whatever its cryptography says.
"""

from __future__ import annotations

import re

_HEX_STRING = re.compile(rb"<[0-9A-Fa-f\x00\t\n\x0c\r ]*>\Z")


def revision_ends(data: bytes) -> set[int]:
    """Offsets where a revision of the file ends (after %%EOF, with or without its EOL)."""
    ends = set()
    for match in re.finditer(rb"%%EOF(\r\n|\r|\n)?", data):
        ends.update({match.start() + 5, match.end()})
    return ends


def _integers(byte_range) -> list[int] | None:
    try:
        values = list(byte_range)
    except TypeError:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return None
    return [int(v) for v in values]


def byte_range_problem(byte_range, data: bytes, ends: set[int] | None = None) -> str | None:
    """Why byte_range (a pikepdf or pyHanko array) is not a signature's proper shape over
    data, in Vietnamese; None when it is."""
    values = _integers(byte_range)
    if values is None:
        return "ByteRange bất thường: không phải một dãy số nguyên"
    if len(values) != 4:
        return f"ByteRange bất thường: {len(values)} số thay vì 4 (hai đoạn được ký)"
    start, first, second, length = values
    if min(values) < 0:
        return "ByteRange bất thường: có số âm"
    if second + length > len(data) or first > len(data):
        return "ByteRange bất thường: trỏ ra ngoài tệp"
    if second < first:
        return "ByteRange bất thường: hai đoạn được ký chồng lên nhau hoặc ngược thứ tự"
    if start != 0:
        return "chữ ký không phủ toàn bộ tệp: phần đầu tệp không được ký (ByteRange)"
    if not _HEX_STRING.match(data[first:second]):
        return "chữ ký không phủ toàn bộ tệp: khoảng giữa hai đoạn được ký không chỉ là giá trị chữ ký (ByteRange)"
    if second + length not in (revision_ends(data) if ends is None else ends):
        return "chữ ký không phủ toàn bộ tệp: đoạn được ký dừng giữa một phiên bản của tệp (ByteRange)"
    return None
