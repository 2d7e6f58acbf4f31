"""Normalising what OCR read: folding, digit look-alikes, spacing, known capitals.

Each function repairs one kind of damage Tesseract does to administrative headers: lost or
wrong diacritics (`GIAM ĐOC`), letters for digits (`O`/`0`, `l`/`1`), stray spaces around
punctuation (`Số : 268 / SGTVT - VP`). None of them guesses: a repair is made only when the
damaged form points to exactly one known form.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from core.text import fold

DASHES = "-–—_~+•*=·"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# Marks Vietnamese letters carry (tones; circumflex, breve, horn). Tesseract sometimes emits
# others (Ñ, Ä, ö, the Icelandic Ð for Đ): they are OCR noise on a base letter.
_VIETNAMESE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b")
_FOREIGN_LETTERS = str.maketrans({"Ð": "Đ", "ð": "đ", "ƒ": "f", "ı": "i", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O"})


_VOWELS = frozenset("aeiouyAEIOUY")


def vietnamese_letters(word: str) -> str:
    """The word in NFC with only marks Vietnamese letters have, on vowels only
    (`ÑC` -> `NC`, `CÐ` -> `CĐ`, `Höa` -> `Hoa`)."""
    decomposed = unicodedata.normalize("NFD", word.translate(_FOREIGN_LETTERS))
    kept = []
    base = ""
    for ch in decomposed:
        if not unicodedata.combining(ch):
            base = ch
            kept.append(ch)
        elif ch in _VIETNAMESE_MARKS and base in _VOWELS:
            kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept))


_WORD_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lo", "Nd"})


def has_letter_or_digit(text: str) -> bool:
    return any(unicodedata.category(ch) in _WORD_CATEGORIES for ch in text)


def is_noise(word: str) -> bool:
    """A "word" without a letter or digit that is not a list dash (`ˆ`, `~`, `'`)."""
    return not has_letter_or_digit(word) and word not in DASHES and word not in ("-", "–", "—")


def split_glued_words(text: str) -> str:
    """Words OCR glued by a lost space, parted again where a small letter meets a capital
    (`ThịMỹ` -> `Thị Mỹ`), and a dash between two capitalised words made a space."""
    out = []
    for index, ch in enumerate(text):
        previous = text[index - 1] if index else ""
        following = text[index + 1] if index + 1 < len(text) else ""
        if ch.isupper() and previous.islower():
            out.append(" ")
        if ch in "-_~" and previous.isalpha() and following.isupper():
            out.append(" ")
            continue
        out.append(ch)
    return "".join(out)


def fold_letters(text: str) -> str:
    """fold() keeping letters and digits only: `Nơi nhận:` -> `noinhan`."""
    return "".join(ch for ch in fold(text) if ch.isalnum())


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance, or limit + 1 when it is larger (short strings: anchors, words)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return min(previous[-1], limit + 1)


def similar(read: str, expected: str) -> bool:
    """Folded words the same but for OCR damage: one edit in 4-7 letters, two in longer."""
    read, expected = fold_letters(read), fold_letters(expected)
    if read == expected:
        return True
    if len(expected) < 4:
        return False
    return edit_distance(read, expected, 2) <= (1 if len(expected) < 8 else 2)


def matches_phrase(words: Sequence[str], phrase: Sequence[str], needed: float = 0.6) -> int | None:
    """Where `phrase` (folded words) starts in `words`: its first word there, and at least
    `needed` of its words found in order (OCR splits, merges and mangles some); of several
    places, the one matching most words. None when nowhere."""
    folded = [fold_letters(w) for w in words]
    best, best_score = None, (0, False)
    for start in range(len(folded)):
        if not _same_word(folded[start], phrase[0]):
            continue
        hits, position = 1, start + 1
        for expected in phrase[1:]:
            for offset in range(position, min(position + 2, len(folded))):
                if _same_word(folded[offset], expected):
                    hits += 1
                    position = offset + 1
                    break
        score = (hits, folded[start] == phrase[0])
        if hits >= max(2, needed * len(phrase)) and score > best_score:
            best, best_score = start, score
    return best


def _same_word(read: str, expected: str) -> bool:
    return read == expected or (len(expected) >= 3 and edit_distance(read, expected, 1) <= 1)


# -- digits --------------------------------------------------------------------------------

_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "Q": "0", "D": "0", "l": "1", "I": "1", "i": "1",
                                   "|": "1", "!": "1", "]": "1", "[": "1", "S": "5", "s": "5", "B": "8",
                                   "Z": "2", "z": "2", "g": "9", "G": "6", "b": "6", "?": "7"})


def as_digits(token: str) -> str | None:
    """The digits a token stands for (`2O18` -> `2018`, `l5` -> `15`); None if it is not one."""
    token = token.strip(".,;:'\"`")
    if not token:
        return None
    repaired = token.translate(_DIGIT_LOOKALIKES)
    if not repaired.isdigit() or sum(ch.isdigit() for ch in token) * 2 < len(token):
        return None
    return repaired


# -- punctuation and spacing ----------------------------------------------------------------

_SPACE_BEFORE = re.compile(r"\s+([,.;:!?)\]%])")
_SPACE_AFTER = re.compile(r"([(\[])\s+")
_SPACES = re.compile(r"\s+")


def tidy(text: str) -> str:
    """NFC, single spaces, no space before `,.;:)` nor after `(`."""
    text = _SPACES.sub(" ", nfc(text)).strip()
    return _SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", text))


def strip_dash(text: str) -> tuple[bool, str]:
    """(whether the line opened with a list dash, the line without it)."""
    stripped = text.lstrip()
    if stripped[:1] and stripped[0] in DASHES:
        return True, stripped[1:].lstrip()
    return False, stripped


def is_upper_text(text: str) -> bool:
    """Mostly capitals (headings, bodies, titles): at least 80 % of the letters."""
    letters = [ch for ch in text if ch.isalpha()]
    return len(letters) >= 2 and sum(ch.isupper() for ch in letters) >= 0.8 * len(letters)


def is_name_like(text: str) -> bool:
    """A person's name as printed under a signature: 2-6 words, each capitalised."""
    words = text.split()
    if not 2 <= len(words) <= 6:
        return False
    return all(w[0].isupper() and w.isalpha() and (len(w) == 1 or not w[1:].isupper()) for w in words)


