"""What the API answers, as JSON: built here from the catalog and the search page, and
declared as serializers so the OpenAPI schema (/api/schema/) describes every field.

Nothing here decides who may see what: the views have asked web.permissions first; this
module only shapes what they were allowed to fetch."""

from __future__ import annotations

import datetime as dt
import json

from rest_framework import serializers

from core.confidentiality import Level


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Lý do, bằng tiếng Việt")


class LevelSerializer(serializers.Serializer):
    level = serializers.IntegerField(help_text="0 thường, 1 mật, 2 tối mật, 3 tuyệt mật")
    label = serializers.CharField()


class SearchResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField(help_text="trích yếu (hoặc tên tệp khi chưa đọc được)")
    number = serializers.CharField(allow_blank=True, help_text="số, ký hiệu")
    date = serializers.DateField(allow_null=True, help_text="ngày ban hành")
    type = serializers.CharField(allow_blank=True)
    issuing_body = serializers.CharField(allow_blank=True)
    snippet_html = serializers.CharField(
        allow_blank=True, help_text="đoạn văn quanh từ tìm được: HTML đã thoát ký tự, từ khớp trong <mark>")
    snippet_page = serializers.IntegerField(allow_null=True)
    page_count = serializers.IntegerField()
    url = serializers.CharField(help_text="địa chỉ API của tài liệu")


class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    selected = serializers.BooleanField()


class SearchResponseSerializer(serializers.Serializer):
    query = serializers.DictField(child=serializers.CharField(), help_text="các tham số đã dùng")
    total = serializers.IntegerField(help_text="số tài liệu tìm thấy mà người gọi được xem")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    per_page = serializers.IntegerField()
    results = SearchResultSerializer(many=True)
    facets = serializers.DictField(child=FacetValueSerializer(many=True),
                                   help_text="type, agency, year, profile, signature: giá trị và số tài liệu")
    problems = serializers.ListField(child=serializers.CharField(), help_text="điều kiện bị bỏ qua và lý do")


class FieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True, help_text="độ tin cậy 0..1")
    page = serializers.IntegerField(allow_null=True)
    source = serializers.CharField()
    needs_review = serializers.BooleanField()


class SignatureSerializer(serializers.Serializer):
    status = serializers.CharField(allow_null=True, help_text="signed, unsigned, invalid hoặc null")
    label = serializers.CharField()


class EventSerializer(serializers.Serializer):
    step = serializers.CharField()
    step_label = serializers.CharField()
    outcome = serializers.CharField()
    outcome_label = serializers.CharField()
    at = serializers.CharField(help_text="ISO 8601, giờ Việt Nam")
    detail = serializers.JSONField(allow_null=True)


class LinksSerializer(serializers.Serializer):
    page_image = serializers.CharField(help_text="mẫu địa chỉ ảnh trang, {n} từ 1")
    pdfa = serializers.CharField()
    original = serializers.CharField(allow_null=True, help_text="null khi vai trò không được tải bản gốc")


class DocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    confidentiality = LevelSerializer()
    title = serializers.CharField(allow_null=True)
    number = serializers.CharField(allow_null=True)
    issue_date = serializers.CharField(allow_null=True)
    type = serializers.CharField(allow_null=True)
    issuing_body = serializers.CharField(allow_null=True)
    signer = serializers.CharField(allow_null=True)
    received_at = serializers.CharField()
    original_name = serializers.CharField()
    original_format = serializers.CharField()
    original_size = serializers.IntegerField()
    original_sha256 = serializers.CharField()
    pdfa_size = serializers.IntegerField()
    pdfa_sha256 = serializers.CharField()
    page_count = serializers.IntegerField()
    signature = SignatureSerializer()
    fields = FieldSerializer(many=True)
    audit_trail = EventSerializer(many=True)
    links = LinksSerializer()


# -- shaping -------------------------------------------------------------------------------


def iso_date(shown: str) -> str | None:
    """web.search shows dates as dd/mm/yyyy; the API gives ISO 8601."""
    try:
        return dt.datetime.strptime(shown, "%d/%m/%Y").date().isoformat() if shown else None
    except ValueError:
        return None


def search_payload(found) -> dict:
    """A web.search.SearchPage as the API answers it."""
    from web.search import PER_PAGE

    return {
        "query": {name: str(value) for name, value in vars(found.params).items() if value not in ("", None)},
        "total": found.total,
        "page": found.page,
        "pages": found.pages,
        "per_page": PER_PAGE,
        "results": [{
            "id": result.doc_id, "title": result.title, "number": result.number, "date": iso_date(result.date),
            "type": result.doc_type, "issuing_body": result.issuing_body, "snippet_html": str(result.snippet or ""),
            "snippet_page": result.snippet_page, "page_count": result.page_count,
            "url": f"/api/documents/{result.doc_id}",
        } for result in found.results],
        "facets": {facet.name: [{"value": v.value, "label": v.label, "count": v.count, "selected": v.selected}
                                for v in facet.values] for facet in found.facets},
        "problems": list(found.problems),
    }


def _detail(text: str | None):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def document_payload(document, *, may_download_original: bool) -> dict:
    from core.events import outcome_label, step_label
    from core.models import DocumentField, Event
    from core.record_metadata import RecordMetadata
    from index import signature_status_of
    from web.search import SIGNATURE_STATUSES

    try:
        record = RecordMetadata.from_mapping(json.loads(document.metadata_json or "{}"))
    except (ValueError, TypeError):
        record = RecordMetadata()
    events = list(Event.objects.filter(document_id=document.pk).order_by("id"))
    status = signature_status_of((event.step, event.outcome) for event in events)
    level = Level(document.confidentiality)
    base = f"/api/documents/{document.pk}"
    return {
        "id": document.pk,
        "confidentiality": {"level": int(level), "label": level.label},
        "title": record.display_title,
        "number": record.number,
        "issue_date": record.issue_date,
        "type": record.doc_type,
        "issuing_body": record.issuing_body,
        "signer": record.signer_name,
        "received_at": document.received_at,
        "original_name": document.original_name,
        "original_format": document.original_format,
        "original_size": document.original_size,
        "original_sha256": document.original_sha256,
        "pdfa_size": document.pdfa_size,
        "pdfa_sha256": document.pdfa_sha256,
        "page_count": document.page_count,
        "signature": {"status": status, "label": SIGNATURE_STATUSES.get(status, "nhật ký không ghi việc ký số")},
        "fields": [{"name": f.name, "value": f.value, "confidence": f.confidence, "page": f.page,
                    "source": f.source, "needs_review": f.needs_review}
                   for f in DocumentField.objects.filter(document_id=document.pk).order_by("name")],
        "audit_trail": [{"step": e.step, "step_label": step_label(e.step), "outcome": e.outcome,
                         "outcome_label": outcome_label(e.outcome, e.step), "at": e.at, "detail": _detail(e.detail)}
                        for e in events],
        "links": {"page_image": base + "/pages/{n}.png", "pdfa": base + "/pdfa",
                  "original": base + "/original" if may_download_original else None},
    }
