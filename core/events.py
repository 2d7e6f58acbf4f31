"""The steps of the audit trail (the catalog's events table), each with its PREMIS event type.

A step's value is the very string the events table has always held, so catalogs written
before this enum read the same. `premis` is the eventType of the PREMIS controlled
vocabulary (id.loc.gov/vocabulary/preservation/eventType) an export names the event by.
"""

from __future__ import annotations

import enum


class Step(enum.StrEnum):
    premis: str

    def __new__(cls, value: str, premis: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.premis = premis
        return member

    @property
    def label(self) -> str:
        """The step's name for a person to read (`sohoa show`, reports): `_LABELS` below."""
        return _LABELS[self]

    # One document's intake, in the order ingest writes them.
    RECEIVED = "received", "ingestion start"  # copied into staging and hashed
    LOADED = "loaded", "format identification"  # its pages read, their text and resolution noted
    NORMALISED = "normalised", "normalization"  # what had to be changed for PDF/A (recorded)
    DAMAGED = "damaged", "validation"  # archived as far as it could be read
    OCR = "ocr", "metadata extraction"  # the text layer recognised (or kept)
    HEADER = "header", "metadata extraction"  # number, date, issuer ... read from the first page
    PDFA = "pdfa", "migration"  # written as PDF/A-2u and validated
    SIGNED = "signed", "digital signature generation"
    SIGNATURE_VERIFIED = "signature_verified", "digital signature validation"  # arrived signed
    DUPLICATE = "duplicate", "validation"  # the same document already archived (kept all the same)
    ARCHIVED = "archived", "ingestion end"
    INDEXED = "indexed", "metadata extraction"  # entered in the search index
    # Later, on a record.
    CORRECTED = "corrected", "metadata modification"
    WITHDRAWN = "deaccession", "deaccession"
    REINSTATED = "reinstatement", "accession"
    FIXITY_CHECK = "fixity check", "fixity check"  # `sohoa audit`, per document
    VERIFIED = "verified", "digital signature validation"  # `sohoa verify-archive`, per document
    TIMESTAMP_RENEWED = "timestamp_renewed", "digital signature generation"  # a new document timestamp
    # Runs over the whole archive (document_id NULL).
    AUDIT_RUN = "audit", "fixity check"
    VERIFY_RUN = "verify_run", "digital signature validation"


# What a person reads for each step (`sohoa show`, reports); the stable English value stays the
# code in the catalog, JSON and CSV. A table beside the enum, not in it: a dict in the class body
# would become a member.
_LABELS = {
    Step.RECEIVED: "nhận tệp",
    Step.LOADED: "đọc trang",
    Step.NORMALISED: "chuẩn hóa cho PDF/A",
    Step.DAMAGED: "tệp hỏng (lưu phần đọc được)",
    Step.OCR: "nhận dạng chữ (OCR)",
    Step.HEADER: "đọc phần đầu văn bản",
    Step.PDFA: "tạo bản PDF/A",
    Step.SIGNED: "ký số",
    Step.SIGNATURE_VERIFIED: "kiểm tra chữ ký có sẵn",
    Step.DUPLICATE: "trùng tài liệu đã có",
    Step.ARCHIVED: "lưu vào kho",
    Step.INDEXED: "vào chỉ mục tìm kiếm",
    Step.CORRECTED: "sửa trường",
    Step.WITHDRAWN: "rút khỏi kho",
    Step.REINSTATED: "đưa lại vào kho",
    Step.FIXITY_CHECK: "kiểm tra toàn vẹn (SHA-256)",
    Step.VERIFIED: "kiểm tra chữ ký số",
    Step.TIMESTAMP_RENEWED: "gia hạn dấu thời gian",
    Step.AUDIT_RUN: "lượt kiểm tra toàn vẹn",
    Step.VERIFY_RUN: "lượt kiểm tra chữ ký số",
}
assert set(_LABELS) == set(Step), "every step needs its Vietnamese label"

# The outcomes the events table holds (ok, skipped, warning, failed; pass/fail from `sohoa audit`).
OUTCOME_LABELS = {
    "ok": "xong",
    "skipped": "bỏ qua",
    "warning": "cảnh báo",
    "failed": "không đạt",  # mostly checks (a signature, a verification run)
    "error": "lỗi",
    "pass": "đạt",
    "fail": "không đạt",
}


def step_label(step: str) -> str:
    """The Vietnamese name of a step as the events table holds it; an unknown one (a newer
    version's) is shown as its code rather than hidden."""
    try:
        return _LABELS[Step(step)]
    except ValueError:
        return step


# Checks pass or fail: their "ok" reads "đạt" (passed), not "xong" (done).
_CHECKS = {Step.SIGNATURE_VERIFIED, Step.VERIFIED, Step.VERIFY_RUN, Step.FIXITY_CHECK, Step.AUDIT_RUN}


def outcome_label(outcome: str, step: str | None = None) -> str:
    if outcome == "ok" and step in _CHECKS:
        return OUTCOME_LABELS["pass"]
    return OUTCOME_LABELS.get(outcome, outcome)
