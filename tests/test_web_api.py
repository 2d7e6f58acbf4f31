"""The REST API (/api/): the same rules as the pages for each role × each clearance ×
each level × each surface (search results, total, facets, snippets, metadata, page image,
downloads), token authentication (hashed, revocable, `sohoa token`), the access log of
every API view and download, the OpenAPI schema and the docs page."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from core.confidentiality import Level
from core.roles import Role
from tests.web_support import make_user, use_web_home, web_archive  # noqa: F401

# Each document's own number: a search for it finds that document only.
NUMBERS = {Level.THUONG: "42/KH-BQLV", Level.MAT: "268/SGTVT-VP", Level.TOI_MAT: "15/QĐ-SNV",
           Level.TUYET_MAT: "05/TB-SYT"}
# In every document (the national motto under the header), written without diacritics.
EVERYWHERE = "hanh phuc"
SEARCHERS = (Role.CAN_BO, Role.LUU_TRU, Role.QUAN_TRI)


@pytest.fixture(autouse=True)
def _home(web_archive):  # noqa: F811
    from django.conf import settings

    if getattr(settings, "SOHOA_HOME", None) != web_archive.home.resolve():
        use_web_home(web_archive.home)


@pytest.fixture(scope="module")
def keys(web_archive):  # noqa: F811
    """(role, clearance) -> the API key of a user of that role and clearance."""
    from web.api.tokens import create_token

    use_web_home(web_archive.home)
    found = {}
    for role in Role:
        for clearance in Level:
            # No password: these users come by token (or force_login); hashing 16 is slow.
            user = make_user(f"api-{role.value}-{clearance.value}", role, clearance, password=None)
            found[role, clearance] = create_token(user, "thử nghiệm")[1]
    return found


def client(key: str | None = None):
    from rest_framework.test import APIClient

    api = APIClient()
    if key:
        api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def last_log_id() -> int:
    from core.models import AccessLogEntry

    return AccessLogEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def log_rows(username: str, after: int = 0):
    """The user's access log rows since `after` (other tests use some of the same users)."""
    from core.models import AccessLogEntry

    return list(AccessLogEntry.objects.filter(username=username, id__gt=after).order_by("id"))


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("clearance", list(Level), ids=lambda level: level.slug)
@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
def test_every_surface_keeps_to_the_clearance(web_archive, keys, role, clearance):  # noqa: F811
    api = client(keys[role, clearance])
    ids = web_archive.ids
    cleared = {ids[level] for level in Level if level <= clearance}
    username = f"api-{role.value}-{clearance.value}"
    before = last_log_id()
    if role not in SEARCHERS:  # văn thư: the API reads nothing
        for path in ("/api/search?q=k%E1%BA%BF+ho%E1%BA%A1ch", f"/api/documents/{ids[Level.THUONG]}",
                     f"/api/documents/{ids[Level.THUONG]}/pages/1.png", f"/api/documents/{ids[Level.THUONG]}/pdfa",
                     f"/api/documents/{ids[Level.THUONG]}/original"):
            response = api.get(path)
            assert response.status_code == 403, path
            assert response.json()["detail"] == "Vai trò của bạn không được làm việc này"
        assert log_rows(username, before) == []
        return

    # Search: results, total, facet counts and snippets hold only the cleared documents.
    found = api.get("/api/search", {"q": EVERYWHERE}).json()
    assert {result["id"] for result in found["results"]} == cleared
    assert found["total"] == len(cleared)
    for facet, values in found["facets"].items():
        assert sum(value["count"] for value in values) <= len(cleared), facet
    issuing = {value["value"].casefold() for value in found["facets"].get("agency", [])}
    for level in Level:
        own = api.get("/api/search", {"q": NUMBERS[level]}).json()
        if level <= clearance:
            assert [result["id"] for result in own["results"]] == [ids[level]]
            assert own["total"] == 1
        else:  # not found, not counted, no snippet, no facet value
            assert own["results"] == [] and own["total"] == 0 and own["facets"] == {}
            assert NUMBERS[level].split("/")[1].casefold() not in json.dumps(found, ensure_ascii=False).casefold()
    assert "sở y tế" not in issuing or clearance == Level.TUYET_MAT

    # One document at a time: metadata, a page, the PDF/A, the original.
    may_original = role in (Role.LUU_TRU, Role.QUAN_TRI)
    for level in Level:
        doc_id = ids[level]
        metadata = api.get(f"/api/documents/{doc_id}")
        page = api.get(f"/api/documents/{doc_id}/pages/1.png")
        pdfa = api.get(f"/api/documents/{doc_id}/pdfa")
        original = api.get(f"/api/documents/{doc_id}/original")
        if level > clearance:
            for response in (metadata, page, pdfa, original):
                assert response.status_code == 404
                assert response.json() == {"detail": "Không có tài liệu này"}
            continue
        assert metadata.status_code == 200
        data = metadata.json()
        assert data["id"] == doc_id and data["confidentiality"] == {"level": int(level), "label": level.label}
        assert data["number"] == NUMBERS[level] and data["page_count"] >= 1
        assert data["audit_trail"] and data["signature"]["label"]
        assert (data["links"]["original"] is not None) == may_original
        assert page.status_code == 200 and page["Content-Type"] == "image/png"
        assert body(page).startswith(b"\x89PNG\r\n\x1a\n")
        assert pdfa.status_code == 200 and body(pdfa).startswith(b"%PDF-")
        if may_original:
            assert original.status_code == 200 and len(body(original)) > 1000
        else:
            assert original.status_code == 403
    # The access log holds every view and download, through the API, and no refusal.
    rows = [(row.document_id, row.action, row.page, row.channel) for row in log_rows(username, before)]
    expected = []
    for level in Level:
        if level <= clearance:
            expected += [(ids[level], "view", None, "api"), (ids[level], "page", 1, "api"),
                         (ids[level], "download-pdfa", None, "api")]
            if may_original:
                expected.append((ids[level], "download-original", None, "api"))
    assert rows == expected


