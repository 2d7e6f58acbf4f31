"""What `sohoa verify` tells people: one line per document, and a report they can file.

The line and the report name the document as an office does (số ký hiệu, ngày, trích yếu
from the record's metadata), say a signature by the test identity is a test signature,
and say each warning once. The CSV is UTF-8 with a BOM and commas: that is what Excel
needs to open Vietnamese text as columns.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path

from core.durable import write_bytes_durably
from core.record_metadata import RecordMetadata
from pipeline.archive_checks import RecordVerdict, RunSummary
from signing.verify import TEST_SIGNATURE_LABEL

REVOCATION_VN = {
    "good": "không bị thu hồi (đã kiểm tra)",
    "revoked": "đã bị thu hồi",
    "not-checked": "chưa kiểm tra",
    "no-service": "chứng thư không khai báo dịch vụ thu hồi — không kiểm tra được",
    "unknown": "không xác định",
}
STATUS_VN = {"ok": "Đạt", "unsigned": "Đạt (chưa ký số)", "failed": "Không đạt"}
COLUMNS = ("Mã tài liệu", "Tên tệp", "Số ký hiệu", "Ngày ban hành", "Trích yếu", "Kết quả", "Mức chữ ký",
           "Người ký", "Loại chữ ký", "Thời điểm ký", "Thu hồi", "Vấn đề", "Cảnh báo")


def document_fields(metadata: Mapping) -> dict:
    """The document's number, date and summary as `sohoa show --json` has them."""
    record = RecordMetadata.from_mapping(metadata)
    return {"number": record.number or "", "issue_date": record.issue_date or "", "summary": record.summary or ""}


def vn_date(iso: str) -> str:
    """2018-03-02 → 02/03/2018, as dates are written in Vietnamese offices."""
    parts = iso.split("-")
    return "/".join(reversed(parts)) if len(parts) == 3 else iso


def _signatures(result: RecordVerdict):
    verification = result.verification
    return [s for s in verification.signatures if s.kind == "signature"] if verification else []


def _warnings(result: RecordVerdict) -> list[str]:
    """Each warning once; the test label is said with the signature, not again."""
    return [w for w in dict.fromkeys(result.warnings) if w != TEST_SIGNATURE_LABEL]


def _signature_words(check) -> str:
    kind = TEST_SIGNATURE_LABEL if check.test_identity else "chữ ký số"
    return f"{kind} của «{check.signer}»" + (f" lúc {check.time}" if check.time else "")


def verdict_line(result: RecordVerdict, metadata: dict) -> str:
    """The one line for a document: verdict, who signed, then every problem and warning once."""
    fields = document_fields(metadata)
    named = ", ".join(p for p in (f"số {fields['number']}" if fields["number"] else "",
                                  f"ngày {vn_date(fields['issue_date'])}" if fields["issue_date"] else "") if p)
    head = f"[mã {result.id}] {result.name}" + (f" ({named})" if named else "")
    if not result.ok:
        said = "; ".join(dict.fromkeys(result.problems))
        mark = "✗"
    else:
        verification = result.verification
        level = f"PAdES {verification.level}, " if verification and verification.level else ""
        said = level + (", ".join(_signature_words(s) for s in _signatures(result)) or "chưa ký số")
        mark = "✓"
    warnings = _warnings(result)
    return f"{mark} {head}: {said}" + (f" — lưu ý: {'; '.join(warnings)}" if warnings else "")


def as_dict(result: RecordVerdict, metadata: dict) -> dict:
    """The machine-readable verdict (English keys, as elsewhere in --json) with the
    document's fields and the Vietnamese line."""
    return {**result.as_dict(), **document_fields(metadata), "message": verdict_line(result, metadata)}


def csv_row(result: RecordVerdict, metadata: dict) -> list[str]:
    fields = document_fields(metadata)
    signatures = _signatures(result)
    return [
        str(result.id), result.name, fields["number"], vn_date(fields["issue_date"]), fields["summary"],
        STATUS_VN[result.status], (result.verification.level or "") if result.verification else "",
        " | ".join(s.signer for s in signatures),
        " | ".join(dict.fromkeys(TEST_SIGNATURE_LABEL if s.test_identity else "chữ ký số" for s in signatures)),
        " | ".join(s.time or "" for s in signatures),
        " | ".join(dict.fromkeys(REVOCATION_VN.get(s.revocation, s.revocation) for s in signatures)),
        " | ".join(dict.fromkeys(result.problems)), " | ".join(_warnings(result)),
    ]


def csv_text(results: list[RecordVerdict], metadata: dict[int, dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # Excel's own line ends; QUOTE_MINIMAL quotes , and "
    writer.writerow(COLUMNS)
    for result in results:
        writer.writerow(csv_row(result, metadata.get(result.id, {})))
    return buffer.getvalue()


def write_report(folder: Path, results: list[RecordVerdict], metadata: dict[int, dict],
                 summary: RunSummary) -> list[Path]:
    """bao-cao-kiem-tra-<time>.json and .csv in folder: what an archivist files or opens in Excel."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = "bao-cao-kiem-tra-" + summary.finished_at.replace(":", "").replace("+", "_")
    json_path, csv_path = folder / f"{stem}.json", folder / f"{stem}.csv"
    document = {"summary": summary.as_dict(),
                "documents": [as_dict(r, metadata.get(r.id, {})) for r in results]}
    write_bytes_durably(json_path, json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8"))
    write_bytes_durably(csv_path, csv_text(results, metadata).encode("utf-8-sig"))  # BOM: Excel reads UTF-8
    return [json_path, csv_path]
