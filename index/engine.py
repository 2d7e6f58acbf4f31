"""Engine-independent search interface: what the rest of sohoa codes against."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Iterable, Iterator
from types import TracebackType

from index.documents import prepare
from index.records import (  # noqa: F401  the records are part of the interface
    SCHEMA_VERSION,
    IndexedDocument,
    SearchFilters,
    SearchHit,
    SearchIndexError,
    SearchOptions,
    Sort,
    index_entry,
    signature_status_of,
)


class SearchIndex(abc.ABC):
    """A full-text index of documents keyed by doc_id.

    Writes are durable when they return. Text analysis is done by `index.analysis`, so all
    engines find and rank the same way.
    """

    def add(self, doc: IndexedDocument) -> None:
        """Add `doc`, replacing any document with the same doc_id, and commit."""
        self.add_many([doc])

    def add_many(self, docs: Iterable[IndexedDocument]) -> int:
        """Add (or replace) all `docs` in one commit; returns how many were added."""
        return self.add_prepared([prepare(doc) for doc in docs])

    @abc.abstractmethod
    def add_prepared(self, docs: list) -> int:
        """add_many() for documents already analysed (index.documents.prepare): a rebuild
        analyses in helper processes."""

    @abc.abstractmethod
    def delete(self, doc_id: int) -> None:
        """Remove the document with this doc_id (no error if absent) and commit."""

    @abc.abstractmethod
    def search(
        self, query: str, limit: int = 10, options: SearchOptions | None = None, offset: int = 0
    ) -> list[SearchHit]:
        """Best `limit` hits after the first `offset`, first first: a page of the ranking a
        search without offset returns, in the same order. Never raises on odd user text.

        An empty query with filters lists the documents that meet them, newest first; an
        empty query without filters finds nothing (a clearance limit alone is no filter).
        With filters.max_confidentiality, documents above that level are left out by the
        query itself, as if not in the index.
        """

    @abc.abstractmethod
    def facets(self, query: str, options: SearchOptions | None = None) -> dict[str, dict[str, int]]:
        """How many of the documents the search matches (all of them, as count_matches)
        have each value of each facet: {"doc_type": {"Công văn": 12, ...}, "issuing_body":
        {...}, "year": {"2024": 30, ...}, "profile": {...}, "signature_status": {...}}, each
        most documents first; documents without the value are not counted.

        Each facet is counted under every filter but its own (a chosen type still shows the
        other types; the year facet ignores the date range); the clearance limit always
        applies. A value's count is what searching with it as that filter finds, except for
        issuing_body, whose filter matches words in order ("Sở Nội vụ" also finds "Sở Nội vụ
        tỉnh X").
        """

    @abc.abstractmethod
    def stored_records(self) -> Iterator[tuple[int, bytes]]:
        """(doc_id, stored record) of every document, as index.documents stores it."""

    @abc.abstractmethod
    def doc_ids(self) -> set[int]:
        """Every doc_id currently in the index."""

    @abc.abstractmethod
    def count(self) -> int:
        """How many documents the index holds."""

    def count_matches(self, query: str, options: SearchOptions | None = None) -> int:
        """How many documents search() would return without a limit (`sohoa search` says
        "found 4, showing 1"). Engines count without fetching the hits where they can."""
        options = dataclasses.replace(options or SearchOptions(), snippets=False)
        return len(self.search(query, limit=max(self.count(), 1), options=options))

    @abc.abstractmethod
    def close(self) -> None:
        """Release the index (and its write lock). Safe to call twice."""

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
