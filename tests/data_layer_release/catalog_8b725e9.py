"""Frozen copy of core/catalog.py as released at 8b725e9 (raw sqlite3, PRAGMA user_version),
used only by tests/test_data_layer_upgrade.py to build homes as that release made them.

The catalog: SQLite, the source of truth for every archived document.

Schema changes are numbered migrations applied in order (PRAGMA user_version records the
last one), so a home created by any version upgrades in place. Every step a document goes
through is an event row: the start of the preservation audit trail archivists export.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS: tuple[str, ...] = (
    # 1: documents, their pages and the audit trail
    """
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at TEXT NOT NULL,
        original_name TEXT NOT NULL,
        original_format TEXT NOT NULL,
        original_sha256 TEXT NOT NULL UNIQUE,
        original_size INTEGER NOT NULL,
        archive_dir TEXT NOT NULL,
        original_file TEXT NOT NULL,
        pdfa_file TEXT NOT NULL,
        pdfa_sha256 TEXT NOT NULL,
        pdfa_size INTEGER NOT NULL,
        sidecar_file TEXT NOT NULL,
        sidecar_sha256 TEXT NOT NULL,
        page_count INTEGER NOT NULL,
        metadata_json TEXT NOT NULL
    );
    CREATE TABLE pages (
        document_id INTEGER NOT NULL REFERENCES documents(id),
        page_number INTEGER NOT NULL,
        text_source TEXT NOT NULL,
        dpi REAL,
        width_px INTEGER,
        height_px INTEGER,
        ocr_confidence REAL,
        text TEXT NOT NULL,
        PRIMARY KEY (document_id, page_number)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        document_id INTEGER REFERENCES documents(id),
        step TEXT NOT NULL,
        outcome TEXT NOT NULL,
        at TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX events_by_document ON events(document_id);
    """,
    # 2: what clean-up found about each sheet
    """
    ALTER TABLE pages ADD COLUMN rotation INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE pages ADD COLUMN skew REAL;
    ALTER TABLE pages ADD COLUMN blank INTEGER NOT NULL DEFAULT 0;
    """,
    # 3: the watch-folder service's jobs, one per file taken from an inbox, found again by
    # the SHA-256 of its bytes (watch_folders/jobs.py)
    """
    CREATE TABLE watch_jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sha256 TEXT NOT NULL,
        profile TEXT NOT NULL,
        source_path TEXT NOT NULL,
        source_raw BLOB NOT NULL,
        source_size INTEGER NOT NULL,
        source_mtime_ns INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('received', 'processing', 'done', 'failed', 'duplicate')),
        attempts INTEGER NOT NULL DEFAULT 0,
        retry_at TEXT,
        document_id INTEGER REFERENCES documents(id),
        page_count INTEGER,
        error_code TEXT,
        reason TEXT,
        received_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        source_cleared INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX watch_jobs_by_sha256 ON watch_jobs(sha256);
    CREATE INDEX watch_jobs_by_state ON watch_jobs(state);
    CREATE INDEX watch_jobs_by_finished_at ON watch_jobs(finished_at);
    """,
    # 4: the header fields read from the page (header): one row per field with its
    # confidence, page and box (JSON, pixels of the upright page), whether it awaits review,
    # and the key that finds duplicates by number, symbol, issuing body and year
    """
    CREATE TABLE document_fields (
        document_id INTEGER NOT NULL REFERENCES documents(id),
        name TEXT NOT NULL,
        value TEXT,
        confidence REAL,
        page INTEGER,
        box TEXT,
        source TEXT NOT NULL,
        needs_review INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (document_id, name)
    );
    CREATE INDEX document_fields_to_review ON document_fields(needs_review, document_id);
    ALTER TABLE documents ADD COLUMN duplicate_key TEXT;
    CREATE INDEX documents_by_duplicate_key ON documents(duplicate_key);
    """,
    # 5: the device and inode of the file each watch job took, so that only that very file
    # ever leaves the inbox (watch_folders/outcomes.py); NULL for jobs taken before
    """
    ALTER TABLE watch_jobs ADD COLUMN source_dev INTEGER;
    ALTER TABLE watch_jobs ADD COLUMN source_ino INTEGER;
    """,
    # 6: fixity of every archived file (pipeline/fixity.py): the sidecar's size beside its
    # SHA-256 (the original's and the PDF/A's were kept from the start); filled for records
    # archived before by _fill_sidecar_sizes, from the file when it still has its SHA-256
    """
    ALTER TABLE documents ADD COLUMN sidecar_size INTEGER;
    """,
    # 7: withdrawal (pipeline/withdraw.py): a withdrawn record keeps its files, its rows and
    # its audit trail, but leaves search (and any future export); NULL while it is in
    """
    ALTER TABLE documents ADD COLUMN withdrawn_at TEXT;
    ALTER TABLE documents ADD COLUMN withdrawn_reason TEXT;
    """,
    # New migrations are appended here, one string each, never edited once committed.
)


@dataclass(frozen=True)
class Event:
    step: str  # received, loaded, ocr, pdfa, archived, indexed ...
    outcome: str  # ok, skipped, error
    at: str  # ISO 8601 with offset
    detail: dict | None = None


@dataclass(frozen=True)
class PageRecord:
    number: int
    text_source: str  # "ocr", "redone-ocr" (a scanner's text layer replaced) or "kept" ("existing" before)
    dpi: float | None
    width_px: int | None
    height_px: int | None
    ocr_confidence: float | None
    text: str
    rotation: int = 0  # clockwise degrees the scan was turned upright (its /Rotate grew by it)
    skew: float | None = None  # degrees the text lay rotated on the sheet
    blank: bool = False


@dataclass(frozen=True)
class DocumentRow:
    id: int
    received_at: str
    original_name: str
    original_format: str
    original_sha256: str
    original_size: int
    archive_dir: str
    original_file: str
    pdfa_file: str
    pdfa_sha256: str
    pdfa_size: int
    sidecar_file: str
    sidecar_sha256: str
    page_count: int
    metadata: dict
    # (number, symbol, issuing body, year) folded, when all are known (header/record.py)
    duplicate_key: str | None = None
    sidecar_size: int | None = None  # None: archived before migration 6 and not matched since
    withdrawn_at: str | None = None  # set by `sohoa withdraw`: out of search, files kept
    withdrawn_reason: str | None = None


class Catalog:
    def __init__(self, path: Path):
        self.path = path
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per document.
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self.schema_version
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            statements = [s for s in script.split(";") if s.strip()]
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in statements:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")
                if "ADD COLUMN sidecar_size" in script:
                    self._fill_sidecar_sizes()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _fill_sidecar_sizes(self) -> None:
        """Migration 6 for records archived before it: the size of each sidecar whose bytes
        still have the SHA-256 recorded when it was written (one that does not keeps NULL,
        and `sohoa verify` reports its hash as changed)."""
        archive_root = self.path.parent / "archive"  # pipeline/home.py: the home's layout
        rows = self._db.execute("SELECT id, sidecar_file, sidecar_sha256 FROM documents").fetchall()
        for row in rows:
            try:
                data = (archive_root / row["sidecar_file"]).read_bytes()
            except OSError:
                continue
            if hashlib.sha256(data).hexdigest() == row["sidecar_sha256"]:
                self._db.execute("UPDATE documents SET sidecar_size = ? WHERE id = ?", (len(data), row["id"]))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none of it."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- writing, inside transaction() --

    @staticmethod
    def insert_document(db: sqlite3.Connection, row: dict) -> int:
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        cursor = db.execute(f"INSERT INTO documents ({columns}) VALUES ({marks})", tuple(row.values()))
        return int(cursor.lastrowid)

    @staticmethod
    def insert_pages(db: sqlite3.Connection, document_id: int, pages: list[PageRecord]) -> None:
        db.executemany(
            "INSERT INTO pages (document_id, page_number, text_source, dpi, width_px, height_px,"
            " ocr_confidence, text, rotation, skew, blank) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (document_id, p.number, p.text_source, p.dpi, p.width_px, p.height_px, p.ocr_confidence,
                 p.text, p.rotation, p.skew, int(p.blank))
                for p in pages
            ],
        )

    @staticmethod
    def insert_events(db: sqlite3.Connection, document_id: int | None, events: list[Event]) -> None:
        db.executemany(
            "INSERT INTO events (document_id, step, outcome, at, detail) VALUES (?, ?, ?, ?, ?)",
            [
                (document_id, e.step, e.outcome, e.at, json.dumps(e.detail, ensure_ascii=False) if e.detail else None)
                for e in events
            ],
        )

    # -- reading --

    def find_by_original_sha256(self, sha256: str) -> int | None:
        row = self._db.execute("SELECT id FROM documents WHERE original_sha256 = ?", (sha256,)).fetchone()
        return int(row["id"]) if row else None

    def get(self, document_id: int) -> DocumentRow | None:
        row = self._db.execute("SELECT * FROM documents WHERE id = ?", (document_id,)).fetchone()
        if row is None:
            return None
        values = dict(row)
        values["metadata"] = json.loads(values.pop("metadata_json"))
        return DocumentRow(**values)

    def get_many(self, ids: list[int]) -> dict[int, DocumentRow]:
        found = {}
        for document_id in ids:
            row = self.get(document_id)
            if row is not None:
                found[document_id] = row
        return found

    def pages(self, document_id: int) -> list[PageRecord]:
        rows = self._db.execute(
            "SELECT * FROM pages WHERE document_id = ? ORDER BY page_number", (document_id,)
        ).fetchall()
        return [
            PageRecord(r["page_number"], r["text_source"], r["dpi"], r["width_px"], r["height_px"],
                       r["ocr_confidence"], r["text"], r["rotation"], r["skew"], bool(r["blank"]))
            for r in rows
        ]

    def events(self, document_id: int) -> list[Event]:
        rows = self._db.execute(
            "SELECT * FROM events WHERE document_id = ? ORDER BY id", (document_id,)
        ).fetchall()
        return [Event(r["step"], r["outcome"], r["at"], json.loads(r["detail"]) if r["detail"] else None) for r in rows]

    def count_documents(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM documents").fetchone()[0])

    def document_ids(self) -> set[int]:
        return {int(row[0]) for row in self._db.execute("SELECT id FROM documents")}

    # What the search index holds: every document but the withdrawn ones (pipeline/withdraw.py).
    # A future export lists its documents with the same filter.
    SEARCHABLE = "withdrawn_at IS NULL"

    def searchable_ids(self) -> set[int]:
        return {int(row[0]) for row in self._db.execute(f"SELECT id FROM documents WHERE {self.SEARCHABLE}")}

    def count_searchable(self) -> int:
        return int(self._db.execute(f"SELECT count(*) FROM documents WHERE {self.SEARCHABLE}").fetchone()[0])

    def documents_with_texts(
        self, after_id: int, limit: int
    ) -> list[tuple[int, dict, list[str], list[tuple[str, str]]]]:
        """(id, metadata, page texts, signing events as (step, outcome)) of up to `limit`
        documents with id > after_id, by id: one batch of a reindex, three queries whatever
        its size."""
        rows = self._db.execute(
            f"SELECT id, metadata_json FROM documents WHERE id > ? AND {self.SEARCHABLE} ORDER BY id LIMIT ?",
            (after_id, limit),
        ).fetchall()
        if not rows:
            return []
        first, last = rows[0]["id"], rows[-1]["id"]
        texts: dict[int, list[str]] = {int(row["id"]): [] for row in rows}
        for page in self._db.execute(
            "SELECT document_id, text FROM pages WHERE document_id BETWEEN ? AND ?"
            " ORDER BY document_id, page_number",
            (first, last),
        ):
            if int(page["document_id"]) in texts:  # not a withdrawn one lying between
                texts[int(page["document_id"])].append(page["text"])
        signing: dict[int, list[tuple[str, str]]] = {int(row["id"]): [] for row in rows}
        for event in self._db.execute(
            "SELECT document_id, step, outcome FROM events WHERE document_id BETWEEN ? AND ?"
            " AND step IN ('signed', 'signature_verified') ORDER BY id",
            (first, last),
        ):
            if int(event["document_id"]) in signing:
                signing[int(event["document_id"])].append((event["step"], event["outcome"]))
        return [
            (int(row["id"]), json.loads(row["metadata_json"]), texts[int(row["id"])], signing[int(row["id"])])
            for row in rows
        ]

    def read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        """A read-only query, for modules that keep their own tables (watch_folders/jobs.py)."""
        return self._db.execute(sql, params).fetchall()
