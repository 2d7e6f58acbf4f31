"""The access log page (/nhat-ky-truy-cap/) and its CSV export, for lưu trữ viên and
quản trị (Action.SEE_ACCESS_LOG): who saw or downloaded which document, when, from where,
through the web or the API (web/access_log.py writes every row).

A reader of the log may not be cleared for every document in it: such a document is named
by its id only, never by its trích yếu or số (the title of a secret document is itself
secret), on the page and in the CSV alike."""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from core.clock import VIETNAM
from web.access_log import Access
from web.permissions import Action, require, standing

PER_PAGE = 50
CHANNELS = {"web": "trang web", "api": "API"}


@dataclass(frozen=True)
class LogFilter:
    username: str = ""
    document_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    channel: str = ""


def read_filter(query) -> tuple[LogFilter, list[str], dict]:
    """The filter the query string asks for, the Vietnamese problems with it, and the
    values to put back in the form as typed."""
    from index.dates import DateInputError, parse_day

    typed = {name: query.get(name, "").strip() for name in ("nguoi_dung", "tai_lieu", "tu_ngay", "den_ngay", "kenh")}
    problems: list[str] = []
    document_id = None
    if typed["tai_lieu"]:
        if typed["tai_lieu"].isdigit():
            document_id = int(typed["tai_lieu"])
        else:
            problems.append(f"Mã tài liệu «{typed['tai_lieu']}» phải là một số (như 12)")
    days = {}
    for name, end in (("tu_ngay", False), ("den_ngay", True)):
        if typed[name]:
            try:
                days[name] = parse_day(typed[name], end=end)
            except DateInputError as error:
                problems.append(str(error)[0].upper() + str(error)[1:])
    if "tu_ngay" in days and "den_ngay" in days and days["tu_ngay"] > days["den_ngay"]:
        problems.append("Khoảng ngày ngược: «từ ngày» sau «đến ngày»; hãy đổi chỗ hai ngày")
    if typed["kenh"] and typed["kenh"] not in CHANNELS:
        problems.append(f"Kênh «{typed['kenh']}» không có; chọn trang web hoặc API")
    found = LogFilter(username=typed["nguoi_dung"], document_id=document_id, date_from=days.get("tu_ngay"),
                      date_to=days.get("den_ngay"), channel=typed["kenh"] if typed["kenh"] in CHANNELS else "")
    return found, problems, typed


def filtered_entries(log_filter: LogFilter):
    from core.models import AccessLogEntry

    entries = AccessLogEntry.objects.order_by("-id")
    if log_filter.username:
        entries = entries.filter(username__iexact=log_filter.username)
    if log_filter.document_id is not None:
        entries = entries.filter(document_id=log_filter.document_id)
    # Every row's time is written in Vietnam's time ("...+07:00"): a day's rows are the
    # ones whose text falls between that day and the next, compared as text (indexed).
    if log_filter.date_from:
        entries = entries.filter(at__gte=log_filter.date_from.isoformat())
    if log_filter.date_to:
        entries = entries.filter(at__lt=(log_filter.date_to + dt.timedelta(days=1)).isoformat())
    if log_filter.channel:
        entries = entries.filter(channel=log_filter.channel)
    return entries


@dataclass(frozen=True)
class Row:
    at: str  # dd/mm/yyyy HH:MM:SS, Vietnam's time
    username: str
    action: str
    document_id: int
    document: str  # "số — trích yếu", or "" when the reader may not know it
    hidden: bool  # the reader's clearance is below the document's level
    address: str
    channel: str


def when(at_text: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(at_text)
    except ValueError:
        return at_text
    if moment.tzinfo is not None:
        moment = moment.astimezone(VIETNAM)
    return moment.strftime("%d/%m/%Y %H:%M:%S")


def action_label(entry) -> str:
    try:
        label = Access(entry.action).label
    except ValueError:
        label = entry.action
    return f"{label} {entry.page}" if entry.page is not None and entry.action == Access.PAGE.value else label


def describe_documents(document_ids, reader) -> dict[int, tuple[str, bool]]:
    """id -> (what the reader may be told of it, hidden)."""
    from core.models import Document
    from core.record_metadata import RecordMetadata

    who = standing(reader)
    described = {}
    for doc_id, level, metadata_json in Document.objects.filter(pk__in=set(document_ids)).values_list(
            "id", "confidentiality", "metadata_json"):
        if not who.may_see_level(level):
            described[doc_id] = ("", True)
            continue
        try:
            record = RecordMetadata.from_mapping(json.loads(metadata_json or "{}"))
        except (ValueError, TypeError):
            described[doc_id] = ("", False)
            continue
        parts = [part for part in (record.number, record.display_title) if part]
        described[doc_id] = (" — ".join(parts), False)
    return described


def rows_for(entries, reader) -> list[Row]:
    entries = list(entries)
    described = describe_documents([entry.document_id for entry in entries], reader)
    return [
        Row(at=when(entry.at), username=entry.username or "(không rõ)", action=action_label(entry),
            document_id=entry.document_id, document=described.get(entry.document_id, ("", False))[0],
            hidden=described.get(entry.document_id, ("", True))[1], address=entry.address,
            channel=CHANNELS.get(entry.channel, entry.channel))
        for entry in entries
    ]


@require(Action.SEE_ACCESS_LOG)
def access_log(request):
    log_filter, problems, typed = read_filter(request.GET)
    page = None
    rows: list[Row] = []
    if not problems:
        paginator = Paginator(filtered_entries(log_filter), PER_PAGE)
        page = paginator.get_page(request.GET.get("trang"))
        rows = rows_for(page.object_list, request.user)
    kept = request.GET.copy()
    kept.pop("trang", None)
    return render(request, "web/access_log.html", {
        "rows": rows, "page": page, "problems": problems, "typed": typed, "channels": CHANNELS,
        "query_without_page": kept.urlencode(), "query": request.GET.urlencode(),
    }, status=400 if problems else 200)


CSV_HEADER = ["thời điểm", "người dùng", "việc", "mã tài liệu", "tài liệu", "địa chỉ", "kênh"]


@require(Action.SEE_ACCESS_LOG)
def access_log_csv(request):
    log_filter, problems, _ = read_filter(request.GET)
    if problems:
        return HttpResponse("; ".join(problems) + "\n", status=400, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(_csv_lines(filtered_entries(log_filter), request.user),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="nhat-ky-truy-cap.csv"'
    return response


class _Line:
    """csv.writer's file: hands back the line it was given."""

    def write(self, line: str) -> str:
        return line


def _csv_lines(entries, reader):
    # Streamed in slices of the log (newest first): it grows by every view, and the export
    # must not hold all of it in memory at once.
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(CSV_HEADER)  # Excel reads the Vietnamese right only with the BOM
    last_id = None
    while True:
        chunk = list((entries if last_id is None else entries.filter(id__lt=last_id))[:1000])
        if not chunk:
            return
        last_id = chunk[-1].id
        for row in rows_for(chunk, reader):
            shown = "(không được xem: mức mật cao hơn quyền của bạn)" if row.hidden else row.document
            yield writer.writerow([_cell(value) for value in (
                row.at, row.username, row.action, row.document_id, shown, row.address, row.channel)])


def _cell(value) -> str:
    # A cell a spreadsheet would run as a formula (a title read as "=..." or "-...", a user
    # name "@x") is kept as text.
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
