"""The labelled query set on a generated collection: each engine must find what staff look
for (recall@10 >= 0.95, MRR >= 0.85, the issue's targets), and both engines alike.

The bench (bench/search_quality.py) runs the same set over a larger collection.
"""

from __future__ import annotations

import collections
import pathlib

import pytest

from index import ENGINES, SearchIndex, open_index
from index.analysis import fold, tokenize
from tests.fixtures.search_corpus import (
    DISTINCTIVE_WORDS,
    QUERIES,
    background_document,
    collection,
    evaluate,
    summary,
)

BACKGROUND = 1_000


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SearchIndex]:
    documents = collection(BACKGROUND)
    opened = {}
    for engine in ENGINES:
        index = open_index(tmp_path_factory.mktemp(engine) / "index", engine)
        for start in range(0, len(documents), 500):
            index.add_many(documents[start:start + 500])
        opened[engine] = index
    yield opened
    for index in opened.values():
        index.close()


def test_query_set_covers_every_kind() -> None:
    assert len(QUERIES) >= 40
    kinds = collections.Counter(query.kind for query in QUERIES)
    for kind in ("diacritics", "no diacritics", "tone placement", "phrase", "number", "number part",
                 "OCR error in query", "OCR error in document", "filter", "sort by date"):
        assert kinds[kind] >= 2, kind


def test_background_never_mentions_what_the_queries_look_for() -> None:
    wanted = [tuple(fold(word) for word in tokenize(phrase)) for phrase in DISTINCTIVE_WORDS]
    for doc_id in range(100, 100 + BACKGROUND, 7):
        words = [fold(word) for word in tokenize(background_document(doc_id).text)]
        text = " " + " ".join(words) + " "
        for phrase in wanted:
            assert f" {' '.join(phrase)} " not in text, (doc_id, phrase)


@pytest.mark.parametrize("engine", ENGINES)
def test_quality_targets(indexes: dict[str, SearchIndex], engine: str) -> None:
    results = evaluate(indexes[engine])
    recall, mrr = summary(results)
    misses = [(r.query.kind, r.query.text, r.query.expected_ids, r.found)
              for r in results if r.recall < 1 or r.reciprocal_rank < 1]
    assert recall >= 0.95 and mrr >= 0.85, misses


def test_engines_agree_on_the_first_result(indexes: dict[str, SearchIndex]) -> None:
    first = {
        engine: [hits[0].doc_id if (hits := index.search(q.text, 10, q.options)) else None for q in QUERIES]
        for engine, index in indexes.items()
    }
    disagreements = [
        (query.text, first["tantivy"][i], first["whoosh"][i])
        for i, query in enumerate(QUERIES) if first["tantivy"][i] != first["whoosh"][i]
    ]
    assert disagreements == []
