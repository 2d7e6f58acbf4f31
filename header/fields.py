"""What the header reader found: each field with its confidence and where it was read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.ocr_results import Box

# Fields every document has; a missing one is a finding for review.
REQUIRED = ("number", "issue_date", "doc_type", "summary", "issuing_body", "signer_name", "signer_title")
# Every field the reader can fill, in the order they are shown.
FIELD_NAMES = (
    "number", "serial", "symbol", "number_year", "issue_date", "place", "doc_type", "summary",
    "summary_prefix", "issuing_body", "parent_body", "signer_name", "signer_title", "signer_authority",
    "addressees", "recipients", "urgency", "confidentiality", "circulation",
)
LIST_FIELDS = frozenset({"addressees", "recipients"})
# Parts read with another field: reviewed (and flagged) with it.
PARTS = {"serial": "number", "symbol": "number", "number_year": "number", "summary_prefix": "summary",
         "signer_authority": "signer_title"}
FIELD_LABELS = {
    "number": "Số, ký hiệu", "serial": "Số", "symbol": "Ký hiệu", "number_year": "Năm (trong số)",
    "issue_date": "Ngày ban hành", "place": "Địa danh", "doc_type": "Loại văn bản", "summary": "Trích yếu",
    "summary_prefix": "Tiền tố trích yếu", "issuing_body": "Cơ quan ban hành", "parent_body": "Cơ quan chủ quản",
    "signer_name": "Người ký", "signer_title": "Chức vụ người ký", "signer_authority": "Thẩm quyền ký",
    "addressees": "Kính gửi", "recipients": "Nơi nhận", "urgency": "Độ khẩn", "confidentiality": "Độ mật",
    "circulation": "Phạm vi lưu hành",
}


@dataclass(frozen=True)
class HeaderField:
    value: str | tuple[str, ...] | None
    confidence: float  # 0-1: the OCR's confidence in the words, lowered by every repair or guess
    page: int | None  # 1-based page it was read from; None when not read from the page
    box: Box | None  # left, top, right, bottom in pixels of that page as displayed upright
    read: str = ""  # what OCR read, before normalisation (for review)
    source: str = "ocr"  # "ocr", "derived" (from other fields), "default", "manual",
    # "unread": the field's place was found (box) but not read surely; value None, to review

    def as_json(self) -> dict:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        detail = {"value": value, "confidence": round(self.confidence, 3), "source": self.source}
        if self.page is not None:
            detail["page"] = self.page
        if self.box is not None:
            detail["box"] = list(self.box)
        if self.read and self.read != value:
            detail["read"] = self.read
        return detail

    @classmethod
    def from_json(cls, detail: Mapping) -> HeaderField:
        value = detail["value"]
        return cls(
            value=tuple(value) if isinstance(value, list) else value,
            confidence=float(detail.get("confidence", 0.0)),
            page=detail.get("page"),
            box=tuple(detail["box"]) if detail.get("box") else None,
            read=detail.get("read", ""),
            source=detail.get("source", "ocr"),
        )


@dataclass(frozen=True)
class DocumentHeader:
    fields: Mapping[str, HeaderField]

    def value(self, name: str):
        found = self.fields.get(name)
        return None if found is None else found.value

    def values(self) -> dict:
        """Field -> plain value (lists for list fields), every field named, None when not read."""
        out = {}
        for name in FIELD_NAMES:
            value = self.value(name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    def needing_review(self, threshold: float, required: Iterable[str] = REQUIRED) -> list[str]:
        """Fields read with a confidence below threshold, fields found on the page but left
        empty because they could not be read surely, and required fields not found."""
        low = [name for name in FIELD_NAMES if name in self.fields and name not in PARTS and (
            self.fields[name].value is None
            or (self.fields[name].confidence < threshold and self.fields[name].source == "ocr"))]
        missing = [name for name in required if name not in self.fields]
        return [name for name in FIELD_NAMES if name in low or name in missing]

    def as_json(self) -> dict:
        return {name: self.fields[name].as_json() for name in FIELD_NAMES if name in self.fields}
