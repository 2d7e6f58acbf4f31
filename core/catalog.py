"""The catalog: the source of truth for every archived document, through the one data
layer (core/database.py: Django's ORM over SQLite or PostgreSQL; schema in core/models.py,
history in core/migrations/). Every step a document goes through is an event row: the
start of the preservation audit trail archivists export.

The public API is the one callers had when this was raw sqlite3: transaction() yields an
object with execute() for the modules still written in SQL (qmark style, on either backend).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


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
    confidentiality: int = 0  # core.confidentiality.Level; kept equal to the metadata's mark


class Row(tuple):
    """A result row of Catalog.read / Transaction.execute: by position or by column name,
    as sqlite3.Row was."""

    _names: dict[str, int]

    def __new__(cls, values, names: dict[str, int]):
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _portable(sql: str, params) -> tuple[str, tuple | None]:
    """qmark SQL (the catalog's modules were written for sqlite3) as Django's cursor takes
    it on every backend: %s marks, literal % doubled; question marks inside quoted text kept."""
    if not params:
        return sql, None
    parts = sql.split("'")
    for i in range(0, len(parts), 2):  # outside quotes
        parts[i] = parts[i].replace("%", "%%").replace("?", "%s")
    for i in range(1, len(parts), 2):
        parts[i] = parts[i].replace("%", "%%")
    return "'".join(parts), tuple(params)


class _Result:
    def __init__(self, cursor):
        names = {column[0]: i for i, column in enumerate(cursor.description or ())}
        self.rowcount = cursor.rowcount
        self._rows = [Row(values, names) for values in cursor.fetchall()] if cursor.description else []

    def fetchone(self) -> Row | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Row]:
        return self._rows

    def __iter__(self):
        return iter(self._rows)


class Transaction:
    """The open write transaction (Catalog.transaction()): `alias` for the ORM, and
    execute/executemany for the modules still written in SQL."""

    def __init__(self, alias: str):
        self.alias = alias

    def execute(self, sql: str, params=()) -> _Result:
        from django.db import connections

        with connections[self.alias].cursor() as cursor:
            cursor.execute(*_portable(sql, params))
            return _Result(cursor)

    def executemany(self, sql: str, rows) -> None:
        from django.db import connections

        rows = [tuple(row) for row in rows]
        if rows:
            with connections[self.alias].cursor() as cursor:
                cursor.executemany(_portable(sql, rows[0])[0], rows)


class Catalog:
    """The catalog of the home whose catalog file is `path` (SQLite there, or the
    PostgreSQL database its config.toml names: core/database.py). Opening it brings its
    schema up to date."""

    def __init__(self, path: Path):
        from core import database

        self.path = path
        self.alias = database.use_catalog_database(path)
        self._models = _models()

    def close(self) -> None:
        from core import database

        database.close(self.alias)

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def vendor(self) -> str:
        from django.db import connections

        return connections[self.alias].vendor

    def _fill_sidecar_sizes(self) -> None:
        """Legacy migration 6's fill (core/legacy.py) run again, on either database: the
        sidecar sizes still NULL, from the files whose SHA-256 matches."""
        from core import legacy
        from core.home import Home

        legacy._fill_sidecar_sizes(Transaction(self.alias), Home(self.path.parent).archive_dir)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction (BEGIN IMMEDIATE on SQLite): all of it is committed, or none of it."""
        from django.db import transaction

        with transaction.atomic(using=self.alias):
            yield Transaction(self.alias)

    # -- writing, inside transaction() --

    @staticmethod
    def insert_document(db: Transaction, row: dict) -> int:
        document = _models().Document(**row)
        document.save(using=db.alias, force_insert=True)
        return int(document.id)

    @staticmethod
    def insert_pages(db: Transaction, document_id: int, pages: list[PageRecord]) -> None:
        Page = _models().Page
        Page.objects.using(db.alias).bulk_create([
            Page(document_id=document_id, page_number=p.number, text_source=p.text_source, dpi=p.dpi,
                 width_px=p.width_px, height_px=p.height_px, ocr_confidence=p.ocr_confidence, text=p.text,
                 rotation=p.rotation, skew=p.skew, blank=bool(p.blank))
            for p in pages
        ])

    @staticmethod
    def insert_events(db: Transaction, document_id: int | None, events: list[Event]) -> None:
        EventRow = _models().Event
        EventRow.objects.using(db.alias).bulk_create([
            EventRow(document_id=document_id, step=e.step, outcome=e.outcome, at=e.at,
                     detail=json.dumps(e.detail, ensure_ascii=False) if e.detail else None)
            for e in events
        ])

    @staticmethod
    def update_document(db: Transaction, document_id: int, **columns) -> None:
        """Set some of the document's columns (names as in core.models.Document)."""
        _models().Document.objects.using(db.alias).filter(id=document_id).update(**columns)

    # -- reading --

    def _documents(self):
        return self._models.Document.objects.using(self.alias)

    def find_by_original_sha256(self, sha256: str) -> int | None:
        found = self._documents().filter(original_sha256=sha256).values_list("id", flat=True).first()
        return int(found) if found is not None else None

    def get(self, document_id: int) -> DocumentRow | None:
        return self.get_many([document_id]).get(document_id)

    def get_many(self, ids: list[int]) -> dict[int, DocumentRow]:
        found = {}
        ids = list(ids)
        for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
            for values in self._documents().filter(id__in=ids[start:start + 500]).values():
                values["metadata"] = json.loads(values.pop("metadata_json"))
                found[int(values["id"])] = DocumentRow(**values)
        return {document_id: found[document_id] for document_id in ids if document_id in found}

    def pages(self, document_id: int) -> list[PageRecord]:
        rows = self._models.Page.objects.using(self.alias).filter(document_id=document_id).order_by("page_number")
        return [
            PageRecord(r.page_number, r.text_source, r.dpi, r.width_px, r.height_px, r.ocr_confidence, r.text,
                       r.rotation, r.skew, bool(r.blank))
            for r in rows
        ]

    def events(self, document_id: int) -> list[Event]:
        rows = self._models.Event.objects.using(self.alias).filter(document_id=document_id).order_by("id")
        return [Event(r.step, r.outcome, r.at, json.loads(r.detail) if r.detail else None) for r in rows]

    def count_documents(self) -> int:
        return self._documents().count()

    def document_ids(self) -> set[int]:
        return {int(i) for i in self._documents().values_list("id", flat=True)}

    # What the search index holds: every document but the withdrawn ones (pipeline/withdraw.py).
    # A future export lists its documents with the same filter.
    SEARCHABLE = "withdrawn_at IS NULL"

    def _searchable(self):
        return self._documents().filter(withdrawn_at__isnull=True)

    def searchable_ids(self) -> set[int]:
        return {int(i) for i in self._searchable().values_list("id", flat=True)}

    def count_searchable(self) -> int:
        return self._searchable().count()

    def documents_with_texts(
        self, after_id: int, limit: int
    ) -> list[tuple[int, dict, list[str], list[tuple[str, str]]]]:
        """(id, metadata, page texts, signing events as (step, outcome)) of up to `limit`
        documents with id > after_id, by id: one batch of a reindex, three queries whatever
        its size."""
        rows = list(self._searchable().filter(id__gt=after_id).order_by("id").values_list("id", "metadata_json")[:limit])
        if not rows:
            return []
        first, last = rows[0][0], rows[-1][0]
        texts: dict[int, list[str]] = {int(row[0]): [] for row in rows}
        pages = self._models.Page.objects.using(self.alias).filter(document_id__gte=first, document_id__lte=last)
        for document_id, text in pages.order_by("document_id", "page_number").values_list("document_id", "text"):
            if int(document_id) in texts:  # not a withdrawn one lying between
                texts[int(document_id)].append(text)
        signing: dict[int, list[tuple[str, str]]] = {int(row[0]): [] for row in rows}
        events = self._models.Event.objects.using(self.alias).filter(
            document_id__gte=first, document_id__lte=last, step__in=("signed", "signature_verified"))
        for document_id, step, outcome in events.order_by("id").values_list("document_id", "step", "outcome"):
            if int(document_id) in signing:
                signing[int(document_id)].append((step, outcome))
        return [(int(i), json.loads(metadata), texts[int(i)], signing[int(i)]) for i, metadata in rows]

    def read(self, sql: str, params: tuple = ()) -> list[Row]:
        """A read-only query in SQL, for the modules not yet on the ORM."""
        return Transaction(self.alias).execute(sql, params).fetchall()


def _models():
    from core import models

    return models
