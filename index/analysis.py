"""Vietnamese text analysis shared by every search engine.

All language handling lives here, in plain Python, so that the tantivy engine and any later
engine (e.g. Whoosh) index and query exactly the same terms. Engines only receive lists of
ready-made terms and never run their own language analysis.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Vietnamese tone marks as combining characters (after NFD): grave, acute, tilde, hook above,
# dot below. Vowel-quality marks (circumflex U+0302, breve U+0306, horn U+031B) are not tones.
_TONES = "\u0300\u0301\u0303\u0309\u0323"

# Old-style tone placement ("hòa", "khỏe", "thủy") puts the tone on the first vowel of the
# open-syllable pairs oa, oe, uy; new style ("hoà", "khoẻ", "thuỷ") on the second. We
# normalise to the new style: it also repairs the typo "qúy" -> "quý", since after "q" the
# "u" is part of the consonant and the tone always belongs on "y".
# Only syllables that end in the pair vary: a following letter (hoàng, quyết, thuyền) or a
# following combining mark (a vowel-quality mark, e.g. "uyê") means there is no variation.
_OLD_STYLE_TONE = re.compile(
    rf"(o)([{_TONES}])([ae])(?![^\W_]|[\u0300-\u036f])"
    rf"|(u)([{_TONES}])(y)(?![^\W_]|[\u0300-\u036f])"
)

# A token is a maximal run of letters/digits (\w without the underscore). Combining marks
# are allowed inside a token so a letter with a mark that has no precomposed form (odd OCR
# output) does not split the word in two.
_TOKEN = re.compile(r"[^\W_](?:[^\W_]|[\u0300-\u036f])*")

# Characters accepted as phrase delimiters: ASCII quote plus the typographic quotes that
# word processors and Vietnamese keyboards substitute for it.
_QUOTES = re.compile(r"[\"\u201c\u201d\u201e]")


def _move_tone(match: re.Match[str]) -> str:
    first, tone, second = (g for g in match.groups() if g is not None)
    return first + second + tone


def normalize(text: str) -> str:
    """NFC, lower case, and one tone-placement convention (new style: hoà, khoẻ, thuỷ)."""
    # Work on the decomposed form, where a tone is a separate character that can be moved;
    # NFD and NFC input (OCR engines emit both) end up identical after the final NFC.
    decomposed = unicodedata.normalize("NFD", text).lower()
    return unicodedata.normalize("NFC", _OLD_STYLE_TONE.sub(_move_tone, decomposed))


def fold(text: str) -> str:
    """normalize(), then strip every diacritic; 'đ' becomes 'd' (it has no NFD decomposition)."""
    decomposed = unicodedata.normalize("NFD", normalize(text))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped.replace("đ", "d"))


def tokenize(text: str) -> list[str]:
    """Normalised tokens: maximal runs of letters/digits, in order."""
    return _TOKEN.findall(normalize(text))


def fold_tokens(tokens: list[str]) -> list[str]:
    """Fold already-normalised tokens one by one, keeping positions aligned with `tokens`."""
    return [fold(token) for token in tokens]


def normalize_number(number: str) -> str:
    """Canonical form of a document number/symbol ("268/SGTVT-VP", "30/2020/NĐ-CP").

    Matched as one untokenised value, so case and stray whitespace must not matter.
    """
    collapsed = " ".join(unicodedata.normalize("NFC", number).split())
    return collapsed.upper()


@dataclass(frozen=True)
class ParsedQuery:
    """Engine-independent form of a user query.

    `clauses`: every clause must match. A clause is a tuple of normalised tokens: one token is
    a single word, several tokens a phrase (adjacent words, in order).
    `number`: the whole query as a document-number key; engines rank a document whose number
    equals it first.
    """

    clauses: tuple[tuple[str, ...], ...]
    number: str

    @property
    def is_empty(self) -> bool:
        return not self.clauses


def parse_query(query: str) -> ParsedQuery:
    """Split user text into words and "quoted phrases". Never raises on odd input.

    Quotes toggle phrase mode; an unbalanced quote runs to the end of the query. Everything
    else that is not a letter/digit is a separator, so no character is special.
    """
    clauses: list[tuple[str, ...]] = []
    for position, segment in enumerate(_QUOTES.split(query)):
        tokens = tokenize(segment)
        inside_quotes = position % 2 == 1
        if inside_quotes and len(tokens) > 1:
            clauses.append(tuple(tokens))
        else:
            clauses.extend((token,) for token in tokens)
    # A repeated word adds nothing to an AND query; drop duplicates, keep the order.
    unique = tuple(dict.fromkeys(clauses))
    return ParsedQuery(clauses=unique, number=normalize_number(query))
