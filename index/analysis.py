"""Vietnamese text analysis shared by every search engine.

All language handling lives here, in plain Python, so that the Tantivy and Whoosh engines
index and query exactly the same terms. Engines only receive lists of ready-made terms and
never run their own language analysis.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

from core.document_types import DOCUMENT_TYPES
from core.text import fold  # noqa: F401  one fold for search, the header reader and duplicates

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


# Per-word caches. Administrative text repeats a small vocabulary, so normalising and folding
# each distinct word once (instead of the whole text) makes analysis several times faster.
# Bounded: cleared when full, which only costs recomputation.
_CACHE_LIMIT = 500_000
_NORMAL_WORDS: dict[str, str] = {}
_FOLDED_WORDS: dict[str, str] = {}


def _normal_word(raw: str) -> str:
    word = _NORMAL_WORDS.get(raw)
    if word is None:
        if len(_NORMAL_WORDS) >= _CACHE_LIMIT:
            _NORMAL_WORDS.clear()
        word = _NORMAL_WORDS[raw] = normalize(raw)
    return word


def _folded_word(word: str) -> str:
    folded = _FOLDED_WORDS.get(word)
    if folded is None:
        if len(_FOLDED_WORDS) >= _CACHE_LIMIT:
            _FOLDED_WORDS.clear()
        folded = _FOLDED_WORDS[word] = fold(word)
    return folded


# Whitespace-separated words ("tỉnh,", "268/SGTVT-VP") -> their normalised tokens.
_WORD_TOKENS: dict[str, tuple[str, ...]] = {}


def tokenize(text: str) -> list[str]:
    """Normalised tokens: maximal runs of letters/digits, in order.

    Same result as finding tokens in normalize(text): whitespace always separates tokens,
    and a token's boundaries do not depend on its normalisation (tone moves stay inside the
    syllable). So the text is split at whitespace and each distinct word is analysed once,
    through a cache: several times faster on administrative text, which repeats its words.
    """
    known = _WORD_TOKENS.get
    tokens: list[str] = []
    extend = tokens.extend
    for word in unicodedata.normalize("NFC", text).lower().split():
        word_tokens = known(word)
        if word_tokens is None:
            if len(_WORD_TOKENS) >= _CACHE_LIMIT:
                _WORD_TOKENS.clear()
            word_tokens = _WORD_TOKENS[word] = tuple(_normal_word(raw) for raw in _TOKEN.findall(word))
        extend(word_tokens)
    return tokens


def fold_tokens(tokens: list[str]) -> list[str]:
    """Fold already-normalised tokens one by one, keeping positions aligned with `tokens`."""
    known = _FOLDED_WORDS.get
    return [known(token) or _folded_word(token) for token in tokens]


def token_spans(text: str, limit: int | None = None) -> list[tuple[int, int, str]]:
    """(start, end, normalised token) for each token of `text` (the first `limit` ones),
    offsets into `text` itself. For snippets: the marks go around the words as written."""
    known = _NORMAL_WORDS.get
    return [
        (m.start(), m.end(), known(raw := m.group().lower()) or _normal_word(raw))
        for m in itertools.islice(_TOKEN.finditer(text), limit)
    ]


# -- OCR-error tolerance -------------------------------------------------------------------

# A query word this long or longer (in letters) also matches words one edit away. Shorter
# words have too many neighbours ("bản" is one edit from "bạn", "bán", "ban", "bàn" ...).
FUZZY_MIN_LETTERS = 5


def fuzzy_form(token: str) -> str | None:
    """The folded form to match within one edit, or None if `token` is not eligible.

    Only words made of letters: a number one digit off is another number.
    """
    if len(token) >= FUZZY_MIN_LETTERS and token.isalpha():
        return _folded_word(token)
    return None


def within_one_edit(a: str, b: str) -> bool:
    """True if `a` and `b` differ by at most one inserted, deleted or replaced letter
    (Levenshtein distance <= 1, as both engines count it). OCR misreads letters; it does
    not swap them, so a swap counts as two edits."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    prefix = 0
    shortest = min(la, lb)
    while prefix < shortest and a[prefix] == b[prefix]:
        prefix += 1
    if la == lb:
        return a[prefix + 1:] == b[prefix + 1:]  # one substitution
    longer, shorter = (a, b) if la > lb else (b, a)
    return longer[prefix + 1:] == shorter[prefix:]  # one insertion/deletion


# -- keyword fields --------------------------------------------------------------------------


def keyword(value: str) -> str:
    """Canonical form of a filter value (type, profile, signature status): folded, single
    spaces. "Quyết định", "QUYẾT  ĐỊNH" and "quyet dinh" are the same key."""
    return " ".join(_folded_word(token) for token in tokenize(value))


# A type filter accepts the name or the symbol: "--type QĐ" and "--type 'quyết định'" are the same.
# Symbols are matched as written (case matters: "CT" Chỉ thị, "CTr" Chương trình), then
# folded and upper-cased so that "QD" or "qđ" find Quyết định too; where folding merges two
# symbols (ĐA/DA, HĐ/HD) only the exact spelling decides.
_folded_symbols: dict[str, list[str]] = {}
for _symbol in DOCUMENT_TYPES:
    _folded_symbols.setdefault(fold(_symbol).upper(), []).append(_symbol)
_TYPE_BY_FOLDED_SYMBOL = {
    key: DOCUMENT_TYPES[symbols[0]] for key, symbols in _folded_symbols.items() if len(symbols) == 1
}


def document_type_key(value: str) -> str:
    """The keyword of a document type given by name ("Quyết định") or symbol ("QĐ")."""
    stripped = unicodedata.normalize("NFC", value.strip())
    name = DOCUMENT_TYPES.get(stripped) or _TYPE_BY_FOLDED_SYMBOL.get(fold(stripped).upper())
    return keyword(name or stripped)


def normalize_number(number: str) -> str:
    """Canonical form of a document number/symbol ("268/SGTVT-VP", "30/2020/NĐ-CP").

    Matched as one untokenised value, so case and stray whitespace must not matter.
    """
    # No spaces belong in a number ("No spaces around / and -", Nghị định 30), and "NĐ" is
    # often typed "ND": the key is folded, so both spellings are the same number.
    return fold("".join(number.split())).upper()


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

    @property
    def has_fuzzy(self) -> bool:
        return any(self.fuzzy_form(clause) for clause in self.clauses)

    @staticmethod
    def fuzzy_form(clause: tuple[str, ...]) -> str | None:
        """For a one-word clause of FUZZY_MIN_LETTERS letters or more: its folded form, which
        engines also match within one edit (scored below any exact match). Phrases are exact."""
        return fuzzy_form(clause[0]) if len(clause) == 1 else None


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
