"""The access log page (/nhat-ky-truy-cap/) and its CSV: archivists and administrators
only; filters by user, document, dates and channel; pages of 50; Vietnam's time; and a
reader cleared below a document's level sees its id, never its trích yếu or số."""

from __future__ import annotations

import csv
import io

import pytest

from core.confidentiality import Level
from core.roles import Role
from tests.web_support import make_user, use_web_home, web_archive  # noqa: F401

SECRET_NUMBER = "05/TB-SYT"  # the tuyệt mật document's
SECRET_TITLE = "Nguyên đán"
OPEN_NUMBER = "42/KH-BQLV"  # the thường one's


@pytest.fixture(autouse=True)
def _home(web_archive):  # noqa: F811
    from django.conf import settings

    if getattr(settings, "SOHOA_HOME", None) != web_archive.home.resolve():
        use_web_home(web_archive.home)


@pytest.fixture(scope="module")
def people(web_archive):  # noqa: F811
    use_web_home(web_archive.home)
    return {
        "archivist": make_user("nk-luu-tru-thuong", Role.LUU_TRU, Level.THUONG, password=None),
        "admin": make_user("nk-quan-tri", Role.QUAN_TRI, Level.TUYET_MAT, password=None),
        "staff": make_user("nk-can-bo", Role.CAN_BO, Level.TUYET_MAT, password=None),
        "clerk": make_user("nk-van-thu", Role.VAN_THU, Level.TUYET_MAT, password=None),
    }


@pytest.fixture(scope="module")
def entries(web_archive, people):  # noqa: F811
    """Rows of known times: the reader "nk-doc" saw each document once a day, 3 days."""
    from core.models import AccessLogEntry

    made = []
    for day in (10, 11, 12):
        for level, doc_id in web_archive.ids.items():
            made.append(AccessLogEntry.objects.create(
                at=f"2025-01-{day}T08:30:00+07:00", username="nk-doc", document_id=doc_id,
                action="view" if level != Level.MAT else "page", page=2 if level == Level.MAT else None,
                address="10.0.0.7", channel="web" if day != 11 else "api"))
    return made


def as_user(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return (b"".join(response.streaming_content) if response.streaming else response.content).decode("utf-8")


def test_only_archivists_and_administrators_see_the_log(people):
    from django.test import Client

    for who in ("staff", "clerk"):
        assert as_user(people[who]).get("/nhat-ky-truy-cap/").status_code == 403
        assert as_user(people[who]).get("/nhat-ky-truy-cap/tai-ve.csv").status_code == 403
    anonymous = Client().get("/nhat-ky-truy-cap/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/dang-nhap/")
    for who in ("archivist", "admin"):
        assert as_user(people[who]).get("/nhat-ky-truy-cap/").status_code == 200


def test_a_document_above_the_readers_clearance_is_named_by_its_id_only(web_archive, people, entries):  # noqa: F811
    secret = web_archive.ids[Level.TUYET_MAT]
    for url in (f"/nhat-ky-truy-cap/?nguoi_dung=nk-doc&tai_lieu={secret}",
                f"/nhat-ky-truy-cap/tai-ve.csv?nguoi_dung=nk-doc&tai_lieu={secret}"):
        shown = text(as_user(people["archivist"]).get(url))
        assert f"mã {secret}" in shown or f",{secret}," in shown
        assert SECRET_NUMBER not in shown and SECRET_TITLE not in shown
        assert "mức mật cao hơn quyền của bạn" in shown
        full = text(as_user(people["admin"]).get(url))
        assert SECRET_NUMBER in full and SECRET_TITLE in full
    # The archivist's own clearance: the thường document is named in full.
    open_id = web_archive.ids[Level.THUONG]
    assert OPEN_NUMBER in text(as_user(people["archivist"]).get(f"/nhat-ky-truy-cap/?tai_lieu={open_id}"))


def test_filters_by_user_document_dates_and_channel(web_archive, people, entries):  # noqa: F811
    admin = as_user(people["admin"])

    def rows(**query):
        response = admin.get("/nhat-ky-truy-cap/tai-ve.csv", {"nguoi_dung": "nk-doc", **query})
        assert response.status_code == 200
        return list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))[1:]

    assert len(rows()) == 12
    assert {row[3] for row in rows(tai_lieu=str(web_archive.ids[Level.MAT]))} == {str(web_archive.ids[Level.MAT])}
    assert len(rows(tu_ngay="11/01/2025")) == 8
    assert len(rows(den_ngay="11/01/2025")) == 8
    assert len(rows(tu_ngay="11/01/2025", den_ngay="11/01/2025")) == 4
    assert len(rows(tu_ngay="2025-01", den_ngay="2025")) == 12
    assert {row[6] for row in rows(kenh="api")} == {"API"} and len(rows(kenh="api")) == 4
    assert rows(nguoi_dung="NK-DOC") == rows()  # a name as typed, in any case
    assert rows(nguoi_dung="không-ai") == []
    # Vietnam's time, what was done (the page's number too), from where.
    newest = rows()[0]
    assert newest[0] == "12/01/2025 08:30:00" and newest[5] == "10.0.0.7"
    assert "xem trang 2" in {row[2] for row in rows()}


