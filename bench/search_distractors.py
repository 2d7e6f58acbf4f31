"""Distractors for the search-quality bench, and a plain BM25 baseline to print beside it.

The generated background documents of tests/fixtures/search_corpus.py never hold the planted
documents' distinctive words (DISTINCTIVE_WORDS), so any ranking returning "a document with
the word" finds the planted one: quality met by construction. The distractors here hold the
queries' own words in other contexts, in the spelling the planted document has them:

  partial    all the query's words but one, together, in a sentence of a background body;
  scattered  every word of the query, each in another sentence of a background body (for a
             one-word query or a number: the word once, cited in the body).

"In the planted document's spelling": a query without diacritics or with an OCR error gets
distractors holding the word as the planted document has it (with its OCR error, if it has
one), so a distractor is never a better match than the planted document by spelling. A
distractor that would be a legitimate hit of a query sorted by date is dated before all
others (2010-2014), so that query still asks for the planted documents' order.

A planted document stays the right answer (all the words, together, in its title, number or
text; distractors are long and hold each word once), but only a ranking that weighs all the
words, their nearness and the fields finds it first. Queries sorted by date and queries
without words get no distractors of their own.
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass

from index.analysis import within_one_edit

from index import IndexedDocument, Sort
from tests.fixtures.search_corpus import PLANTED_BY_KEY, QUERIES, LabelledQuery, background_document


def fold(word: str) -> str:
    """Lower case, no diacritics, đ as d: how a query word without diacritics meets the text."""
    decomposed = unicodedata.normalize("NFD", word.lower().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _planted_words(query: LabelledQuery) -> tuple[dict[str, str], set[str]]:
    """(folded word -> the spelling the expected planted document has it in, its words lower-cased)."""
    planted = PLANTED_BY_KEY[query.expected[0]]
    words: dict[str, str] = {}
    for text in (planted.title, planted.number, *planted.pages):
        for word in re.findall(r"[\w/.-]+", text):
            words.setdefault(fold(word.strip(".")), word.strip("."))
    return words, {word.lower() for word in words.values()} | {
        word.strip(".").lower() for text in (planted.title, planted.number, *planted.pages)
        for word in re.findall(r"[\w/.-]+", text)}


def _spelling(word: str, spelled: dict[str, str], exact: set[str]) -> str:
    """The planted document's spelling of a query word: the same word folded, else the word one
    letter away (an OCR error in the query, or in the document), else the query's own."""
    folded = fold(word)
    if word.lower() in exact:
        return word
    if folded in spelled:
        return spelled[folded]
    if len(folded) >= 4:
        near = [w for f, w in spelled.items() if len(f) >= 4 and within_one_edit(f, folded)]
        if near:
            return near[0]
    return word


def query_words(query: LabelledQuery) -> list[str]:
    """The query's words as the expected planted document spells them."""
    spelled, exact = _planted_words(query)
    return [_spelling(word, spelled, exact) for word in query.text.replace('"', " ").split()]


def _matches(text: str, query: LabelledQuery) -> bool:
    folded = {fold(w) for w in re.findall(r"[\w/.-]+", text)}
    return all(fold(w) in folded for w in query.text.split())


def distractors(first_id: int, per_query: int = 4, seed: int = 14) -> list[IndexedDocument]:
    """`per_query` distractors for each query with words (ids from first_id on), bodies and
    metadata of background documents (drawn from ids far from the collection's)."""
    rng = random.Random(seed)
    documents: list[IndexedDocument] = []
    dated = [q for q in QUERIES if q.sort is Sort.DATE and q.text]
    for query in QUERIES:
        words = query_words(query)
        if not words or query.sort is Sort.DATE:
            continue
        for n in range(per_query):
            doc_id = first_id + len(documents)
            base = background_document(10_000_000 + doc_id)
            sentences = base.text.split(". ")
            if len(words) > 1 and n % 2 == 0:
                left_out = (n // 2) % len(words)
                kept = words[:left_out] + words[left_out + 1:]
                position = rng.randrange(1, len(sentences))
                sentences.insert(position, "Nội dung liên quan đến " + " ".join(kept) + " được ghi nhận")
            else:
                positions = rng.sample(range(1, len(sentences) + 1), min(len(words), len(sentences)))
                for word, position in sorted(zip(words, positions), key=lambda p: -p[1]):
                    sentences.insert(position, f"Trong mục {word} có ghi chú kèm theo")
            text = ". ".join(sentences)
            issue_date = base.issue_date
            if any(_matches(text, q) for q in dated):
                # it would be a legitimate newer hit of a query sorted by date: dated before
                # every planted and background document, so that query's question is unchanged
                issue_date = issue_date.replace(year=2010 + issue_date.year % 5)
            documents.append(dataclasses.replace(base, doc_id=doc_id, text=text, pages=(text,),
                                                 issue_date=issue_date))
    return documents


# -- baseline ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    doc_id: int


class PlainBM25:
    """BM25 (k1 1.2, b 0.75) over the lower-cased words of each document's number, title and
    text, split at white space and punctuation: no diacritic folding, no tone placement, no
    OCR tolerance, no phrases, fields or filters. The reference a search engine with sohoa's
    analysis must beat."""

    K1, B = 1.2, 0.75

    def __init__(self, documents: list[IndexedDocument]):
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.lengths: dict[int, int] = {}
        for document in documents:
            words = self.words(" ".join(filter(None, (document.number, document.title, document.text))))
            self.lengths[document.doc_id] = len(words)
            for word, count in Counter(words).items():
                self.postings[word].append((document.doc_id, count))
        self.average = sum(self.lengths.values()) / len(self.lengths)

    @staticmethod
    def words(text: str) -> list[str]:
        return re.findall(r"\w+", unicodedata.normalize("NFC", text).lower())

    def search(self, text: str, limit: int, options=None) -> list[Hit]:
        scores: dict[int, float] = defaultdict(float)
        total = len(self.lengths)
        for word in set(self.words(text)):
            postings = self.postings.get(word, [])
            idf = math.log(1 + (total - len(postings) + 0.5) / (len(postings) + 0.5))
            for doc_id, count in postings:
                norm = self.K1 * (1 - self.B + self.B * self.lengths[doc_id] / self.average)
                scores[doc_id] += idf * count * (self.K1 + 1) / (count + norm)
        best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return [Hit(doc_id) for doc_id, _ in best]


def plain_queries() -> tuple[LabelledQuery, ...]:
    """The queries the baseline can answer at all: words, no filters, relevance order."""
    return tuple(q for q in QUERIES
                 if q.text and q.sort is Sort.RELEVANCE and q.filters == type(q.filters)())