# -- known capitals: administrative words and place names ------------------------------------


class Lexicon:
    """Known phrases in capitals, found again in OCR text whatever happened to their
    diacritics (and, in phrases of 6 letters or more, one wrong, lost or extra letter).

    A repair is made only when the damaged words point to exactly one known phrase. The
    one-letter neighbours are indexed by their one-letter deletions (as SymSpell does), so a
    look-up costs a few dictionary probes, not a scan of the lexicon.
    """

    def __init__(self, phrases: Iterable[str], *, fuzzy: bool = True):
        """phrases: "HỎA TỐC/HOẢ TỐC" lists spellings of one phrase, the first the usual one;
        a spelling as printed is kept, a damaged one becomes the usual spelling."""
        exact: dict[str, set[str]] = {}
        self._spellings: dict[str, tuple[str, ...]] = {}
        for entry in phrases:
            spellings = tuple(nfc(s.strip()) for s in entry.split("/") if s.strip())
            exact.setdefault(_key(spellings[0].split()), set()).add(spellings[0])
            self._spellings[spellings[0]] = tuple(s.upper() for s in spellings)
        self._exact = {key: next(iter(found)) if len(found) == 1 else None for key, found in exact.items()}
        deletions: dict[str, set[str]] = {}
        for key, phrase in self._exact.items():
            if phrase is not None and len(key.replace(" ", "")) >= 6:
                for variant in _deletions(key):
                    deletions.setdefault(variant, set()).add(phrase)
                deletions.setdefault(key, set()).add(phrase)
        self._near = deletions if fuzzy else {}
        self.longest = max((len(p.split()) for p in self._exact.values() if p), default=1)

    def lookup(self, words: Sequence[str], *, fuzzy: bool = True) -> str | None:
        key = _key(words)
        if key in self._exact or not fuzzy:
            return self._exact.get(key)
        if len(key.replace(" ", "")) < 6:
            return None
        found: set[str] = set()
        for variant in (key, *_deletions(key)):
            found |= self._near.get(variant, set())
        found = {p for p in found if len(p.split()) == len(words)}
        return next(iter(found)) if len(found) == 1 else None

    def repair(self, words: Sequence[str]) -> tuple[list[str], int]:
        """The words with every known phrase spelled right; and how many words changed.

        Phrases whose folded words match exactly are taken first (longest first); a phrase
        one letter off only where no exact match starts.
        """
        out: list[str] = []
        changed = i = 0
        while i < len(words):
            size, phrase = self._longest_match(words, i)
            if phrase is None:
                out.append(words[i])
                i += 1
                continue
            window = words[i:i + size]
            i += size
            as_read = " ".join(_core(w) for w in window)
            if nfc(as_read).upper() in self._spellings[phrase]:
                out.extend(window)  # printed so, in an accepted spelling
                continue
            fixed = [_core(known) + (_trailing_punctuation(read) or _trailing_punctuation(known))
                     for known, read in zip(phrase.split(), window)]
            changed += sum(a != b for a, b in zip(fixed, window))
            out.extend(fixed)
        return out, changed

    def phrase_at(self, words: Sequence[str], start: int) -> str | None:
        """The longest known phrase (exact folded match) starting at words[start]."""
        for size in range(min(self.longest, len(words) - start), 0, -1):
            phrase = self.lookup(words[start:start + size], fuzzy=False)
            if phrase is not None:
                return phrase
        return None

    def covers(self, words: Sequence[str]) -> bool:
        """Whether every word belongs to a known phrase."""
        i = 0
        while i < len(words):
            size, phrase = self._longest_match(words, i)
            if phrase is None:
                return False
            i += size
        return True

    def _longest_match(self, words: Sequence[str], start: int) -> tuple[int, str | None]:
        for fuzzy in (False, True):
            for size in range(min(self.longest, len(words) - start), 0, -1):
                window = words[start:start + size]
                if all(fold_letters(w) for w in window):
                    phrase = self.lookup(window, fuzzy=fuzzy)
                    if phrase is not None:
                        return size, phrase
        return 0, None


def _key(words: Sequence[str]) -> str:
    return " ".join(fold_letters(word) for word in words)


def _deletions(key: str) -> list[str]:
    return [key[:i] + key[i + 1:] for i in range(len(key)) if key[i] != " "]


def _core(word: str) -> str:
    return word[:len(word) - len(_trailing_punctuation(word))]


def _trailing_punctuation(word: str) -> str:
    end = len(word)
    while end and not word[end - 1].isalnum():
        end -= 1
    return word[end:]