def test_a_bad_filter_is_said_not_ignored(people, entries):
    admin = as_user(people["admin"])
    response = admin.get("/nhat-ky-truy-cap/", {"tu_ngay": "32/13/2025", "tai_lieu": "abc"})
    assert response.status_code == 400
    page = text(response)
    assert "Ngày không hợp lệ «32/13/2025»" in page and "«abc»" in page
    assert "nk-doc" not in page  # no rows shown under a filter that was not applied
    reversed_days = admin.get("/nhat-ky-truy-cap/tai-ve.csv", {"tu_ngay": "12/01/2025", "den_ngay": "10/01/2025"})
    assert reversed_days.status_code == 400 and "ngược" in text(reversed_days)


def test_pages_of_fifty_newest_first(web_archive, people):  # noqa: F811
    from core.models import AccessLogEntry

    AccessLogEntry.objects.bulk_create([AccessLogEntry(
        at=f"2025-02-01T09:{minute // 60:02d}:{minute % 60:02d}+07:00", username="nk-nhieu",
        document_id=web_archive.ids[Level.THUONG], action="download-pdfa", address="10.0.0.8", channel="api")
        for minute in range(60)])
    admin = as_user(people["admin"])
    first = text(admin.get("/nhat-ky-truy-cap/", {"nguoi_dung": "nk-nhieu"}))
    assert "60 lượt truy cập, trang 1/2" in first
    assert first.count("<tr>") - 1 == 50 and first.index("01/02/2025 09:00:59") < first.index("01/02/2025 09:00:58")
    assert "nguoi_dung=nk-nhieu&amp;trang=2" in first
    second = text(admin.get("/nhat-ky-truy-cap/", {"nguoi_dung": "nk-nhieu", "trang": "2"}))
    assert second.count("<tr>") - 1 == 10 and "01/02/2025 09:00:00" in second and "tải PDF/A" in second


def test_the_csv_keeps_formulas_as_text(web_archive, people):  # noqa: F811
    from core.models import AccessLogEntry

    AccessLogEntry.objects.create(at="2025-03-01T10:00:00+07:00", username="=HYPERLINK(\"x\")",
                                  document_id=web_archive.ids[Level.THUONG], action="view", address="10.0.0.9",
                                  channel="web")
    response = as_user(people["admin"]).get("/nhat-ky-truy-cap/tai-ve.csv", {"tu_ngay": "01/03/2025",
                                                                             "den_ngay": "01/03/2025"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="nhat-ky-truy-cap.csv"' in response["Content-Disposition"]
    body = text(response)
    assert body.startswith("\ufeffthời điểm,người dùng,việc,mã tài liệu,tài liệu,địa chỉ,kênh")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[1][1] == "'=HYPERLINK(\"x\")"


def test_every_page_and_api_view_lands_in_the_log_page(web_archive, people):  # noqa: F811
    """End to end: what the API serves, the log page shows (who, what, channel)."""
    from rest_framework.test import APIClient

    reader = make_user("nk-doc-api", Role.CAN_BO, Level.THUONG, password=None)
    api = APIClient()
    api.force_authenticate(reader)
    doc_id = web_archive.ids[Level.THUONG]
    assert api.get(f"/api/documents/{doc_id}").status_code == 200
    assert api.get(f"/api/documents/{doc_id}/pdfa").status_code == 200
    assert api.get(f"/api/documents/{web_archive.ids[Level.MAT]}").status_code == 404  # not logged
    page = text(as_user(people["admin"]).get("/nhat-ky-truy-cap/", {"nguoi_dung": "nk-doc-api"}))
    assert "2 lượt truy cập" in page and "tải PDF/A" in page and ">xem<" in page and ">API<" in page
