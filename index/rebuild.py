"""Rebuilding the index from the catalog, and checking the two agree.

A rebuild fills a new generation beside the current one (index.store), in batches of
documents taken in doc_id order, one commit per batch; after each commit the last doc_id
is written to REBUILD.json. Memory is bounded by the batch, whatever the archive's size.
Interrupted (killed, power cut), the next rebuild resumes after the last committed batch.
At the end it takes the current generation's write lock, adds what was archived meanwhile,
drops what left the catalog, and switches CURRENT.json to the new generation.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from index.documents import PreparedDocument, prepare_all, stored_bytes
from index.engine import SCHEMA_VERSION, IndexedDocument, SearchIndex
from index.store import Generation, IndexStore, ManagedIndex, WriteLock, engine_class

DEFAULT_BATCH = 2000
# Below this many documents, starting helper processes costs more than it saves.
_PARALLEL_FROM = 20_000
# How long the final switch waits for a writer (an ingest in progress) to finish.
_SWITCH_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class DocumentSource:
    """Where a rebuild reads documents: the catalog, seen through three functions."""

    # Documents with doc_id > after_id, in doc_id order, at most `limit` of them.
    documents_after: Callable[[int, int], Sequence[IndexedDocument]]
    # Every doc_id in the catalog.
    doc_ids: Callable[[], set[int]]
    # How many documents the catalog holds (for progress reports).
    count: Callable[[], int]


@dataclass(frozen=True)
class RebuildProgress:
    done: int  # documents indexed so far, resumed ones included
    total: int
    resumed_from: int  # last doc_id of an interrupted rebuild, 0 for a fresh start


@dataclass(frozen=True)
class RebuildReport:
    indexed: int
    resumed_from: int
    generation: str
    removed: int  # documents that left the catalog during the rebuild


def _bulk_options(engine: str) -> dict[str, object]:
    # More writer memory than ingest's one-document commits: a batch is one segment.
    if engine == "tantivy":
        return {"writer_heap_bytes": 200_000_000, "writer_threads": 2}
    return {"writer_memory_mb": 256}


def rebuild_index(
    directory,
    engine: str,
    source: DocumentSource,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[RebuildProgress], None] | None = None,
) -> RebuildReport:
    if batch_size < 1:  # a batch of 0 read no document and switched to an empty index
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    store = IndexStore(directory)
    engine_class(engine)  # unknown engine: fail before writing anything
    with store.layout_lock():
        state = store.rebuild_state()
        resumable = (
            state is not None
            and state.get("engine") == engine
            and state.get("schema_version") == SCHEMA_VERSION
            and isinstance(state.get("generation"), str)
            and store.path(state["generation"]).is_dir()
        )
        if resumable:
            generation, last_id, done = state["generation"], int(state["last_doc_id"]), int(state["done"])
        else:
            generation, last_id, done = store.new_generation(), 0, 0
            _save(store, generation, engine, last_id, done)
    resumed_from = last_id
    total = source.count()
    # Held for the whole rebuild: a second `sohoa reindex` stops here with a clear message.
    target_lock = WriteLock(store.path(generation))
    target: SearchIndex = engine_class(engine)(store.path(generation), **_bulk_options(engine))
    try:
        last_id, done = _add_batches(store, target, source, generation, engine, last_id, done,
                                     batch_size, total, resumed_from, progress)
        # The switch: no one may write to the current generation from here on.
        current = ManagedIndex(store.directory, engine)
        try:
            current.lock_writes(wait_seconds=_SWITCH_WAIT_SECONDS)
            last_id, done = _add_batches(store, target, source, generation, engine, last_id, done,
                                         batch_size, total, resumed_from, progress)
            gone = target.doc_ids() - source.doc_ids()
            for doc_id in sorted(gone):
                target.delete(doc_id)
            target.close()
            with store.layout_lock():
                store.set_current(Generation(generation, engine, SCHEMA_VERSION, needs_rebuild=False))
                store.clear_rebuild_state()
                store.remove_stale()
        finally:
            current.close()
    finally:
        target.close()
        target_lock.release()
    return RebuildReport(indexed=done, resumed_from=resumed_from, generation=generation, removed=len(gone))


class _Analysis:
    """Text analysis (documents.prepare) of the next batch, in helper processes while this
    one writes the current batch to the index: analysis is pure Python and the larger part
    of the work. Inline for small rebuilds and single-CPU machines."""

    def __init__(self, documents: int) -> None:
        helpers = len(os.sched_getaffinity(0)) - 1
        self._pool = None
        if helpers >= 1 and documents >= _PARALLEL_FROM:
            # forkserver: this process runs the engine's threads, which fork would copy badly.
            context = multiprocessing.get_context("forkserver")
            self._pool = concurrent.futures.ProcessPoolExecutor(helpers, mp_context=context)
            self._helpers = helpers

    def submit(self, batch: Sequence[IndexedDocument]) -> Callable[[], list[PreparedDocument]]:
        if self._pool is None:
            return lambda: prepare_all(list(batch))
        size = -(-len(batch) // self._helpers)
        futures = [self._pool.submit(prepare_all, list(batch[i:i + size])) for i in range(0, len(batch), size)]
        return lambda: [doc for future in futures for doc in future.result()]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


def _add_batches(store, target, source, generation, engine, last_id, done, batch_size, total,
                 resumed_from, progress) -> tuple[int, int]:
    analysis = _Analysis(total - done)
    try:
        batch = source.documents_after(last_id, batch_size)
        prepared = analysis.submit(batch) if batch else None
        while prepared is not None:
            # Read and start analysing the next batch before writing this one.
            following = source.documents_after(batch[-1].doc_id, batch_size)
            prepared_next = analysis.submit(following) if following else None
            done += target.add_prepared(prepared())  # one commit
            last_id = batch[-1].doc_id
            _save(store, generation, engine, last_id, done)
            if progress:
                progress(RebuildProgress(done=done, total=total, resumed_from=resumed_from))
            batch, prepared = following, prepared_next
        return last_id, done
    finally:
        analysis.close()


def _save(store: IndexStore, generation: str, engine: str, last_id: int, done: int) -> None:
    store.write_rebuild_state({
        "generation": generation,
        "engine": engine,
        "schema_version": SCHEMA_VERSION,
        "last_doc_id": last_id,
        "done": done,
        "updated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    })


@dataclass(frozen=True)
class EntryDifference:
    """An index entry that does not say what the catalog says."""

    doc_id: int
    # (field, in the index, in the catalog) for each stored field that differs; "pages"
    # values are left out (None): whole page texts are no use in a one-line report.
    fields: tuple[tuple[str, object, object], ...]


@dataclass(frozen=True)
class IndexCheck:
    catalog_count: int
    index_count: int
    missing: tuple[int, ...]  # in the catalog, not in the index
    orphaned: tuple[int, ...]  # in the index, gone from the catalog
    needs_rebuild: bool
    differing: tuple[EntryDifference, ...] = ()  # in both, with other values

    @property
    def ok(self) -> bool:
        return not (self.missing or self.orphaned or self.needs_rebuild or self.differing)


def check_index(index: ManagedIndex, catalog: set[int] | DocumentSource, *,
                batch_size: int = DEFAULT_BATCH) -> IndexCheck:
    """Compare the index with the catalog: ids only when given a set of ids; every stored
    field of every document when given the catalog as a DocumentSource."""
    catalog_ids = catalog.doc_ids() if isinstance(catalog, DocumentSource) else set(catalog)
    indexed = index.doc_ids()
    differing: tuple[EntryDifference, ...] = ()
    if isinstance(catalog, DocumentSource):
        differing = _differences(index, catalog, batch_size)
    return IndexCheck(
        catalog_count=len(catalog_ids),
        index_count=len(indexed),
        missing=tuple(sorted(catalog_ids - indexed)),
        orphaned=tuple(sorted(indexed - catalog_ids)),
        needs_rebuild=index.needs_rebuild,
        differing=differing,
    )


def _differences(index: SearchIndex, source: DocumentSource, batch_size: int) -> tuple[EntryDifference, ...]:
    # A digest per entry keeps memory small whatever the archive's size; only the entries
    # that differ are read a second time, to name their fields.
    digests = {doc_id: hashlib.sha256(stored).digest() for doc_id, stored in index.stored_records()}
    expected: dict[int, dict] = {}
    for doc in _all_documents(source, batch_size):
        stored = stored_bytes(doc)
        if doc.doc_id in digests and hashlib.sha256(stored).digest() != digests[doc.doc_id]:
            expected[doc.doc_id] = json.loads(stored)
    found: list[EntryDifference] = []
    for doc_id, stored in index.stored_records():
        if doc_id in expected:
            actual, wanted = json.loads(stored), expected.pop(doc_id)
            fields = tuple(
                (name, None, None) if name == "pages" else (name, actual.get(name), wanted.get(name))
                for name in sorted(set(actual) | set(wanted)) if actual.get(name) != wanted.get(name)
            )
            found.append(EntryDifference(doc_id, fields))
    return tuple(sorted(found, key=lambda difference: difference.doc_id))


def _all_documents(source: DocumentSource, batch_size: int) -> Iterator[IndexedDocument]:
    last_id = 0
    while batch := source.documents_after(last_id, batch_size):
        yield from batch
        last_id = batch[-1].doc_id


def repair_index(index: ManagedIndex, source: DocumentSource, check: IndexCheck, *,
                 batch_size: int = DEFAULT_BATCH) -> int:
    """Rewrite the entries `check` found differing, add the missing ones and remove those
    gone from the catalog; returns how many entries changed. An index that needs a
    rebuild is left to rebuild_index."""
    wanted = set(check.missing) | {difference.doc_id for difference in check.differing}
    batch: list[IndexedDocument] = []
    changed = 0
    for doc in _all_documents(source, batch_size):
        if doc.doc_id in wanted:
            batch.append(doc)
            if len(batch) >= batch_size:
                changed += index.add_many(batch)
                batch = []
    if batch:
        changed += index.add_many(batch)
    for doc_id in check.orphaned:
        index.delete(doc_id)
    return changed + len(check.orphaned)
