"""Verification of archived records, and timestamp renewal, over the catalog and the store.

`verify_record` checks one archived document: the SHA-256 of its file against the catalog,
then its signatures (signing.verify). A record the pipeline signed, or that arrived signed,
must still carry a valid signature: one stripped away is a failure, not "unsigned".
Each run is written to the audit trail: one event per document and one for the run.
`renew_record` adds a fresh document timestamp to a B-LTA record whose newest timestamp
expires soon, updating the file, its sidecar, the catalog and the search index together.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from core.clock import in_vietnam, now_text
from core.events import Step
from core.record_metadata import RecordMetadata, SignatureLevel
from index import SearchIndex, index_entry
from core.catalog import Catalog, DocumentRow, Event
from core.durable import fsync_dir, sha256_file, write_bytes_durably
from signing.renewal import add_archival_timestamp
from signing.verify import PdfVerification, VerifyPolicy, newest_timestamp_expiry, verify_pdf

CSV_COLUMNS = ("id", "name", "status", "sha256_ok", "level", "signers", "signed_at", "problems", "warnings")


def now() -> str:
    return now_text()


@dataclass(frozen=True)
class RecordVerdict:
    id: int
    name: str
    path: str
    sha256_expected: str
    sha256_actual: str | None
    expected_signed: bool
    verification: PdfVerification | None
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def status(self) -> str:
        if not self.ok:
            return "failed"
        return "ok" if self.verification is not None and self.verification.signed else "unsigned"

    def as_dict(self) -> dict:
        verification = self.verification
        return {
            "id": self.id,
            "name": self.name,
            "file": self.path,
            "status": self.status,
            "sha256_ok": self.sha256_actual == self.sha256_expected,
            "sha256_expected": self.sha256_expected,
            "sha256_actual": self.sha256_actual,
            "level": verification.level if verification else None,
            "signatures": [s.as_dict() for s in verification.signatures] if verification else [],
            "problems": list(self.problems),
            "warnings": list(self.warnings),
        }

    def csv_row(self) -> dict:
        data = self.as_dict()
        signatures = [s for s in data["signatures"] if s["kind"] == "signature"]
        return {
            "id": self.id, "name": self.name, "status": self.status, "sha256_ok": data["sha256_ok"],
            "level": data["level"] or "", "signers": " | ".join(s["signer"] for s in signatures),
            "signed_at": " | ".join(s["time"] or "" for s in signatures),
            "problems": " | ".join(self.problems), "warnings": " | ".join(self.warnings),
        }


def expects_signature(catalog: Catalog, document_id: int) -> bool:
    """The audit trail says the record was signed here or arrived signed."""
    return any(
        (e.step == Step.SIGNED and e.outcome == "ok") or e.step == Step.SIGNATURE_VERIFIED
        for e in catalog.events(document_id)
    )


def verify_record(row: DocumentRow, file: Path, policy: VerifyPolicy, expected_signed: bool) -> RecordVerdict:
    problems, warnings = [], []
    try:
        data = file.read_bytes()
    except OSError as error:
        return RecordVerdict(
            id=row.id, name=row.original_name, path=str(file), sha256_expected=row.pdfa_sha256,
            sha256_actual=None, expected_signed=expected_signed, verification=None,
            problems=(f"không đọc được tệp lưu trữ ({error.strerror or error})",),
        )
    actual = hashlib.sha256(data).hexdigest()
    if actual != row.pdfa_sha256:
        problems.append("mã SHA-256 của tệp khác với danh mục: tệp đã bị thay đổi")
    verification = verify_pdf(data, policy)
    problems += verification.problems
    for check in verification.signatures:
        label = "chữ ký" if check.kind == "signature" else "dấu thời gian tài liệu"
        problems += [f"{label} «{check.signer}»: {p}" for p in check.problems]
        warnings += [w for w in check.warnings if w not in warnings]
    if expected_signed and not verification.signed:
        problems.append("tài liệu đã được ký khi lưu trữ nhưng nay không còn chữ ký")
    return RecordVerdict(
        id=row.id, name=row.original_name, path=str(file), sha256_expected=row.pdfa_sha256,
        sha256_actual=actual, expected_signed=expected_signed, verification=verification,
        problems=tuple(problems), warnings=tuple(warnings),
    )


@dataclass(frozen=True)
class RunSummary:
    started_at: str
    finished_at: str
    checked: int
    passed: int
    failed: int
    unsigned: int
    online: bool
    trust_roots: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        return {
            "started_at": self.started_at, "finished_at": self.finished_at, "checked": self.checked,
            "passed": self.passed, "failed": self.failed, "unsigned": self.unsigned, "online": self.online,
            "trust_roots": list(self.trust_roots),
        }


def summarise(results: list[RecordVerdict], started_at: str, online: bool, roots: tuple[str, ...]) -> RunSummary:
    return RunSummary(
        started_at=started_at, finished_at=now(), checked=len(results),
        passed=sum(r.ok for r in results), failed=sum(not r.ok for r in results),
        unsigned=sum(r.status == "unsigned" for r in results), online=online, trust_roots=roots,
    )


def record_run(catalog: Catalog, results: list[RecordVerdict], summary: RunSummary) -> None:
    """The run in the audit trail, in one transaction: an event per document (with its
    reasons) and one for the run (no document)."""
    at = now()
    with catalog.transaction() as db:
        for result in results:
            detail = {"sha256_ok": result.sha256_actual == result.sha256_expected, "problems": list(result.problems),
                      "warnings": list(result.warnings), "online": summary.online,
                      "level": result.verification.level if result.verification else None}
            Catalog.insert_events(db, result.id, [Event(Step.VERIFIED, "ok" if result.ok else "failed", at, detail)])
        Catalog.insert_events(db, None, [Event(Step.VERIFY_RUN, "ok" if not summary.failed else "failed", at,
                                               {**summary.as_dict(), "ids": [r.id for r in results]})])


def write_report(folder: Path, results: list[RecordVerdict], summary: RunSummary) -> list[Path]:
    """report-<time>.json and .csv in folder: what an archivist files or opens in a spreadsheet."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = "bao-cao-kiem-tra-" + summary.finished_at.replace(":", "").replace("+", "_")
    json_path, csv_path = folder / f"{stem}.json", folder / f"{stem}.csv"
    document = {"summary": summary.as_dict(), "documents": [r.as_dict() for r in results]}
    write_bytes_durably(json_path, json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8"))
    write_bytes_durably(csv_path, csv_text(results).encode("utf-8-sig"))  # BOM: Excel reads UTF-8
    return [json_path, csv_path]


def csv_text(results: list[RecordVerdict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for result in results:
        writer.writerow(result.csv_row())
    return buffer.getvalue()


# -- timestamp renewal --------------------------------------------------------------------


def renewal_candidates(catalog: Catalog) -> list[int]:
    """Records the pipeline signed at B-LTA (received originals are never rewritten: their
    verdict is a `signature_verified` event, never `signed`).

    The level is the record's typed `signature_level` (core.record_metadata), which ingest
    writes; a record archived before that field has its level only in its `signed` event,
    parsed as the same SignatureLevel. The typed field wins where both are known."""
    rows = catalog.read("SELECT document_id, detail FROM events WHERE step = ? AND outcome = 'ok'"
                        " AND document_id IS NOT NULL ORDER BY document_id", (Step.SIGNED,))
    signed = {int(r["document_id"]): _event_level(r["detail"]) for r in rows}
    documents = catalog.get_many(sorted(signed))
    return [document_id for document_id, row in documents.items()
            if (RecordMetadata.from_mapping(row.metadata).level or signed[document_id]) is SignatureLevel.B_LTA]


def _event_level(detail: str | None) -> SignatureLevel | None:
    try:
        found = json.loads(detail) if detail else None
    except ValueError:
        return None
    return SignatureLevel.parse(found.get("level")) if isinstance(found, dict) else None


@dataclass(frozen=True)
class RenewalOutcome:
    id: int
    status: str  # "renewed", "not-due", "failed"
    expires: str | None  # the newest timestamp's TSA certificate expiry before renewal
    reason: str = ""


def renew_record(catalog: Catalog, row: DocumentRow, file: Path, sidecar: Path, *, within_days: int,
                 timestamp_url: str, trust_roots: list, force: bool = False,
                 index: SearchIndex | None = None) -> RenewalOutcome:
    data = file.read_bytes()
    if hashlib.sha256(data).hexdigest() != row.pdfa_sha256:
        return RenewalOutcome(row.id, "failed", None, "mã SHA-256 khác danh mục: không gia hạn trên tệp đã đổi")
    newest = newest_timestamp_expiry(data)
    if newest is None:
        return RenewalOutcome(row.id, "failed", None, "tệp không có dấu thời gian nào")
    kind, expires = newest
    expires_text = in_vietnam(expires)
    due = expires - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(days=within_days)
    if not (due or force):
        return RenewalOutcome(row.id, "not-due", expires_text)
    renewed = add_archival_timestamp(data, timestamp_url, trust_roots)
    _replace_record_file(catalog, row, file, sidecar, renewed, data, {
        "previous_timestamp": kind, "previous_expiry": expires_text, "timestamp_url": timestamp_url,
        "previous_sha256": row.pdfa_sha256,
    }, index)
    return RenewalOutcome(row.id, "renewed", expires_text)


def _replace_record_file(catalog: Catalog, row: DocumentRow, file: Path, sidecar: Path, renewed: bytes,
                         old: bytes, detail: dict, index: SearchIndex | None = None) -> None:
    """New file, new sidecar, new checksums and the event: committed together, the old
    file put back if anything fails before the commit."""
    new_sha = hashlib.sha256(renewed).hexdigest()
    event = Event(Step.TIMESTAMP_RENEWED, "ok", now(), {**detail, "sha256": new_sha})
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    meta.setdefault("pdfa", {}).update({"sha256": new_sha, "size": len(renewed)})
    meta.setdefault("events", []).append({"step": event.step, "outcome": event.outcome, "at": event.at,
                                          "detail": event.detail})
    sidecar_bytes = json.dumps(meta, ensure_ascii=False, indent=2).encode("utf-8")
    old_sidecar = sidecar.read_bytes()
    tmp = file.with_name(f".{file.name}.renewing")
    with open(tmp, "wb") as handle:
        handle.write(renewed)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        with catalog.transaction() as db:
            Catalog.update_document(db, row.id, pdfa_sha256=new_sha, pdfa_size=len(renewed),
                                    sidecar_sha256=hashlib.sha256(sidecar_bytes).hexdigest(),
                                    sidecar_size=len(sidecar_bytes))
            Catalog.insert_events(db, row.id, [event])
            # A withdrawn record (pipeline/withdraw.py) stays out of the index.
            if index is not None and getattr(row, "withdrawn_at", None) is None:
                # The entry rebuilt from the catalog as it now stands, like every catalog
                # change. Nothing to put back on failure: a renewal changes no indexed field.
                trail = [(e.step, e.outcome) for e in catalog.events(row.id)]
                index.add(index_entry(row.id, row.metadata, [p.text for p in catalog.pages(row.id)], trail))
            os.replace(tmp, file)
            fsync_dir(file.parent)
            write_bytes_durably(sidecar, sidecar_bytes)
    except BaseException:
        if sha256_file(file) != row.pdfa_sha256:
            write_bytes_durably(file, old)
        write_bytes_durably(sidecar, old_sidecar)
        tmp.unlink(missing_ok=True)
        raise


def record_renewal_failure(catalog: Catalog, document_id: int, reason: str) -> None:
    with catalog.transaction() as db:
        Catalog.insert_events(db, document_id, [Event(Step.TIMESTAMP_RENEWED, "failed", now(), {"reason": reason})])
