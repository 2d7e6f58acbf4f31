"""Text operations every layer shares, defined once."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """The form two spellings of one word share: lower case, every diacritic removed, `đ`
    as `d` (it has no decomposition), NFC. `Quyết Định` and `quyet dinh` fold alike, whatever
    the input's normal form or tone placement (hoà, hòa): search matches unaccented queries
    with it, the header reader tells misread words apart, a duplicate key ignores accents."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped.replace("đ", "d"))
