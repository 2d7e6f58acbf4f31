"""The header fields in the catalog: one row per field (table document_fields), the
duplicate key, the Thông tư 05 record, and the review queue.

Writers take the open transaction's connection (Catalog.transaction()); readers use
Catalog.read.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.catalog import Catalog
from pipeline.header.fields import FIELD_NAMES, REQUIRED
from pipeline.header.record import RecordDefaults, archival_record, duplicate_key


def _stored_value(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)


def store_fields(db: sqlite3.Connection, document_id: int, metadata: Mapping) -> None:
    """Replace the document's field rows with what its metadata says now."""
    details = metadata.get("header") or {}
    review = set(metadata.get("review") or ())
    db.execute("DELETE FROM document_fields WHERE document_id = ?", (document_id,))
    rows = []
    for name in FIELD_NAMES:
        detail = details.get(name)
        if detail is None and name not in review:
            continue
        detail = detail or {"value": None, "source": "missing"}
        box = json.dumps(detail["box"]) if detail.get("box") else None
        rows.append((document_id, name, _stored_value(detail.get("value")), detail.get("confidence"),
                     detail.get("page"), box, detail.get("source", "ocr"), int(name in review)))
    db.executemany(
        "INSERT INTO document_fields (document_id, name, value, confidence, page, box, source, needs_review)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def find_duplicates(db: sqlite3.Connection, key: str | None, document_id: int) -> list[int]:
    if key is None:
        return []
    rows = db.execute("SELECT id FROM documents WHERE duplicate_key = ? AND id != ? ORDER BY id",
                      (key, document_id)).fetchall()
    return [int(row[0]) for row in rows]


def complete_record(db: sqlite3.Connection, document_id: int, metadata: dict, *, defaults: RecordDefaults,
                    language: str, process_link: str) -> dict:
    """Inside the document's transaction, once it has its id: the Thông tư 05 record,
    the duplicates (same number, symbol, issuing body and year), the field rows.
    Returns the metadata as stored."""
    key = duplicate_key(metadata)
    duplicates = find_duplicates(db, key, document_id)
    metadata = {k: v for k, v in metadata.items() if k != "duplicate_of"}
    if duplicates:
        metadata["duplicate_of"] = duplicates
    metadata["record"] = archival_record(metadata, document_id=document_id, defaults=defaults,
                                         language=language, process_link=process_link)
    db.execute("UPDATE documents SET metadata_json = ?, duplicate_key = ? WHERE id = ?",
               (json.dumps(metadata, ensure_ascii=False), key, document_id))
    store_fields(db, document_id, metadata)
    return metadata


def duplicates_of(catalog: Catalog, document_id: int) -> list[int]:
    """Other documents with the same number, symbol, issuing body and year (either way:
    the first document names the later ones too)."""
    rows = catalog.read(
        "SELECT other.id FROM documents AS this JOIN documents AS other"
        " ON other.duplicate_key = this.duplicate_key AND other.id != this.id"
        " WHERE this.id = ? ORDER BY other.id",
        (document_id,),
    )
    return [int(row[0]) for row in rows]


@dataclass(frozen=True)
class ReviewItem:
    document_id: int
    original_name: str
    field: str
    value: object  # None when the field was not found
    confidence: float | None
    page: int | None
    source: str
    box: tuple[int, int, int, int] | None = None  # where on the page to look (an unread field's slot too)


def review_queue(catalog: Catalog, limit: int | None = None) -> list[ReviewItem]:
    """Fields awaiting review, document by document (oldest first)."""
    sql = ("SELECT f.document_id, d.original_name, f.name, f.value, f.confidence, f.page, f.source, f.box"
           " FROM document_fields AS f JOIN documents AS d ON d.id = f.document_id"
           " WHERE f.needs_review = 1 AND d.withdrawn_at IS NULL ORDER BY f.document_id")  # withdrawn: nothing to fix
    order = {name: i for i, name in enumerate(FIELD_NAMES)}
    items = []
    for row in catalog.read(sql):
        value = row["value"]
        if value is not None and value.startswith("["):
            value = json.loads(value)
        items.append(ReviewItem(int(row["document_id"]), row["original_name"], row["name"], value,
                                row["confidence"], row["page"], row["source"],
                                tuple(json.loads(row["box"])) if row["box"] else None))
    items.sort(key=lambda item: (item.document_id, order.get(item.field, 99)))
    if limit is not None:
        wanted = sorted({item.document_id for item in items})[:limit]
        items = [item for item in items if item.document_id in wanted]
    return items


def flagged_documents(catalog: Catalog, limit: int | None = None) -> list[tuple[int, str, list[str]]]:
    """(id, original name, reasons) of records archived flagged as a whole (a blank scan, a
    page too small to be a document: metadata `needs_review`), withdrawn ones left out."""
    rows = catalog.read(
        "SELECT id, original_name, json_extract(metadata_json, '$.needs_review') AS reasons FROM documents"
        " WHERE json_extract(metadata_json, '$.needs_review') IS NOT NULL AND withdrawn_at IS NULL ORDER BY id"
        + (" LIMIT ?" if limit else ""), (limit,) if limit else ())
    return [(int(row["id"]), row["original_name"], json.loads(row["reasons"])) for row in rows]


def required_missing(metadata: Mapping) -> list[str]:
    return [name for name in REQUIRED if not metadata.get(name)]
