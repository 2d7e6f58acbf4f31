"""`sohoa set ID field=value`: a person corrects what the header reader read.

The correction changes the catalog (metadata, field row, duplicate key, one audit event per
field saying who changed what, when, from which value), the record's JSON sidecar and the
search index, as one unit: the catalog transaction commits last; if anything fails before,
the sidecar and the index entry are put back. The archived PDF/A is not rewritten (it may
be signed): its XMP keeps what was read at archiving time, with the reader's confidences.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass

from core.clock import now_text
from core.confidentiality import Level
from core.errors import SohoaError
from core.events import Step
from core.lookup import document_types, retention_periods, type_name
from core.record_metadata import RecordMetadata
from index import SearchIndex, index_entry
from core.archive import ArchiveStore
from core.catalog import Catalog, Event
from core.durable import write_bytes_durably
from header.fields import FIELD_LABELS, FIELD_NAMES, LIST_FIELDS
from core.record_defaults import CODE_LISTS, RecordDefaults
from header.record import DEFAULTED, RECORD_LABELS, archival_record, duplicate_key
from pipeline.header_store import find_duplicates, store_fields
from header.text import nfc

log = logging.getLogger(__name__)
SETTABLE = tuple(FIELD_NAMES) + DEFAULTED
_NUMBER = re.compile(r"^(?P<serial>\d+)(?:/(?P<year>\d{4}))?/(?P<symbol>[^/\s]+)$")


class CorrectionError(SohoaError):
    """A correction that cannot be made, said in one line."""

    code = "correction-refused"


@dataclass(frozen=True)
class Correction:
    field: str
    old: object
    new: object


def who_is_editing(option: str | None) -> str:
    """--by when given, else the operating system's user name."""
    if option and option.strip():
        return nfc(option.strip())
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return f"uid {os.getuid()}"


def parse_assignment(text: str) -> tuple[str, str]:
    field, sep, value = nfc(text).partition("=")
    field = field.strip()
    if not sep or not field:
        raise CorrectionError(f"«{text}»: viết TRƯỜNG=GIÁ_TRỊ, ví dụ number=15/QĐ-SNV")
    if field not in SETTABLE:
        raise CorrectionError(f"không có trường «{field}»; các trường sửa được: {', '.join(SETTABLE)}")
    return field, value.strip()


def _value(field: str, raw: str, code_lists: dict = CODE_LISTS, types: dict | None = None):
    """The typed value of a correction; ValueError with the reason. code_lists and types
    (symbol -> name): the home's tables (core.lookup), the static ones when not given."""
    if field == "confidentiality":
        # Checked even when empty: a level is lowered only by naming the lower level. Thường
        # is no mark at all, as on a page without a stamp (the record's access mode follows).
        level = Level.parse(raw)
        return level.label if level else None
    if raw == "":
        return None
    if field == "issue_date":
        for form in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
            try:
                return dt.datetime.strptime(raw, form).date().isoformat()
            except ValueError:
                continue
        raise ValueError(f"ngày «{raw}» không hợp lệ (viết 02/03/2018)")
    if field == "number" and not _NUMBER.match("".join(raw.split())):
        raise ValueError(f"số ký hiệu «{raw}» không đúng dạng 268/SGTVT-VP hoặc 30/2020/NĐ-CP")
    if field in code_lists and raw not in code_lists[field]:
        allowed = ", ".join(f"{code} ({name})" for code, name in code_lists[field].items())
        raise ValueError(f"mã «{raw}» không hợp lệ cho {label(field)} ({field}): dùng {allowed}")
    if field == "doc_type" and types:
        return type_name(raw, types) or raw  # a symbol (QĐ) stands for its type's name
    if field in LIST_FIELDS or field == "keywords":
        return [item.strip() for item in raw.split("|") if item.strip()]
    if field == "number":
        return "".join(raw.split())
    return raw


def _set_header_field(metadata: dict, field: str, value, old_detail: dict | None) -> None:
    details = metadata.setdefault("header", {})
    if value is None:
        metadata.pop(field, None)
        details.pop(field, None)
    else:
        metadata[field] = value
        detail = {"value": value, "confidence": 1.0, "source": "manual"}
        for kept in ("page", "box"):  # where it is on the page has not changed
            if old_detail and kept in old_detail:
                detail[kept] = old_detail[kept]
        details[field] = detail
    metadata["review"] = [name for name in metadata.get("review", []) if name != field]


