"""The lookup tables as the home's administrator keeps them (the admin, /quan-tri/):
document types by symbol and retention periods by code, active rows only.

Read from the home's database when the caller has one open (its connection alias); the
static tables (core/document_types.py, core/record_defaults.py) when it has none, or when
the database predates the tables (a home not yet migrated to 0004). Read afresh on each
call: a few dozen rows, once per document or command, so an edit in the admin counts from
the next document on without any cache to invalidate.
"""

from __future__ import annotations

import unicodedata

from core.document_types import DOCUMENT_TYPES
from core.record_defaults import RETENTION


def document_types(alias: str | None, *, active_only: bool = True) -> dict[str, str]:
    """symbol -> name of the active document types (what new documents are read as); with
    active_only=False the retired ones too (their documents are still searched by type)."""
    if alias is None:
        return dict(DOCUMENT_TYPES)
    from core.models import DocumentType

    rows = DocumentType.objects.using(alias).order_by("id")
    if active_only:
        rows = rows.filter(active=True)
    found = _rows(rows.values_list("symbol", "name"))
    return dict(DOCUMENT_TYPES) if found is None else dict(found)


def type_name(value: str, types: dict[str, str]) -> str | None:
    """The name of the type whose symbol `value` is: as written ("CT" Chỉ thị, "CTr" Chương
    trình), else folded and upper-cased when that names one type only ("qd" Quyết định; not
    "HD", which is both Hướng dẫn and Hợp đồng). None when it is no symbol."""
    from core.text import fold

    value = unicodedata.normalize("NFC", value.strip())
    if value in types:
        return types[value]
    key = fold(value).upper()
    names = [name for symbol, name in types.items() if fold(symbol).upper() == key]
    return names[0] if len(names) == 1 else None


def retention_periods(alias: str | None, *, active_only: bool = True) -> dict[str, str]:
    """code -> label of the active retention periods (what a record may be given); with
    active_only=False the retired ones too (records given them still name them)."""
    if alias is None:
        return dict(RETENTION)
    from core.models import RetentionPeriod

    rows = RetentionPeriod.objects.using(alias).order_by("code")
    if active_only:
        rows = rows.filter(active=True)
    found = _rows(rows.values_list("code", "label"))
    return dict(RETENTION) if found is None else dict(found)


def _rows(query) -> list | None:
    """The query's rows; None when the table is not there (a database before 0004)."""
    from django.db import DatabaseError, connections, transaction

    try:
        # savepoint: in PostgreSQL a failed statement would otherwise spoil the caller's transaction
        with transaction.atomic(using=query.db):
            return list(query)
    except DatabaseError:
        with connections[query.db].cursor() as cursor:
            tables = connections[query.db].introspection.table_names(cursor)
        if query.model._meta.db_table in tables:
            raise  # the table is there: a real failure, not an old schema
        return None
