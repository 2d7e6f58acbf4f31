"""The document page (/tai-lieu/<id>/), its page images and its downloads.

Every one goes through permissions.document_or_404 (404 alike for a document that does not
exist and one the user is not cleared for) and is written to the access log before the
response leaves.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from web.access_log import Access, record_access
from web.permissions import Action, check, document_or_404, require, standing
from web.search import SearchParams
from web.views.document_edit import confidentiality_choices


def _archive_path(relative: str) -> Path:
    from core.archive import ArchiveStore
    from core.home import Home

    return ArchiveStore(Home(Path(settings.SOHOA_HOME)).archive_dir).path(relative)


def _day(iso: str | None) -> str:
    parts = (iso or "").split("-")
    return "/".join(reversed(parts)) if len(parts) == 3 else (iso or "")


# -- the signature verdict, from the audit trail ---------------------------------------------

def signature_verdict(events) -> tuple[str, str]:
    """(state, one sentence) on the document's signature from its audit trail, newest
    check first: state is "ok", "bad" or "none" (not signed). The same facts `sohoa show`
    and `sohoa verify` give, said for someone who has never heard of PAdES."""
    from core.events import Step

    said = ("none", "Tài liệu chưa được ký số.")
    for event in events:
        detail = event.detail if isinstance(event.detail, dict) else {}
        if event.step == Step.SIGNED:
            if event.outcome == "ok":
                test = "THỬ NGHIỆM" in (detail.get("signer") or "") or "THU-NGHIEM" in (detail.get("identity") or "")
                who = _signer_name(detail.get("signer"))
                said = ("ok", "Cơ quan đã ký số bản lưu trữ" + (f" ({who})" if who else "")
                        + (f" lúc {detail['signed_at']}" if detail.get("signed_at") else "")
                        + (f", mức {detail['level']}" if detail.get("level") else "") + "."
                        + (" Đây là chữ ký thử nghiệm, không có giá trị pháp lý." if test else ""))
            elif event.outcome == "skipped":
                said = ("none", "Không ký số bản lưu trữ"
                        + (f": {detail['reason']}." if detail.get("reason") else "."))
        elif event.step == Step.SIGNATURE_VERIFIED:
            message = (detail.get("input_signature") or {}).get("message")
            if event.outcome == "ok":
                said = ("ok", "Tệp nhận vào đã có chữ ký số; " + (message or "chữ ký hợp lệ") + ".")
            else:
                said = ("bad", "Tệp nhận vào có chữ ký số nhưng " + (message or "chữ ký không hợp lệ") + ".")
        elif event.step == Step.VERIFIED:
            problems = "; ".join(detail.get("problems") or [])
            if event.outcome == "ok":
                if said[0] != "none":
                    said = ("ok", said[1] + f" Kiểm tra lại lúc {event.at}: chữ ký còn nguyên vẹn, hợp lệ.")
            else:
                said = ("bad", f"Kiểm tra lúc {event.at}: KHÔNG ĐẠT" + (f" — {problems}" if problems else "")
                        + ". Hãy báo lưu trữ viên.")
    return said


def _signer_name(signer: str | None) -> str:
    """The Common Name out of a certificate's subject line ("Common Name: X; ...")."""
    for part in (signer or "").split(";"):
        name, _, value = part.partition(":")
        if name.strip() == "Common Name":
            return value.strip()
    return (signer or "").strip()


class _Event:
    def __init__(self, row):
        from core.events import Step, outcome_label, step_label

        self.step, self.outcome, self.at = row.step, row.outcome, row.at
        # 2026-01-15T09:30:00+07:00 -> 15/01/2026 09:30:00, as the office writes it
        self.when = f"{_day(row.at[:10])} {row.at[11:19]}" if len(row.at) >= 19 else row.at
        try:
            self.detail = json.loads(row.detail) if row.detail else {}
        except ValueError:
            self.detail = {}
        self.step_label = step_label(row.step)
        self.outcome_label = outcome_label(row.outcome, row.step)
        detail = self.detail if isinstance(self.detail, dict) else {}
        # why a step was skipped, or which field a correction changed and who changed it
        self.note = detail.get("reason") or ""
        if row.step == Step.CORRECTED and detail.get("field"):
            from pipeline.corrections import label

            self.note = f"{label(detail['field'])}, {detail.get('by') or '?'}" + (
                f" — lý do: {detail['reason']}" if detail.get("reason") else "")


# -- the page --------------------------------------------------------------------------------

# The header fields shown at the top, in order (header.fields names).
HEADER_ORDER = ("number", "issue_date", "doc_type", "summary", "issuing_body", "parent_body", "place",
                "signer_title", "signer_name", "urgency", "confidentiality", "addressees", "recipients")