ENDPOINTS = ("/api/search?q=a", "/api/documents/{id}", "/api/documents/{id}/pages/1.png", "/api/documents/{id}/pdfa",
             "/api/documents/{id}/original")


@pytest.mark.parametrize("credentials", ["none", "bad", "malformed"])
def test_no_or_a_bad_token_is_401_in_vietnamese(web_archive, credentials):  # noqa: F811
    from rest_framework.test import APIClient

    api = APIClient()
    if credentials == "bad":
        api.credentials(HTTP_AUTHORIZATION="Token sohoa_khong-co-ma-nay")
    elif credentials == "malformed":
        api.credentials(HTTP_AUTHORIZATION="Token hai phần")
    for path in ENDPOINTS:
        response = api.get(path.format(id=web_archive.ids[Level.THUONG]))
        assert response.status_code == 401, path
        assert response["WWW-Authenticate"] == "Token"
        detail = response.json()["detail"]
        assert detail != detail.encode("ascii", "ignore").decode(), f"not Vietnamese: {detail}"


def test_tokens_are_stored_hashed_and_revoked_by_the_cli(web_archive, keys):  # noqa: F811
    from core.models import ApiToken
    from tests.conftest import json_lines, run_sohoa

    made = run_sohoa(web_archive.home, "token", "add", f"api-{Role.CAN_BO.value}-0", "--name", "máy báo cáo")
    assert made.returncode == 0, made.stderr
    key = next(line for line in made.stdout.splitlines() if line.startswith("sohoa_"))
    row = ApiToken.objects.get(key_sha256=hashlib.sha256(key.encode()).hexdigest())
    assert row.name == "máy báo cáo" and row.last_used_at is None
    # No copy of the key anywhere in the database's files (the main file and its WAL). Read
    # by another process: closing a descriptor of the file here would drop this process's
    # SQLite locks on it (POSIX locks are per process), and the next write could corrupt it.
    looked = subprocess.run(
        [sys.executable, "-c", "import sys, pathlib; key = sys.argv[1].encode(); "
         "print([p.name for p in pathlib.Path(sys.argv[2]).glob('catalog.sqlite*') if key in p.read_bytes()])",
         key, str(web_archive.home)], capture_output=True, text=True, check=True)
    assert looked.stdout.strip() == "[]"
    listed = run_sohoa(web_archive.home, "token", "list", "--json")
    assert key not in listed.stdout and "máy báo cáo" in listed.stdout

    assert client(key).get(f"/api/documents/{web_archive.ids[Level.THUONG]}").status_code == 200
    row.refresh_from_db()
    assert row.last_used_at is not None

    revoked = run_sohoa(web_archive.home, "token", "revoke", str(row.id), "--json")
    assert revoked.returncode == 0, revoked.stderr
    assert json_lines(revoked.stdout)[0]["revoked"] is True
    response = client(key).get(f"/api/documents/{web_archive.ids[Level.THUONG]}")
    assert response.status_code == 401
    assert "thu hồi" in response.json()["detail"]
    again = run_sohoa(web_archive.home, "token", "revoke", str(row.id))
    assert again.returncode == 1 and "không có mã truy cập số" in again.stderr


