"""Snippets: the passage of a document that best shows why it matched, as safe HTML.

OCR text can contain `<`, `>` and `&`: every piece of document text is escaped, and only
our own <mark> tags are markup. Matching uses the same analysis as the engines (exact,
folded, within one edit), so the marked words are the ones that made the document match.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Sequence

from index.analysis import _TOKEN, ParsedQuery, fold_tokens, fuzzy_form, tokenize, within_one_edit

WINDOW_WORDS = 30  # words shown around the best match
_LEAD_WORDS = 6  # words shown before the first match of the window, for context

# Match strength of a document word against the query.
_EXACT, _FOLDED, _FUZZY = 3, 2, 1
_SPACES = re.compile(r"\s+")


class Matcher:
    """How strongly each document word matches one query; one per search, shared by its hits."""

    def __init__(self, parsed: ParsedQuery) -> None:
        words = {token for clause in parsed.clauses for token in clause}
        self.exact = words
        self.folded = set(fold_tokens(list(words)))
        self.fuzzy = {
            form for clause in parsed.clauses if (form := ParsedQuery.fuzzy_form(clause))
        }
        # The rank of a passage with every query word matched exactly.
        self.best_rank = (len(self.folded), _EXACT * len(self.folded))
        self._known: dict[str, tuple[int, str | None]] = {}
        self.known = self._known.get  # the cached strength of a word, or None

    def strength(self, token: str) -> tuple[int, str | None]:
        """(match strength, the folded query word it matched) for one document word."""
        known = self._known.get(token)
        if known is None:
            known = self._known[token] = self._strength(token)
        return known

    def _strength(self, token: str) -> tuple[int, str | None]:
        folded = fold_tokens([token])[0]
        if token in self.exact:
            return _EXACT, folded
        if folded in self.folded:
            return _FOLDED, folded
        if fuzzy_form(token):
            for form in self.fuzzy:
                if within_one_edit(folded, form):
                    return _FUZZY, form
        return 0, None


def make_snippet(
    pages: Sequence[str], parsed: ParsedQuery, matcher: Matcher | None = None
) -> tuple[str, int | None]:
    """(HTML snippet, 1-based page number) of the best passage; ("", None) for empty text.

    The best passage holds the most distinct query words, then the strongest matches;
    the earliest such passage wins. Without query words, the start of the first page.
    """
    matcher = matcher or Matcher(parsed)
    known = matcher.known
    # (rank, page index, first word, the page's tokens)
    best: tuple[tuple[int, int], int, int, list[str]] | None = None
    first_with_text = None
    for page_index, page in enumerate(pages):
        # Cached analysis finds the best passage; offsets are only needed for that one page.
        tokens = tokenize(page)
        if tokens and first_with_text is None:
            first_with_text = page_index
        # Each distinct word is judged once; then only the matching positions are listed.
        matching = {t: found for t in set(tokens) if (found := known(t) or matcher.strength(t))[0]}
        matches = [(i, *matching[t]) for i, t in enumerate(tokens) if t in matching]
        end = 0
        for start, (first, _, _) in enumerate(matches):
            while end < len(matches) and matches[end][0] < first + WINDOW_WORDS:
                end += 1
            strongest: dict[str, int] = {}
            for _, strength, word in matches[start:end]:
                strongest[word] = max(strength, strongest.get(word, 0))
            rank = (len(strongest), sum(strongest.values()))
            if best is None or rank > best[0]:
                best = (rank, page_index, first, tokens)
                if rank == matcher.best_rank:
                    break  # every query word, each matched exactly: nothing beats it
        if best is not None and best[0] == matcher.best_rank:
            break
    if best is None:
        if first_with_text is None:
            return "", None
        page = pages[first_with_text]
        return _render(page, _word_offsets(page, WINDOW_WORDS + 1), set(), 0), first_with_text + 1
    _, page_index, first, tokens = best
    page = pages[page_index]
    start = max(0, first - _LEAD_WORDS)
    # One word past the window: its presence tells that the page goes on. The offsets are
    # those of the same words, in the same order, as `tokens`.
    offsets = _word_offsets(page, start + WINDOW_WORDS + 1)
    marked = {i for i in range(start, min(len(tokens), start + WINDOW_WORDS)) if matcher.strength(tokens[i])[0]}
    return _render(page, offsets, marked, start), page_index + 1


def _word_offsets(text: str, limit: int) -> list[tuple[int, int]]:
    """(start, end) in `text` of its first `limit` tokens (the tokens tokenize() finds)."""
    return [match.span() for match in itertools.islice(_TOKEN.finditer(text), limit)]


def _render(text: str, offsets: list[tuple[int, int]], marked: set[int], start: int) -> str:
    """Escaped text of words start .. start+WINDOW_WORDS, the `marked` ones in <mark>.

    `offsets` may stop one word after the window; the text after the window's last word is
    shown only when no word follows it (the end of the page).
    """
    end = min(len(offsets), start + WINDOW_WORDS)
    # The page's first and last words take the text before and after them along.
    window_start = 0 if start == 0 else offsets[start][0]
    window_end = len(text) if end == len(offsets) else offsets[end - 1][1]
    parts = ["…"] if start > 0 else []
    position = window_start
    for index in sorted(marked):
        word_start, word_end = offsets[index]
        parts.append(_escape(text[position:word_start]))
        parts.append(f"<mark>{_escape(text[word_start:word_end])}</mark>")
        position = word_end
    parts.append(_escape(text[position:window_end]))
    if end < len(offsets):
        parts.append("…")
    return "".join(parts)


def _escape(text: str) -> str:
    # One line: OCR line breaks and runs of spaces become one space.
    return html.escape(_SPACES.sub(" ", text))


def plain_snippet(snippet: str, before: str = "«", after: str = "»") -> str:
    """A snippet for a terminal: marks shown as `before`/`after`, entities unescaped."""
    return html.unescape(snippet.replace("<mark>", before).replace("</mark>", after))
