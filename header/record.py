"""The archived document's metadata record (Thông tư 05/2025/TT-BNV), complete for every
document: what the page says comes from the header reader, the rest from configurable
defaults ([metadata] in config.toml, a watch profile's metadata, or `sohoa set`).

Also what goes where: the flat metadata keys the catalog, index and CLI read, and the XMP
of the PDF/A (Dublin Core where a field fits, the rest in the `vanban` schema).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from core.record_defaults import RecordDefaults
from core.text import fold
from core.pdf.xmp import XmpCustomSchema, XmpProperty
from header.fields import FIELD_NAMES, DocumentHeader

# The record's elements in the order of Thông tư 05, with their Vietnamese names.
RECORD_LABELS: dict[str, str] = {
    "document_identifier": "Mã định danh tài liệu",
    "archival_code": "Mã lưu trữ",
    "retention": "Thời hạn bảo quản",
    "type_name": "Tên loại",
    "number": "Số",
    "symbol": "Ký hiệu",
    "date": "Ngày",
    "issuing_body": "Cơ quan ban hành",
    "summary": "Trích yếu",
    "language": "Ngôn ngữ",
    "page_count": "Số trang",
    "information_code": "Ký hiệu thông tin",
    "keywords": "Từ khóa",
    "access_mode": "Chế độ sử dụng",
    "reliability": "Mức độ tin cậy",
    "annotations": "Bút tích",
    "physical_state": "Tình trạng vật lý",
    "backup_mode": "Chế độ dự phòng",
    "backup_state": "Tình trạng dự phòng",
    "notes": "Ghi chú",
    "process_link": "Đường dẫn tài liệu quy trình xử lý",
}
# Elements that come from defaults (and may be set by `sohoa set`), not from the page.
DEFAULTED = ("retention", "access_mode", "reliability", "physical_state", "information_code", "keywords",
             "annotations", "backup_mode", "backup_state", "notes")


# -- flat metadata --------------------------------------------------------------------------


def header_metadata(header: DocumentHeader, threshold: float) -> dict:
    """What the header reader adds to a document's metadata: each field's value under its
    own key (number, issue_date, doc_type, summary, issuing_body ... as the index reads
    them), every field's detail under "header", and the fields to review."""
    values = {name: value for name, value in header.values().items() if value is not None}
    return {**values, "header": header.as_json(), "review": header.needing_review(threshold)}


def duplicate_key(metadata: Mapping) -> str | None:
    """(number, symbol, issuing body, year), folded: Nghị định 30 numbers restart each year,
    so the same four mean the same document. None until all four are known."""
    serial, symbol, body = metadata.get("serial"), metadata.get("symbol"), metadata.get("issuing_body")
    year = metadata.get("number_year") or str(metadata.get("issue_date") or "")[:4]
    if not (serial and symbol and body and year and str(serial).isdigit()):
        return None
    return "|".join((str(int(serial)), fold("".join(str(symbol).split())).upper(), " ".join(fold(body).split()),
                     str(year)))


# -- the Thông tư 05 record ------------------------------------------------------------------------


def _date_dmy(iso: str | None) -> str | None:
    if not iso:
        return None
    try:
        return dt.date.fromisoformat(iso).strftime("%d/%m/%Y")
    except ValueError:
        return None


