"""Durable job state, in the catalog: one job per file taken, found again by its SHA-256.

    received -> processing -> done | failed | duplicate

`received` means the service holds a copy of the bytes (tmp/watch/<job>/) and the job is
committed; only then is the file's turn taken. A restart turns `processing` back into
`received`: the catalog, archive and index were written as one unit or not at all, so the
job simply runs again (and finds its own record if that unit had committed). The inbox
file is left alone until the job's end state is committed; `source_cleared` says it has
left the inbox, so an interrupted clean-up is finished at the next start.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pipeline.catalog import Catalog

VIETNAM = dt.timezone(dt.timedelta(hours=7))
ACTIVE = ("received", "processing")
FINAL = ("done", "failed", "duplicate")
STATES = ACTIVE + FINAL


def now() -> dt.datetime:
    return dt.datetime.now(VIETNAM)


def stamp(moment: dt.datetime | None = None) -> str:
    return (moment or now()).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class JobRow:
    id: int
    sha256: str
    profile: str
    source_path: str  # relative to inbox/, printable (NFC)
    source_raw: bytes  # relative to inbox/, as the file system spells it
    source_size: int
    source_mtime_ns: int
    state: str
    attempts: int
    retry_at: str | None
    document_id: int | None
    page_count: int | None
    error_code: str | None
    reason: str | None
    received_at: str
    started_at: str | None
    finished_at: str | None
    source_cleared: bool
    source_dev: int | None = None  # of the file taken (None: taken before these were kept)
    source_ino: int | None = None

    def source(self, inbox: Path) -> Path:
        return inbox / Path(self.source_raw.decode("utf-8", "surrogateescape"))


class JobStore:
    """The watch_jobs table. One store per thread (a SQLite connection is not shared)."""

    def __init__(self, catalog_path: Path):
        self.catalog = Catalog(catalog_path)

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing --

    def create(self, *, sha256: str, profile: str, source_path: str, source_raw: bytes, size: int,
               mtime_ns: int, dev: int | None = None, ino: int | None = None, state: str = "received",
               document_id: int | None = None, error_code: str | None = None, reason: str | None = None) -> int:
        """A new job for a file just taken; a duplicate found at once is final at once."""
        at = stamp()
        with self.catalog.transaction() as db:
            cursor = db.execute(
                "INSERT INTO watch_jobs (sha256, profile, source_path, source_raw, source_size,"
                " source_mtime_ns, source_dev, source_ino, state, document_id, error_code, reason,"
                " received_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sha256, profile, source_path, sqlite3.Binary(source_raw), size, mtime_ns, dev, ino, state,
                 document_id, error_code, reason, at, at if state in FINAL else None),
            )
            return int(cursor.lastrowid)

    def start(self, job_id: int) -> None:
        with self.catalog.transaction() as db:
            db.execute(
                "UPDATE watch_jobs SET state = 'processing', attempts = attempts + 1, retry_at = NULL,"
                " started_at = coalesce(started_at, ?) WHERE id = ? AND state = 'received'",
                (stamp(), job_id),
            )

    def finish(self, job_id: int, state: str, *, document_id: int | None = None, page_count: int | None = None,
               error_code: str | None = None, reason: str | None = None) -> None:
        if state not in FINAL:
            raise ValueError(f"not a final state: {state}")
        with self.catalog.transaction() as db:
            db.execute(
                "UPDATE watch_jobs SET state = ?, document_id = ?, page_count = ?, error_code = ?,"
                " reason = ?, finished_at = ?, retry_at = NULL WHERE id = ?",
                (state, document_id, page_count, error_code, reason, stamp(), job_id),
            )

    def postpone(self, job_id: int, retry_at: dt.datetime, *, error_code: str, reason: str,
                 counted: bool = True) -> None:
        """A transient error: back to received, to run again at retry_at. A try that was
        not the file's fault (a full disk) is not counted against max_attempts."""
        with self.catalog.transaction() as db:
            db.execute(
                "UPDATE watch_jobs SET state = 'received', retry_at = ?, error_code = ?, reason = ?,"
                " attempts = max(attempts - ?, 0) WHERE id = ?",
                (stamp(retry_at), error_code, reason, 0 if counted else 1, job_id),
            )

    def requeue(self, job_id: int) -> None:
        """Interrupted by a stop: back to received, the attempt not counted."""
        with self.catalog.transaction() as db:
            db.execute(
                "UPDATE watch_jobs SET state = 'received', attempts = max(attempts - 1, 0) WHERE id = ?"
                " AND state = 'processing'",
                (job_id,),
            )

    def resume_interrupted(self) -> list[int]:
        """At start-up: jobs left `processing` by a crash go back to `received`."""
        with self.catalog.transaction() as db:
            ids = [row[0] for row in db.execute("SELECT id FROM watch_jobs WHERE state = 'processing'")]
            db.execute("UPDATE watch_jobs SET state = 'received' WHERE state = 'processing'")
        return ids

    def mark_cleared(self, job_id: int) -> None:
        with self.catalog.transaction() as db:
            db.execute("UPDATE watch_jobs SET source_cleared = 1 WHERE id = ?", (job_id,))

    # -- reading --

    def get(self, job_id: int) -> JobRow | None:
        rows = self.catalog.read("SELECT * FROM watch_jobs WHERE id = ?", (job_id,))
        return _row(rows[0]) if rows else None

    def active(self) -> list[JobRow]:
        """Jobs still to run, oldest first."""
        return [_row(r) for r in self.catalog.read(
            "SELECT * FROM watch_jobs WHERE state IN ('received', 'processing') ORDER BY id")]

    def uncleared(self) -> list[JobRow]:
        """Jobs whose inbox file may still be there: active ones and ended ones not cleaned up."""
        return [_row(r) for r in self.catalog.read(
            "SELECT * FROM watch_jobs WHERE source_cleared = 0 ORDER BY id")]

    def document_for(self, sha256: str) -> int | None:
        return self.catalog.find_by_original_sha256(sha256)


_FIELDS = frozenset(JobRow.__dataclass_fields__)


def _row(row: sqlite3.Row) -> JobRow:
    values = {key: value for key, value in dict(row).items() if key in _FIELDS}
    values["source_raw"] = bytes(values["source_raw"])
    values["source_cleared"] = bool(values["source_cleared"])
    return JobRow(**values)