def _header_fields(document) -> list[dict]:
    from core.models import DocumentField
    from header.fields import FIELD_LABELS

    rows = {row.name: row for row in DocumentField.objects.filter(document_id=document.pk)}
    fields = []
    for name in HEADER_ORDER:
        row = rows.get(name)
        if row is None or row.value in (None, ""):
            continue
        value = row.value
        try:  # lists (addressees, recipients) are stored as JSON
            parsed = json.loads(value) if value.startswith("[") else None
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            value = "; ".join(str(item).strip().rstrip(";").strip() for item in parsed)
        if name == "issue_date":
            value = _day(value)
        confidence = None if row.confidence is None else round(row.confidence * 100)
        fields.append({"name": name, "label": FIELD_LABELS.get(name, name), "value": value,
                       "confidence": confidence, "needs_review": row.needs_review, "source": row.source})
    return fields


@require_GET
@require(Action.SEARCH)
def document_page(request, document_id: int):
    from core.confidentiality import Level
    from core.models import Event
    from core.record_metadata import RecordMetadata

    document = document_or_404(request.user, document_id)
    metadata = RecordMetadata.from_json(document.metadata_json)
    events = [_Event(row) for row in Event.objects.filter(document_id=document.pk).order_by("id")]
    state, verdict = signature_verdict(events)
    search = SearchParams.from_mapping(request.GET)
    query = search.q
    suffix = f"?q={quote(query)}" if query else ""
    record_access(request, document, Access.VIEW)
    return render(request, "web/document.html", {
        "document": document,
        "title": metadata.display_title or document.original_name,
        "number": metadata.number or "",
        "date": _day(metadata.issue_date),
        "doc_type": metadata.doc_type or "",
        "issuing_body": metadata.issuing_body or "",
        "level": Level(document.confidentiality).label if 0 <= document.confidentiality <= 3 else "",
        "fields": _header_fields(document),
        "signature_state": state,
        "signature_verdict": verdict,
        "events": events,
        "query": query,
        "back_url": search.url(page=search.page),
        "pages": [{"number": n, "url": f"/tai-lieu/{document.pk}/trang/{n}.png{suffix}"}
                  for n in range(1, document.page_count + 1)],
        "may_download_original": standing(request.user).may(Action.DOWNLOAD_ORIGINAL),
        "choices": confidentiality_choices(request.user, document),  # None: no form for this user
    })


@require_GET
@require(Action.SEARCH)
def page_image(request, document_id: int, page: int):
    from web.page_images import PageImageError, render_page

    document = document_or_404(request.user, document_id)
    if not 1 <= page <= document.page_count:
        raise Http404(f"Tài liệu mã {document.pk} không có trang {page}")
    query = request.GET.get("q", "").strip()[:500]
    try:
        png = render_page(_archive_path(document.pdfa_file), page, query)
    except PageImageError as error:
        return HttpResponse(f"Không hiển thị được {error}; hãy báo lưu trữ viên.", status=500,
                            content_type="text/plain; charset=utf-8")
    record_access(request, document, Access.PAGE, page=page)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, no-store"  # a secret page is never left in a shared cache
    return response


def pdfa_filename(document) -> str:
    """The PDF/A's name as downloaded: its number (268-SGTVT-VP.pdf) when known, else the
    original's name with .pdf; Vietnamese kept (Content-Disposition's filename*)."""
    from core.record_metadata import RecordMetadata

    number = RecordMetadata.from_json(document.metadata_json).number
    stem = number or Path(document.original_name).stem or f"tai-lieu-{document.pk}"
    return "".join("-" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in stem).strip() + ".pdf"


def _file(path: Path, name: str, content_type: str) -> FileResponse:
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise Http404("Tệp của tài liệu không còn trong kho; hãy báo lưu trữ viên (sohoa audit)") from None
    response = FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@require(Action.SEARCH)
def download_pdfa(request, document_id: int):
    document = document_or_404(request.user, document_id)
    path = _archive_path(document.pdfa_file)
    response = _file(path, pdfa_filename(document), "application/pdf")
    record_access(request, document, Access.DOWNLOAD_PDFA)
    return response


@require_GET
@require(Action.SEARCH)
def download_original(request, document_id: int):
    import mimetypes

    document = document_or_404(request.user, document_id)
    check(request.user, Action.DOWNLOAD_ORIGINAL)
    path = _archive_path(document.original_file)
    name = document.original_name or Path(document.original_file).name
    response = _file(path, name, mimetypes.guess_type(name)[0] or "application/octet-stream")
    record_access(request, document, Access.DOWNLOAD_ORIGINAL)
    return response
