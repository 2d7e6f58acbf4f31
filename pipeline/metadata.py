"""The metadata known so far about a document, read from its text.

For now: the document's number and symbol (số ký hiệu) from the `Số:` line of the header,
tolerant of the OCR damage seen most (`S6:`, `Sô:`, `So:`); a full header reader replaces
this later.
"""

from __future__ import annotations

import re
import unicodedata

_NUMBER_LINE = re.compile(
    r"\b(?:S[ốôoóòồổỗộơờớởỡợ6]|56)\s*[:.;]?\s*"
    r"(?P<number>\d{1,6}(?:\s*/\s*\d{4})?\s*/\s*[A-ZĐ0-9][A-ZĐa-zđ0-9()-]*(?:-[A-ZĐ0-9]+)*)",
    re.IGNORECASE,
)


def find_document_number(text: str) -> str | None:
    """The first `Số: 268/SGTVT-VP`-like number in the text, spaces removed, NFC."""
    text = unicodedata.normalize("NFC", text)
    for match in _NUMBER_LINE.finditer(text):
        number = re.sub(r"\s+", "", match.group("number")).rstrip(".,;-")
        if "/" in number:
            return number
    return None