def archival_record(metadata: Mapping, *, document_id: int, defaults: RecordDefaults, language: str,
                    process_link: str) -> dict:
    """Every element of the Thông tư 05 record, in its order. Values set on the record
    before (a profile's metadata, `sohoa set`) win over the defaults."""
    given = metadata.get("record") or {}

    def chosen(key: str, default):
        return given[key] if given.get(key) not in (None, "") else metadata.get(key, default) or default

    access_default = "03" if metadata.get("confidentiality") else defaults.access_mode
    return {
        "document_identifier": f"{defaults.agency_code or 'sohoa'}.{document_id:07d}",
        "archival_code": f"{defaults.dossier_code}.{document_id:07d}" if defaults.dossier_code else None,
        "retention": chosen("retention", defaults.retention),
        "type_name": metadata.get("doc_type"),
        "number": metadata.get("serial"),
        "symbol": metadata.get("symbol"),
        "date": _date_dmy(metadata.get("issue_date")),
        "issuing_body": metadata.get("issuing_body"),
        "summary": metadata.get("summary"),
        "language": metadata.get("language") or language,
        "page_count": metadata.get("page_count"),
        "information_code": chosen("information_code", ""),
        "keywords": chosen("keywords", []),
        "access_mode": chosen("access_mode", access_default),
        "reliability": chosen("reliability", defaults.reliability),
        "annotations": chosen("annotations", ""),
        "physical_state": chosen("physical_state", defaults.physical_state),
        "backup_mode": chosen("backup_mode", defaults.backup_mode),
        "backup_state": chosen("backup_state", defaults.backup_state),
        "notes": chosen("notes", ""),
        "process_link": process_link,
    }


# -- XMP ------------------------------------------------------------------------------------

XMP_NAMESPACE = "http://sohoa.invalid/ns/vanban/1.0/"
XMP_PREFIX = "vanban"
_XMP_NAMES = {  # header field -> (XMP property, description)
    "number": ("number", "Số, ký hiệu của văn bản (Nghị định 30/2020)"),
    "serial": ("serial", "Số của văn bản"),
    "symbol": ("symbol", "Ký hiệu của văn bản"),
    "issue_date": ("issueDate", "Ngày ban hành (ISO 8601)"),
    "place": ("place", "Địa danh nơi ban hành"),
    "doc_type": ("documentType", "Tên loại văn bản"),
    "summary": ("summary", "Trích yếu nội dung"),
    "summary_prefix": ("summaryPrefix", "Tiền tố của trích yếu (V/v, Về việc)"),
    "issuing_body": ("issuingBody", "Cơ quan ban hành"),
    "parent_body": ("parentBody", "Cơ quan chủ quản"),
    "signer_name": ("signerName", "Họ tên người ký"),
    "signer_title": ("signerTitle", "Quyền hạn, chức vụ người ký"),
    "addressees": ("addressees", "Kính gửi"),
    "recipients": ("recipients", "Nơi nhận"),
    "urgency": ("urgency", "Độ khẩn"),
    "confidentiality": ("confidentiality", "Độ mật"),
    "circulation": ("circulation", "Chỉ dẫn phạm vi lưu hành"),
}
_XMP_RECORD = {
    "retention": ("retention", "Thời hạn bảo quản (mã, Thông tư 05/2025)"),
    "access_mode": ("accessMode", "Chế độ sử dụng (mã, Thông tư 05/2025)"),
    "reliability": ("reliability", "Mức độ tin cậy (mã, Thông tư 05/2025)"),
    "physical_state": ("physicalState", "Tình trạng vật lý (mã, Thông tư 05/2025)"),
}


def xmp_schema(metadata: Mapping, defaults: RecordDefaults) -> XmpCustomSchema:
    """The header fields and the record's codes known at archiving time, for the PDF/A."""
    properties = []
    for field in FIELD_NAMES:
        if field in _XMP_NAMES:
            name, description = _XMP_NAMES[field]
            value = metadata.get(field)
            properties.append(XmpProperty(name, description, tuple(value) if isinstance(value, list) else value))
    record = archival_record(metadata, document_id=0, defaults=defaults, language="", process_link="")
    for key, (name, description) in _XMP_RECORD.items():
        properties.append(XmpProperty(name, description, record[key]))
    return XmpCustomSchema(XMP_NAMESPACE, XMP_PREFIX, "Văn bản hành chính: thành phần thể thức (Nghị định "
                           "30/2020) và siêu dữ liệu lưu trữ (Thông tư 05/2025)", tuple(properties))