def apply(metadata: dict, field: str, value) -> list[Correction]:
    """Change the metadata dict in place; the number's parts follow the number."""
    if field in DEFAULTED:
        record = metadata.setdefault("record", {})
        old = record.get(field)
        record[field] = value if value is not None else ""
        return [Correction(field, old, value)]
    if field == "confidentiality" and Level.of_mark(metadata.get(field)) == Level.of_mark(value):
        return []  # "mật" over the stamp's "MẬT": the same level, nothing to record
    changes = [Correction(field, metadata.get(field), value)]
    _set_header_field(metadata, field, value, (metadata.get("header") or {}).get(field))
    record = metadata.get("record") or {}
    if field == "confidentiality" and value is not None and record.get("access_mode") not in (None, "", "03"):
        # A secret record is not công khai: its Thông tư 05 access mode follows (the reader's
        # stamp does the same at ingest: header/record.py); lowering it is left to a person.
        changes += apply(metadata, "access_mode", "03")
    if field == "number" and value is not None:
        parts = _NUMBER.match(value)
        for part, part_value in (("serial", parts["serial"]), ("symbol", parts["symbol"]),
                                 ("number_year", parts["year"])):
            if metadata.get(part) != part_value:
                changes.append(Correction(part, metadata.get(part), part_value))
                _set_header_field(metadata, part, part_value, (metadata.get("header") or {}).get(part))
    return changes


def correct(document_id: int, assignments: list[str], *, by: str, catalog: Catalog, archive: ArchiveStore,
            index: SearchIndex, defaults: RecordDefaults, language: str,
            reason: str | None = None) -> list[Correction]:
    """Apply `field=value` corrections to one document; returns what changed. `reason`
    (the web's form asks for one): why, kept in each audit event beside who."""
    row = catalog.get(document_id)
    if row is None:
        raise CorrectionError(f"không có tài liệu mã {document_id}")
    metadata = RecordMetadata.from_mapping(row.metadata).as_dict()  # a copy, changed below
    changes: list[Correction] = []
    # the home's tables, as its administrator keeps them in the admin
    code_lists = {**CODE_LISTS, "retention": retention_periods(catalog.alias)}
    types = document_types(catalog.alias)
    for assignment in assignments:
        field, raw = parse_assignment(assignment)
        try:
            value = _value(field, raw, code_lists, types)
        except ValueError as error:
            raise CorrectionError(str(error)) from None
        changes += apply(metadata, field, value)
    changes = [c for c in changes if c.old != c.new]
    if not changes:
        return []
    metadata["record"] = archival_record(metadata, document_id=document_id, defaults=defaults, language=language,
                                         process_link=(metadata.get("record") or {}).get("process_link", ""))
    at = now_text()
    why = {"reason": nfc(reason.strip())} if reason and reason.strip() else {}
    events = [Event(Step.CORRECTED, "ok", at, {"field": c.field, "old": c.old, "new": c.new, "by": by, **why})
              for c in changes]
    sidecar_path = archive.path(row.sidecar_file)
    old_sidecar = sidecar_path.read_bytes()
    pages = [page.text for page in catalog.pages(document_id)]
    # The signature status lives in the audit trail, not in the metadata: an entry built
    # from the metadata alone lost it (the document left `search --signature signed`).
    trail = [(event.step, event.outcome) for event in catalog.events(document_id)]
    searchable = getattr(row, "withdrawn_at", None) is None  # a withdrawn record stays out of the index
    sidecar_written = indexed = False
    try:
        with catalog.transaction() as db:
            key = duplicate_key(metadata)
            duplicates = find_duplicates(db, key, document_id)
            metadata.pop("duplicate_of", None)
            if duplicates:
                metadata["duplicate_of"] = duplicates
            stored = RecordMetadata.from_mapping(metadata)
            metadata = stored.as_dict()
            sidecar = _new_sidecar(old_sidecar, metadata, events)
            # The column the web's permissions filter on follows the mark, in the same transaction.
            Catalog.update_document(db, document_id, metadata_json=stored.to_json(),
                                    confidentiality=int(Level.of_mark(stored.confidentiality)),
                                    duplicate_key=key, sidecar_sha256=hashlib.sha256(sidecar).hexdigest(),
                                    sidecar_size=len(sidecar))
            store_fields(db, document_id, metadata)
            Catalog.insert_events(db, document_id, events)
            write_bytes_durably(sidecar_path, sidecar)
            sidecar_written = True
            if searchable:
                index.add(index_entry(document_id, metadata, pages, trail))
                indexed = True
    except BaseException:
        if sidecar_written:
            _quietly(write_bytes_durably, sidecar_path, old_sidecar)
        if indexed:
            _quietly(index.add, index_entry(document_id, row.metadata, pages, trail))
        raise
    return changes


def _new_sidecar(old: bytes, metadata: dict, events: list[Event]) -> bytes:
    sidecar = json.loads(old)
    sidecar["metadata"] = metadata
    sidecar.setdefault("events", []).extend(
        {"step": e.step, "outcome": e.outcome, "at": e.at, "detail": e.detail} for e in events
    )
    return json.dumps(sidecar, ensure_ascii=False, indent=2).encode("utf-8")


def _quietly(action, *args) -> None:
    try:
        action(*args)
    except Exception:  # the original error is the one to report
        log.exception("could not undo a partial correction")


def label(field: str) -> str:
    return FIELD_LABELS.get(field) or RECORD_LABELS.get(field) or field
