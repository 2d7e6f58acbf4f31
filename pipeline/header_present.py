"""How `sohoa show` and `sohoa review` put the header fields in front of a clerk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from header.fields import FIELD_LABELS
from core.record_defaults import CODE_LISTS
from header.record import RECORD_LABELS
from pipeline.header_store import ReviewItem


def _date(iso: str | None) -> str | None:
    try:
        return dt.date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else None
    except ValueError:
        return iso


def _confidence(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}".replace(".", ",")


def show_lines(metadata: Mapping, duplicates: list[int]) -> list[str]:
    """The header fields, the fields to review and the duplicates, one line each."""
    lines = []

    def add(label: str, value) -> None:
        if value:
            lines.append(f"  {label + ':':<12}{value}")

    add("Loại", metadata.get("doc_type"))
    date = _date(metadata.get("issue_date"))
    add("Ngày", f"{date} ({metadata['place']})" if date and metadata.get("place") else date)
    body = metadata.get("issuing_body")
    add("Cơ quan", f"{body} ({metadata['parent_body']})" if body and metadata.get("parent_body") else body)
    summary = metadata.get("summary")
    add("Trích yếu", f"{metadata['summary_prefix']} {summary}" if summary and metadata.get("summary_prefix")
        else summary)
    signer = " — ".join(v for v in (metadata.get("signer_title"), metadata.get("signer_name")) if v)
    add("Người ký", signer)
    marks = [metadata.get(k) for k in ("urgency", "confidentiality", "circulation") if metadata.get(k)]
    add("Dấu", ", ".join(marks))
    add("Kính gửi", "; ".join(metadata.get("addressees") or []))
    add("Nơi nhận", " ".join(metadata.get("recipients") or []))
    details = metadata.get("header") or {}
    review = metadata.get("review") or []
    if review:
        flagged = []
        for name in review:
            detail = details.get(name)
            found = "chưa đọc được" if detail is None or detail.get("value") is None else f"độ tin cậy {_confidence(detail.get('confidence'))}"
            flagged.append(f"{FIELD_LABELS.get(name, name)} ({found})")
        lines.append("  Cần kiểm tra: " + "; ".join(flagged))
    if duplicates:
        lines.append("  ⚠ Trùng số, ký hiệu, cơ quan ban hành và năm với tài liệu mã "
                     + ", ".join(map(str, duplicates)))
    return lines


def record_lines(record: Mapping, code_lists: Mapping = CODE_LISTS) -> list[str]:
    """The Thông tư 05 record, element by element, codes with their names (code_lists: the
    home's, core.lookup, where it has them)."""
    lines = ["  Siêu dữ liệu lưu trữ (Thông tư 05/2025):"]
    for key, label in RECORD_LABELS.items():
        value = record.get(key)
        if isinstance(value, list):
            value = ", ".join(value)
        if key in code_lists and value in code_lists[key]:
            value = f"{value} ({code_lists[key][value]})"
        lines.append(f"    {label + ':':<36}{value if value not in (None, '') else '—'}")
    return lines


def flagged_lines(flagged: list[tuple[int, str, list[str]]]) -> list[str]:
    """Records flagged as a whole (a blank scan, a thumbnail): what to look at, what to do."""
    if not flagged:
        return []
    lines = [f"{len(flagged)} tài liệu cần xem lại cả bản quét:"]
    for document_id, name, reasons in flagged:
        lines.append(f"[mã {document_id}] {name}: {'; '.join(reasons)}")
        lines.append(f"    xem: sohoa show {document_id}; nếu không phải tài liệu: sohoa withdraw {document_id} --reason \"…\"")
    return lines


def review_lines(items: list[ReviewItem], threshold: float) -> list[str]:
    if not items:
        return ["Không có trường nào cần kiểm tra."]
    documents = sorted({item.document_id for item in items})
    lines = [f"{len(documents)} tài liệu có trường cần kiểm tra (độ tin cậy dưới {_confidence(threshold)}"
             " hoặc chưa đọc được):"]
    for document_id in documents:
        mine = [item for item in items if item.document_id == document_id]
        lines.append(f"[mã {document_id}] {mine[0].original_name}")
        for item in mine:
            label = FIELD_LABELS.get(item.field, item.field)
            if item.value is None:
                where = f" (trang {item.page}, vùng {','.join(map(str, item.box))})" if item.page and item.box else ""
                lines.append(f"    {label}: chưa đọc được{where}")
                continue
            value = " | ".join(item.value) if isinstance(item.value, list) else item.value
            where = f", trang {item.page}" if item.page else ""
            lines.append(f"    {label}: «{value}» (độ tin cậy {_confidence(item.confidence)}{where})")
        lines.append(f"    sửa: sohoa set {document_id} {mine[0].field}=...")
    return lines
