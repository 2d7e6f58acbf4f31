"""Full-text search over digitised documents, with Vietnamese-aware matching.

Two engines behind one interface, chosen by name ([index] engine in config.toml): tantivy
(the default) and whoosh (pure Python, for platforms without tantivy wheels).
"""

from __future__ import annotations

import pathlib

from index.engine import (
    SCHEMA_VERSION,
    IndexedDocument,
    SearchFilters,
    SearchHit,
    SearchIndex,
    SearchIndexError,
    SearchOptions,
    Sort,
    index_entry,
    signature_status_of,
)
from index.rebuild import (
    DocumentSource,
    EntryDifference,
    IndexCheck,
    RebuildProgress,
    RebuildReport,
    check_index,
    rebuild_index,
    repair_index,
)
from index.store import ENGINES, IndexBusy, ManagedIndex

__all__ = [
    "ENGINES",
    "SCHEMA_VERSION",
    "DocumentSource",
    "EntryDifference",
    "IndexBusy",
    "IndexCheck",
    "IndexedDocument",
    "ManagedIndex",
    "RebuildProgress",
    "RebuildReport",
    "SearchFilters",
    "SearchHit",
    "SearchIndex",
    "SearchIndexError",
    "SearchOptions",
    "Sort",
    "check_index",
    "index_entry",
    "open_index",
    "rebuild_index",
    "repair_index",
    "signature_status_of",
]


def open_index(directory: pathlib.Path, engine: str = "tantivy") -> ManagedIndex:
    """Open the index in `directory`, creating the directory and an empty index if missing.

    If the directory holds an index of another engine or schema version, a new empty one
    replaces it and `needs_rebuild` is True: rebuild it from the catalog (rebuild_index).
    """
    return ManagedIndex(pathlib.Path(directory), engine)
