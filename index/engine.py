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
        self, query: str, limit: int = 10, options: SearchOptions | None = None
    ) -> list[SearchHit]:
        """Best `limit` hits, first first. Never raises on odd user text.

        An empty query with filters lists the documents that meet them, newest first; an
        empty query without filters finds nothing.
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
