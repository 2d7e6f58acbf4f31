"""Full-text search over digitised documents, with Vietnamese-aware matching."""

from __future__ import annotations

import pathlib

from index.engine import IndexedDocument, SearchHit, SearchIndex, SearchIndexError

__all__ = [
    "IndexedDocument",
    "SearchHit",
    "SearchIndex",
    "SearchIndexError",
    "open_index",
]

ENGINES = ("tantivy",)


def open_index(directory: pathlib.Path, engine: str = "tantivy") -> SearchIndex:
    """Open the index in `directory`, creating the directory and an empty index if missing."""
    if engine == "tantivy":
        # Imported lazily so that another engine works without tantivy installed.
        from index.tantivy_engine import TantivyIndex

        return TantivyIndex(pathlib.Path(directory))
    raise SearchIndexError(
        f"unknown search engine {engine!r}; available: {', '.join(ENGINES)}"
    )