def test_token_add_refuses_an_unknown_user_and_a_missing_name(web_archive):  # noqa: F811
    from tests.conftest import run_sohoa

    unknown = run_sohoa(web_archive.home, "token", "add", "không-có-ai", "--name", "x")
    assert unknown.returncode == 1 and "không có người dùng «không-có-ai»" in unknown.stderr
    nameless = run_sohoa(web_archive.home, "token", "add", f"api-{Role.CAN_BO.value}-0")
    assert nameless.returncode == 1 and "--name" in nameless.stderr


def test_a_logged_in_user_uses_the_api_with_the_session(web_archive, keys):  # noqa: F811
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(User.objects.get(username=f"api-{Role.CAN_BO.value}-{Level.MAT.value}"))
    assert api.get(f"/api/documents/{web_archive.ids[Level.MAT]}").status_code == 200
    assert api.get(f"/api/documents/{web_archive.ids[Level.TOI_MAT]}").status_code == 404


def test_errors_are_json_in_vietnamese(web_archive, keys):  # noqa: F811
    api = client(keys[Role.CAN_BO, Level.THUONG])
    missing = api.get("/api/documents/999999")
    assert missing.status_code == 404 and missing.json() == {"detail": "Không có tài liệu này"}
    nowhere = api.get("/api/khong-co")
    assert nowhere.status_code == 404 and "/api/docs/" in nowhere.json()["detail"]
    empty = api.get("/api/search")
    assert empty.status_code == 400 and "từ khóa" in empty.json()["detail"]
    posted = api.post("/api/search", {"q": "x"})
    assert posted.status_code == 405 and posted.json() == {"detail": "API này chỉ cho đọc (GET)"}
    beyond = api.get(f"/api/documents/{web_archive.ids[Level.THUONG]}/pages/999.png")
    assert beyond.status_code == 404 and "không có trang 999" in beyond.json()["detail"]
    pdf = api.get(f"/api/documents/{web_archive.ids[Level.THUONG]}/pdfa", HTTP_ACCEPT="application/pdf")
    assert pdf.status_code == 200


def test_the_schema_is_openapi_3_with_every_endpoint(web_archive):  # noqa: F811
    import yaml
    from django.test import Client

    as_yaml = Client().get("/api/schema/")
    assert as_yaml.status_code == 200
    schema = yaml.safe_load(as_yaml.content)
    assert schema["openapi"].startswith("3.")
    as_json = json.loads(Client().get("/api/schema/", {"format": "json"}).content)
    assert as_json == schema
    assert {"/api/search", "/api/documents/{document_id}", "/api/documents/{document_id}/pages/{number}.png",
            "/api/documents/{document_id}/pdfa", "/api/documents/{document_id}/original"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"
    search = schema["paths"]["/api/search"]["get"]
    assert {"q", "type", "agency", "year", "profile", "signature", "sort", "page"} <= {
        p["name"] for p in search["parameters"]}
    assert {"200", "401", "403"} <= set(search["responses"])
    assert "404" in schema["paths"]["/api/documents/{document_id}"]["get"]["responses"]


def test_the_docs_page_lists_the_endpoints_without_script(web_archive):  # noqa: F811
    from django.test import Client

    response = Client().get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    for path in ("/api/search", "/api/documents/{document_id}/pdfa", "/api/documents/{document_id}/original"):
        assert path in page
    assert "Authorization: Token" in page
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "<script>" not in page and "cdn" not in page.lower()


def test_a_locked_accounts_token_is_refused(web_archive):  # noqa: F811
    from web.api.tokens import create_token

    user = make_user("api-bi-khoa", Role.CAN_BO, Level.THUONG, password=None)
    key = create_token(user, "thử")[1]
    path = f"/api/documents/{web_archive.ids[Level.THUONG]}"
    assert client(key).get(path).status_code == 200
    user.is_active = False
    user.save()
    refused = client(key).get(path)
    assert refused.status_code == 401 and "bị khóa" in refused.json()["detail"]
