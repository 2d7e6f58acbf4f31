"""The catalog's schema history from before Django (PRAGMA user_version 1-8), frozen.

Kept only to bring a home created by an earlier release to the adoption point, the schema
core/migrations/0001_initial.py creates: from there on Django's migrations alone own the
schema. Never edit these strings, never append to them: a new change is a Django migration.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from core.errors import SohoaError
from core.home import Home

LEGACY_MIGRATIONS: tuple[str, ...] = (
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
    # frozen: new schema changes are Django migrations (core/migrations/)
)

ADOPTION_POINT = len(LEGACY_MIGRATIONS)


class SchemaMismatch(SohoaError):
    """An old catalog whose tables are not the ones its user_version promises."""

    code = "catalog-schema-mismatch"


def bring_to_adoption_point(alias: str, home_root: Path | None) -> bool:
    """A home from before Django (SQLite, no django_migrations table): apply the legacy
    migrations it lacks, check its tables are 0001's, and return True (the caller records
    0001 as applied without running it). Anything else: False, nothing done."""
    from django.db import connections

    connection = connections[alias]
    if connection.vendor != "sqlite":
        return False  # PostgreSQL homes were born under Django
    connection.ensure_connection()
    raw = connection.connection
    tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    version = raw.execute("PRAGMA user_version").fetchone()[0]
    if "django_migrations" in tables or (version == 0 and "documents" not in tables):
        return False
    if version > ADOPTION_POINT:
        raise SchemaMismatch(
            f"{connection.settings_dict['NAME']}: danh mục do phiên bản sohoa mới hơn tạo (lược đồ {version}); "
            "hãy dùng phiên bản sohoa mới hơn")
    archive_root = Home(home_root or Path(connection.settings_dict["NAME"]).parent).archive_dir
    for number, script in enumerate(LEGACY_MIGRATIONS[version:], start=version + 1):
        raw.execute("BEGIN IMMEDIATE")
        try:
            for statement in (s for s in script.split(";") if s.strip()):
                raw.execute(statement)
            raw.execute(f"PRAGMA user_version = {number}")
            if "ADD COLUMN sidecar_size" in script:
                _fill_sidecar_sizes(raw, archive_root)
            raw.execute("COMMIT")
        except BaseException:
            raw.execute("ROLLBACK")
            raise
    check_tables_match(alias)
    return True


def _fill_sidecar_sizes(raw, archive_root: Path) -> None:
    """Legacy migration 6 for records archived before it: the size of each sidecar whose
    bytes still have the SHA-256 recorded when it was written (one that does not keeps
    NULL, and `sohoa verify` reports its hash as changed)."""
    rows = raw.execute("SELECT id, sidecar_file, sidecar_sha256 FROM documents").fetchall()
    for document_id, sidecar_file, sidecar_sha256 in rows:
        try:
            data = (archive_root / sidecar_file).read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() == sidecar_sha256:
            raw.execute("UPDATE documents SET sidecar_size = ? WHERE id = ?", (len(data), document_id))


def check_tables_match(alias: str) -> None:
    """Every table of the core app has exactly its model's columns as 0001_initial made
    them, with the same nullability: what Django's fake-initial assumes and does not check
    in full. (Not today's models: the migrations after 0001 are still to run on it.)"""
    from django.db import connections
    from django.db.migrations.loader import MigrationLoader

    connection = connections[alias]
    initial = MigrationLoader(None, ignore_no_migrations=True).project_state(("core", "0001_initial"), at_end=True)
    problems = []
    with connection.cursor() as cursor:
        for model in initial.apps.get_app_config("core").get_models():
            table = model._meta.db_table
            try:
                found = {c.name: c.null_ok for c in connection.introspection.get_table_description(cursor, table)}
            except Exception:
                problems.append(f"thiếu bảng {table}")
                continue
            wanted = {f.column: f.null for f in model._meta.local_concrete_fields}
            if set(found) != set(wanted):
                problems.append(f"bảng {table} có cột {sorted(found)} thay vì {sorted(wanted)}")
                continue
            # Primary-key columns may be declared without NOT NULL in SQLite: not compared.
            keys = {f.column for f in model._meta.pk_fields}
            for column, null in wanted.items():
                if column not in keys and found[column] != null:
                    problems.append(f"cột {table}.{column}: NULL {'được' if found[column] else 'không được'} phép")
    if problems:
        raise SchemaMismatch(
            f"{connection.settings_dict['NAME']}: danh mục cũ không khớp lược đồ ({'; '.join(problems)}); "
            "giữ nguyên tệp và báo kỹ thuật viên")


def mark_adoption_point(alias: str) -> None:
    """A SQLite catalog created by Django says it holds legacy migrations 1-8 too (so
    an earlier release opening it neither re-creates its tables nor fails on them)."""
    from django.db import connections

    connection = connections[alias]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA user_version")
            if cursor.fetchone()[0] < ADOPTION_POINT:
                cursor.execute(f"PRAGMA user_version = {ADOPTION_POINT}")
