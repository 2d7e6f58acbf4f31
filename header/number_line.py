"""The document's number and symbol (số ký hiệu) from a `Số:` line in flat text, tolerant of
the OCR damage seen most (`S6:`, `Sô:`, `So:`).

The header reader's own fallback (header.read_header): it reads the number from the words'
positions in the `Số:` row, and only when no such row was found does it look for a `Số:` line
here. One reader, so the catalog and the PDF/A's XMP hold the same number; bench/extraction.py
also compares the header reader with this line reader alone.
"""

from __future__ import annotations

import re
import unicodedata

_NUMBER_LINE = re.compile(
    r"\b(?:S[ốôoóòồổỗộơờớởỡợ6]|56)\s*[:.;]?\s*"
    r"(?P<number>\d{1,6}(?:\s*/\s*\d{4})?\s*/\s*[A-ZĐ0-9][A-ZĐa-zđ0-9()-]*(?:-[A-ZĐ0-9]+)*)",
    re.IGNORECASE,
)


_BODY_OPENING = re.compile(r"^\s*(?:Căn cứ|Kính gửi|Hôm nay|Theo|Xét|Thực hiện|Điều)\b", re.IGNORECASE | re.MULTILINE)


def find_document_number(text: str, *, header_only: bool = False) -> str | None:
    """The first `Số: 268/SGTVT-VP`-like number in the text, spaces removed, NFC.

    header_only: only a `Số:` that starts a line (a capital S) above the first line of the
    body: a number cited in the body ("Căn cứ Quyết định số 2119/QĐ-UBND") is another
    document's, never this one's."""
    text = unicodedata.normalize("NFC", text)
    if header_only:
        opening = _BODY_OPENING.search(text)
        text = text[:opening.start()] if opening else text
    for match in _NUMBER_LINE.finditer(text):
        if header_only and (match.group(0)[0] not in "S5" or text[:match.start()].rsplit("\n", 1)[-1].strip()):
            continue
        number = re.sub(r"\s+", "", match.group("number")).rstrip(".,;-")
        if "/" in number:
            return number
    return None
