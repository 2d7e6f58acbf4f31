"""Engine-independent search interface: what the rest of sohoa codes against."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from types import TracebackType


class SearchIndexError(Exception):
    """Any failure of the search index (bad engine name, locked or incompatible index, ...)."""


@dataclass(frozen=True)
class IndexedDocument:
    doc_id: int
    text: str  # full OCR text, NFC
    number: str | None = None  # number and symbol, e.g. "268/SGTVT-VP" or "30/2020/NĐ-CP"
    title: str | None = None  # summary or the original file name


@dataclass(frozen=True)
class SearchHit:
    doc_id: int
    score: float


class SearchIndex(abc.ABC):
    """A full-text index of documents keyed by doc_id.

    Writes are durable when they return. Text analysis is done by `index.analysis`, so all
    engines find and rank the same way.
    """

    @abc.abstractmethod
    def add(self, doc: IndexedDocument) -> None:
        """Add `doc`, replacing any document with the same doc_id, and commit."""

    @abc.abstractmethod
    def delete(self, doc_id: int) -> None:
        """Remove the document with this doc_id (no error if absent) and commit."""

    @abc.abstractmethod
    def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Best `limit` hits, highest score first. Never raises on odd user text."""

    @abc.abstractmethod
    def doc_ids(self) -> set[int]:
        """Every doc_id currently in the index."""

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
