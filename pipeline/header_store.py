"""The header fields in the catalog: one row per field (table document_fields), the
duplicate key, the Thông tư 05 record, and the review queue.

Writers take the open transaction (Catalog.transaction()), readers the catalog; both
through the ORM (core.models), the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from core.catalog import Catalog
from core.record_metadata import RecordMetadata
from header.fields import FIELD_NAMES, REQUIRED
from core.record_defaults import RecordDefaults
from header.record import archival_record, duplicate_key


def _stored_value(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)


def _models():
    from core import models

    return models


def store_fields(db, document_id: int, metadata: Mapping) -> None:
    """Replace the document's field rows with what its metadata says now."""
    DocumentField = _models().DocumentField
    details = metadata.get("header") or {}
    review = set(metadata.get("review") or ())
    DocumentField.objects.using(db.alias).filter(document_id=document_id).delete()
    rows = []
    for name in FIELD_NAMES:
        detail = details.get(name)
        if detail is None and name not in review:
            continue
        detail = detail or {"value": None, "source": "missing"}
        box = json.dumps(detail["box"]) if detail.get("box") else None
        rows.append(DocumentField(document_id=document_id, name=name, value=_stored_value(detail.get("value")),
                                  confidence=detail.get("confidence"), page=detail.get("page"), box=box,
                                  source=detail.get("source", "ocr"), needs_review=name in review))
    DocumentField.objects.using(db.alias).bulk_create(rows)


def find_duplicates(db, key: str | None, document_id: int) -> list[int]:
    """Other documents with this duplicate key; db: the open transaction, or the catalog."""
    if key is None:
        return []
    same = _models().Document.objects.using(db.alias).filter(duplicate_key=key).exclude(id=document_id)
    return [int(i) for i in same.order_by("id").values_list("id", flat=True)]


def complete_record(db, document_id: int, metadata: dict, *, defaults: RecordDefaults,
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
    stored = RecordMetadata.from_mapping(metadata)
    Catalog.update_document(db, document_id, metadata_json=stored.to_json(), duplicate_key=key)
    metadata = stored.as_dict()
    store_fields(db, document_id, metadata)
    return metadata


def duplicates_of(catalog: Catalog, document_id: int) -> list[int]:
    """Other documents with the same number, symbol, issuing body and year (either way:
    the first document names the later ones too)."""
    documents = _models().Document.objects.using(catalog.alias)
    key = documents.filter(id=document_id).values_list("duplicate_key", flat=True).first()
    return find_duplicates(catalog, key, document_id)


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
    rows = _models().DocumentField.objects.using(catalog.alias).filter(
        needs_review=True, document__withdrawn_at__isnull=True,  # withdrawn: nothing to fix
    ).order_by("document_id").values("document_id", "document__original_name", "name", "value", "confidence",
                                     "page", "source", "box")
    order = {name: i for i, name in enumerate(FIELD_NAMES)}
    items = []
    for row in rows:
        value = row["value"]
        if value is not None and value.startswith("["):
            value = json.loads(value)
        items.append(ReviewItem(int(row["document_id"]), row["document__original_name"], row["name"], value,
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
    # The flag is inside the metadata's JSON: the database narrows by text, Python reads it
    # (the same on SQLite and PostgreSQL).
    candidates = _models().Document.objects.using(catalog.alias).filter(
        withdrawn_at__isnull=True, metadata_json__contains='"needs_review"',
    ).order_by("id").values_list("id", "original_name", "metadata_json")
    flagged = []
    for document_id, original_name, metadata_json in candidates.iterator():
        reasons = RecordMetadata.from_json(metadata_json).needs_review
        if reasons is not None:
            flagged.append((int(document_id), original_name, list(reasons)))
            if limit and len(flagged) >= limit:
                break
    return flagged


def required_missing(metadata: Mapping) -> list[str]:
    return [name for name in REQUIRED if not metadata.get(name)]
