"""Withdrawal (deaccession) of a record, and its reinstatement.

An archive never deletes: a withdrawn record keeps its files, its catalog rows and its
audit trail, and its fixity is still checked (`sohoa verify`, `sohoa audit`); it only
leaves search (the index) and any export. Withdrawing and reinstating are PREMIS events
("deaccession", "reinstatement") with the reason and who did it, committed in the same
unit of work as the index change.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass

from core.clock import now_text
from core.errors import SohoaError
from core.events import Step
from index import IndexedDocument, SearchIndex, index_entry
from core.catalog import Catalog, DocumentRow, Event

log = logging.getLogger(__name__)

WITHDRAWN = Step.WITHDRAWN
REINSTATED = Step.REINSTATED


class WithdrawError(SohoaError):
    """A refusal to say in one line (no such record, already withdrawn, no reason)."""

    code = "withdraw-refused"


@dataclass(frozen=True)
class Withdrawal:
    at: str
    reason: str
    by: str | None  # from the audit trail; None when the event carries no name

    def as_dict(self) -> dict:
        return {"at": self.at, "reason": self.reason, "by": self.by}


def withdrawal_of(catalog: Catalog, row: DocumentRow) -> Withdrawal | None:
    """The record's standing withdrawal, or None when it is in the archive's search."""
    if row.withdrawn_at is None:
        return None
    by = None
    for event in reversed(catalog.events(row.id)):
        if event.step == WITHDRAWN:
            by = (event.detail or {}).get("by")
            break
    return Withdrawal(row.withdrawn_at, row.withdrawn_reason or "", by)


def _now() -> str:
    return now_text()


def _reason(reason: str | None) -> str:
    text = unicodedata.normalize("NFC", (reason or "").strip())
    if not text:
        raise WithdrawError("cần cho lý do: --reason \"…\" (ghi vào nhật ký lưu trữ)")
    return text


def _row(catalog: Catalog, document_id: int) -> DocumentRow:
    row = catalog.get(document_id)
    if row is None:
        raise WithdrawError(f"không có tài liệu mã {document_id}")
    return row


def _indexed_document(catalog: Catalog, row: DocumentRow) -> IndexedDocument:
    """The record's entry as ingest, reindex and `sohoa check` build it (index.index_entry)."""
    trail = [(event.step, event.outcome) for event in catalog.events(row.id)]
    return index_entry(row.id, row.metadata, [page.text for page in catalog.pages(row.id)], trail)


def withdraw(catalog: Catalog, index: SearchIndex, document_id: int, *, reason: str | None, by: str) -> Withdrawal:
    """Take the record out of search; its files and rows stay. Raises WithdrawError."""
    reason = _reason(reason)
    row = _row(catalog, document_id)
    if row.withdrawn_at is not None:
        raise WithdrawError(f"tài liệu mã {document_id} đã được rút khỏi kho lúc {row.withdrawn_at}"
                            f" (lý do: {row.withdrawn_reason}); không làm lại")
    at = _now()
    removed = False
    try:
        with catalog.transaction() as db:
            Catalog.update_document(db, document_id, withdrawn_at=at, withdrawn_reason=reason)
            Catalog.insert_events(db, document_id, [Event(WITHDRAWN, "ok", at, {
                "event_type": WITHDRAWN, "reason": reason, "by": by})])
            index.delete(document_id)  # last: a failure before it leaves the index as it was
            removed = True
    except BaseException:
        if removed:  # the catalog still says it is in: so must the index
            _quietly(index.add, _indexed_document(catalog, row))
        raise
    return Withdrawal(at, reason, by)


def reinstate(catalog: Catalog, index: SearchIndex, document_id: int, *, reason: str | None, by: str) -> str:
    """Put a withdrawn record back into search. Returns when. Raises WithdrawError."""
    reason = _reason(reason)
    row = _row(catalog, document_id)
    if row.withdrawn_at is None:
        raise WithdrawError(f"tài liệu mã {document_id} chưa bị rút khỏi kho; không có gì để khôi phục")
    at = _now()
    added = False
    try:
        with catalog.transaction() as db:
            Catalog.update_document(db, document_id, withdrawn_at=None, withdrawn_reason=None)
            Catalog.insert_events(db, document_id, [Event(REINSTATED, "ok", at, {
                "event_type": REINSTATED, "reason": reason, "by": by,
                "withdrawn_at": row.withdrawn_at, "withdrawn_reason": row.withdrawn_reason})])
            index.add(_indexed_document(catalog, row))
            added = True
    except BaseException:
        if added:
            _quietly(index.delete, document_id)
        raise
    return at


def _quietly(action, *args) -> None:
    try:
        action(*args)
    except Exception:  # the original error is the one to report
        log.exception("could not undo a partial index change")
