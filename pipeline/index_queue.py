"""How an archived document reaches the search index: one writer at a time, never at the
cost of its OCR, PDF/A or signature.

Design (issue 13, point 5). The catalog is the outbox: a document is waiting for the index
while its audit trail has no "indexed" event. `record()` commits the document without
touching the index, then tries to drain: take the index writer (a short wait), index every
waiting document from what the catalog says (index.index_entry, the one mapping), commit
the index, write their "indexed" events, look again (a document another process committed
meanwhile is taken too), and let the writer go at once. A writer never stays taken for a
whole run, so `sohoa ingest` and `sohoa watch` share a home.

A busy or failing index leaves the document archived and waiting, never failed: whoever
next holds the writer drains it (the watch service tries every few seconds, `sohoa ingest`
waits a bounded time at its end, `sohoa check` before it compares). A process killed while
it holds the writer loses the flock with its life; what it had indexed without writing the
event is indexed again (an add replaces), what it had not is still waiting.

Documents are numbered in commit order on SQLite, nearly so on PostgreSQL: each process
remembers where its last look found nothing waiting, less a margin, and looks from there.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.clock import now_text
from core.events import Step
from index import IndexBusy, ManagedIndex, index_entry
from core.catalog import Catalog, Event

log = logging.getLogger(__name__)

INDEXED = Step.INDEXED  # the audit trail step
# How long a process that just archived a document waits for another's index writer: a
# drain holds it for well under a second; longer, and the document simply waits its turn.
AFTER_RECORD_WAIT = 1.0
# How often the watch service looks for waiting documents (those whose writer was busy).
SERVICE_EVERY = 3.0
# How long `sohoa ingest` waits at its end for its own documents to be searchable.
INGEST_END_WAIT = 30.0
_BATCH = 200
# Ids a transaction may have taken before a later one committed (PostgreSQL sequences).
_MARGIN = 100
_looked_from: dict[str, int] = {}  # catalog -> lowest id that may still be waiting


@dataclass(frozen=True)
class Drained:
    indexed: tuple[int, ...]  # documents this drain put into the index (or took out: withdrawn)
    waiting: frozenset[int]  # documents still waiting after it
    busy: bool = False  # another process held the writer
    error: str | None = None  # the index failed: why (the documents wait, nothing is lost)


def _now() -> str:
    return now_text()


def _key(catalog: Catalog) -> str:
    return str(getattr(catalog, "path", id(catalog)))


def waiting_ids(catalog: Catalog, *, after: int | None = None) -> set[int]:
    """Catalogued documents the index has not been given yet (no "indexed" event)."""
    start = _looked_from.get(_key(catalog), 0) if after is None else after
    rows = catalog.read(
        "SELECT d.id FROM documents d WHERE d.id > ? AND NOT EXISTS ("
        " SELECT 1 FROM events e WHERE e.document_id = d.id AND e.step = ?)",
        (start, INDEXED),
    )
    return {int(row[0]) for row in rows}


def _remember(catalog: Catalog, waiting: set[int]) -> None:
    if waiting:
        lowest = min(waiting) - 1
    else:
        rows = catalog.read("SELECT max(id) FROM documents")
        lowest = int(rows[0][0] or 0) if rows else 0
    _looked_from[_key(catalog)] = max(0, lowest - _MARGIN)


def drain(catalog: Catalog, index: ManagedIndex, *, wait_seconds: float = AFTER_RECORD_WAIT) -> Drained:
    """Index every waiting document, holding the writer no longer than that. Never raises
    for a busy or failing index: the documents stay waiting, and the answer says why."""
    done: list[int] = []
    try:
        with index.writing(wait_seconds):
            done = drain_holding(catalog, index)
    except IndexBusy:
        return Drained(tuple(done), frozenset(waiting_ids(catalog)), busy=True)
    except Exception as error:  # a full disk, a damaged index ...: the documents wait
        log.warning("index write failed; documents stay waiting for the index", exc_info=True)
        return Drained(tuple(done), frozenset(waiting_ids(catalog)), error=f"{type(error).__name__}: {error}")
    return Drained(tuple(done), frozenset(waiting_ids(catalog)))


def drain_holding(catalog: Catalog, index: ManagedIndex) -> list[int]:
    """drain() for a caller already holding the writer: until nothing is left waiting."""
    done: list[int] = []
    while True:
        waiting = waiting_ids(catalog)
        _remember(catalog, waiting)
        if not waiting:
            return done
        batch = sorted(waiting)[:_BATCH]
        _index_batch(catalog, index, batch)
        done.extend(batch)


def _index_batch(catalog: Catalog, index: ManagedIndex, ids: list[int]) -> None:
    rows = catalog.get_many(ids)
    entries, gone = [], []
    for document_id in ids:
        row = rows.get(document_id)
        if row is None or row.withdrawn_at is not None:
            gone.append(document_id)  # withdrawn while it waited: it stays out of search
            continue
        trail = [(event.step, event.outcome) for event in catalog.events(document_id)]
        pages = [page.text for page in catalog.pages(document_id)]
        entries.append(index_entry(document_id, row.metadata, pages, trail))
    if entries:
        index.add_many(entries)  # one commit, durable when it returns
    for document_id in gone:
        index.delete(document_id)
    at = _now()
    # After the index commit: killed in between, the documents are indexed again next time.
    with catalog.transaction() as db:
        for document_id in ids:
            if document_id in rows:
                event = Event(INDEXED, "ok", at, {"engine": index.engine}) if document_id not in gone else \
                    Event(INDEXED, "skipped", at, {"reason": "đã rút khỏi kho trước khi vào chỉ mục"})
                Catalog.insert_events(db, document_id, [event])


def wait_until_indexed(catalog: Catalog, index: ManagedIndex, ids: Iterable[int], *,
                       timeout: float = INGEST_END_WAIT) -> set[int]:
    """Drain until none of `ids` waits or `timeout` passes; returns those still waiting."""
    ids = set(ids)
    deadline = time.monotonic() + timeout
    while True:
        left = ids & waiting_ids(catalog, after=min(ids, default=1) - 1)
        if not left:
            return set()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return left
        outcome = drain(catalog, index, wait_seconds=min(2.0, remaining))
        if outcome.error is not None and not outcome.busy:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))  # a failing index: not a busy loop


class ServiceDrainer(threading.Thread):
    """The watch service's look, every few seconds, for documents whose index writer was
    busy when they were archived (a `sohoa ingest`, `sohoa reindex` or a killed process)."""

    def __init__(self, catalog_path: Path, index_dir: Path, engine: str, every: float = SERVICE_EVERY):
        super().__init__(name="sohoa-index-queue", daemon=True)
        self.catalog_path = catalog_path
        self.index_dir = index_dir
        self.engine = engine
        self.every = every
        self._halt = threading.Event()

    def stop(self, timeout: float = 10.0) -> None:
        self._halt.set()
        if self.is_alive():  # a drain in hand finishes (or, killed, is simply done again)
            self.join(timeout)

    def run(self) -> None:
        from index import open_index

        try:
            with Catalog(self.catalog_path) as catalog, open_index(self.index_dir, self.engine) as index:
                while not self._halt.is_set():
                    try:
                        if waiting_ids(catalog):
                            outcome = drain(catalog, index, wait_seconds=0.0)
                            if outcome.indexed:
                                log.info("indexed %d waiting documents", len(outcome.indexed))
                    except Exception:  # the catalog busy or failing: look again next time
                        log.warning("could not look for documents waiting for the index", exc_info=True)
                    self._halt.wait(self.every)
        except Exception:  # the documents keep waiting: the next start, ingest or check takes them
            log.exception("the index queue's drainer stopped")


def without_waiting(report, waiting: Iterable[int]):
    """A `sohoa check` report (index.IndexCheck) in which the documents waiting for the
    index count as pending, not as missing or wrong."""
    waiting = set(waiting)
    return dataclasses.replace(
        report,
        missing=tuple(i for i in report.missing if i not in waiting),
        differing=tuple(d for d in report.differing if d.doc_id not in waiting),
    )
