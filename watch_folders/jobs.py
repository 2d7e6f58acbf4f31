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
from dataclasses import dataclass
from pathlib import Path

from core import clock
from core.catalog import Catalog

ACTIVE = ("received", "processing")
FINAL = ("done", "failed", "duplicate")
STATES = ACTIVE + FINAL


def now() -> dt.datetime:
    return clock.now()


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
    """The watch_jobs table (core.models.WatchJob). One store per thread, as Django keeps one
    connection per thread."""

    def __init__(self, catalog_path: Path):
        self.catalog = Catalog(catalog_path)

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing --

    def _jobs(self, db=None):
        from core.models import WatchJob

        return WatchJob.objects.using(db.alias if db is not None else self.catalog.alias)

    def create(self, *, sha256: str, profile: str, source_path: str, source_raw: bytes, size: int,
               mtime_ns: int, dev: int | None = None, ino: int | None = None, state: str = "received",
               document_id: int | None = None, error_code: str | None = None, reason: str | None = None) -> int:
        """A new job for a file just taken; a duplicate found at once is final at once."""
        at = stamp()
        with self.catalog.transaction() as db:
            job = self._jobs(db).create(
                sha256=sha256, profile=profile, source_path=source_path, source_raw=bytes(source_raw),
                source_size=size, source_mtime_ns=mtime_ns, source_dev=dev, source_ino=ino, state=state,
                document_id=document_id, error_code=error_code, reason=reason, received_at=at,
                finished_at=at if state in FINAL else None)
            return int(job.id)

    def start(self, job_id: int) -> None:
        from django.db.models import F, Value
        from django.db.models.functions import Coalesce

        with self.catalog.transaction() as db:
            self._jobs(db).filter(id=job_id, state="received").update(
                state="processing", attempts=F("attempts") + 1, retry_at=None,
                started_at=Coalesce(F("started_at"), Value(stamp())))

    def finish(self, job_id: int, state: str, *, document_id: int | None = None, page_count: int | None = None,
               error_code: str | None = None, reason: str | None = None) -> None:
        if state not in FINAL:
            raise ValueError(f"not a final state: {state}")
        with self.catalog.transaction() as db:
            self._jobs(db).filter(id=job_id).update(
                state=state, document_id=document_id, page_count=page_count, error_code=error_code,
                reason=reason, finished_at=stamp(), retry_at=None)

    def postpone(self, job_id: int, retry_at: dt.datetime, *, error_code: str, reason: str,
                 counted: bool = True) -> None:
        """A transient error: back to received, to run again at retry_at. A try that was
        not the file's fault (a full disk) is not counted against max_attempts."""
        with self.catalog.transaction() as db:
            self._jobs(db).filter(id=job_id).update(
                state="received", retry_at=stamp(retry_at), error_code=error_code, reason=reason,
                attempts=_attempts_less(0 if counted else 1))

    def requeue(self, job_id: int) -> None:
        """Interrupted by a stop: back to received, the attempt not counted."""
        with self.catalog.transaction() as db:
            self._jobs(db).filter(id=job_id, state="processing").update(
                state="received", attempts=_attempts_less(1))

    def resume_interrupted(self) -> list[int]:
        """At start-up: jobs left `processing` by a crash go back to `received`."""
        with self.catalog.transaction() as db:
            interrupted = self._jobs(db).filter(state="processing")
            ids = [int(i) for i in interrupted.values_list("id", flat=True)]
            interrupted.update(state="received")
        return ids

    def mark_cleared(self, job_id: int) -> None:
        with self.catalog.transaction() as db:
            self._jobs(db).filter(id=job_id).update(source_cleared=True)

    # -- reading --

    def get(self, job_id: int) -> JobRow | None:
        rows = [_row(values) for values in self._jobs().filter(id=job_id).values()]
        return rows[0] if rows else None

    def active(self) -> list[JobRow]:
        """Jobs still to run, oldest first."""
        return [_row(values) for values in self._jobs().filter(state__in=ACTIVE).order_by("id").values()]

    def uncleared(self) -> list[JobRow]:
        """Jobs whose inbox file may still be there: active ones and ended ones not cleaned up."""
        return [_row(values) for values in self._jobs().filter(source_cleared=False).order_by("id").values()]

    def document_for(self, sha256: str) -> int | None:
        return self.catalog.find_by_original_sha256(sha256)


_FIELDS = frozenset(JobRow.__dataclass_fields__)


def _attempts_less(n: int):
    """attempts - n, never below 0, computed in the database (another process may have
    counted an attempt since this one read the row)."""
    from django.db.models import F, Value
    from django.db.models.functions import Greatest

    return Greatest(F("attempts") - n, Value(0))


def _row(row: dict) -> JobRow:
    values = {key: value for key, value in row.items() if key in _FIELDS}
    values["source_raw"] = bytes(values["source_raw"])
    values["source_cleared"] = bool(values["source_cleared"])
    return JobRow(**values)
