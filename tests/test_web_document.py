"""The document page (/tai-lieu/<id>/), its page images and downloads: for each role ×
each clearance × each level, shown only when the clearance is at least the level (404
otherwise, as for a document that does not exist); the original only to the roles allowed;
the query's words outlined on the page image; every view, page and download in the access
log with who and from where."""

from __future__ import annotations

import io
import itertools
import re
from types import SimpleNamespace

import pytest

from core.confidentiality import Level
from core.roles import Role
from core.text import fold
from tests.web_support import make_user, use_web_home, web_archive  # noqa: F401

SEARCHERS = (Role.CAN_BO, Role.LUU_TRU, Role.QUAN_TRI)
OWN_WORDS = {Level.THUONG: "hạ long", Level.MAT: "điện tử", Level.TOI_MAT: "hội đồng", Level.TUYET_MAT: "bính ngọ"}
NUMBERS = {Level.THUONG: "42/KH-BQLV", Level.MAT: "268/SGTVT-VP", Level.TOI_MAT: "15/QĐ-SNV",
           Level.TUYET_MAT: "05/TB-SYT"}
ADDRESS = "10.20.30.40"
_names = itertools.count()


@pytest.fixture(autouse=True)
def _home(web_archive):  # noqa: F811
    from django.conf import settings

    if getattr(settings, "SOHOA_HOME", None) != web_archive.home.resolve():
        use_web_home(web_archive.home)


def logged_in(role: Role | None, clearance: Level = Level.THUONG):
    from django.test import Client

    user = make_user(f"doc-{role.value if role else 'none'}-{int(clearance)}-{next(_names)}", role, clearance)
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(user)
    return client, user


def surfaces(doc_id: int) -> dict[str, str]:
    return {"page": f"/tai-lieu/{doc_id}/", "image": f"/tai-lieu/{doc_id}/trang/1.png",
            "pdfa": f"/tai-lieu/{doc_id}/tai-ve/pdfa", "original": f"/tai-lieu/{doc_id}/tai-ve/ban-goc"}


def log_rows(user):
    from core.models import AccessLogEntry

    return list(AccessLogEntry.objects.filter(user_id=user.pk).order_by("id"))


def mark_pixels(png: bytes, box=None) -> int:
    """How many pixels have the exact outline colour the hits are drawn in (within `box`)."""
    from PIL import Image

    from web.page_images import MARK_OUTLINE

    image = Image.open(io.BytesIO(png)).convert("RGB")
    if box is not None:
        image = image.crop(box)
    return sum(count for count, colour in image.getcolors(maxcolors=1 << 24) if colour == MARK_OUTLINE)


def mark_positions(png: bytes) -> list[tuple[int, int]]:
    from PIL import Image

    from web.page_images import MARK_OUTLINE

    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, data, wanted = image.width, image.tobytes(), bytes(MARK_OUTLINE)
    return [((i // 3) % width, (i // 3) // width) for i in range(0, len(data), 3) if data[i:i + 3] == wanted]


def archived(web_archive, level: Level, which: str) -> bytes:  # noqa: F811
    from core.models import Document

    row = Document.objects.get(pk=web_archive.ids[level])
    return (web_archive.home / "archive" / getattr(row, which)).read_bytes()


@pytest.mark.parametrize("clearance", list(Level), ids=lambda level: level.slug)
@pytest.mark.parametrize("role", SEARCHERS, ids=lambda role: role.value)
def test_each_surface_of_a_document_only_up_to_the_clearance(web_archive, role, clearance):  # noqa: F811
    client, user = logged_in(role, clearance)
    may_have_original = role in (Role.LUU_TRU, Role.QUAN_TRI)
    for level, doc_id in web_archive.ids.items():
        cleared = level <= clearance
        urls = surfaces(doc_id)
        page = client.get(urls["page"])
        assert page.status_code == (200 if cleared else 404), (level, page.status_code)
        html = page.content.decode()
        if cleared:
            assert NUMBERS[level] in html
            assert (f'href="{urls["original"]}"' in html) is may_have_original
        else:
            assert NUMBERS[level] not in html and "Không có tài liệu" not in html.split("<main")[0]
        # one page image per test where it matters (rendering is the slow part): the
        # document at the very level of the clearance, and the one just above
        if level in (clearance, clearance + 1):
            image = client.get(urls["image"])
            assert image.status_code == (200 if cleared else 404)
            if cleared:
                assert image["Content-Type"] == "image/png" and image.content.startswith(b"\x89PNG")
        pdfa = client.get(urls["pdfa"])
        assert pdfa.status_code == (200 if cleared else 404)
        if cleared:
            assert b"".join(pdfa.streaming_content) == archived(web_archive, level, "pdfa_file")
        original = client.get(urls["original"])
        assert original.status_code == ((200 if may_have_original else 403) if cleared else 404)
        if original.status_code == 200:
            assert b"".join(original.streaming_content) == archived(web_archive, level, "original_file")
    # what was served is in the access log, nothing that was refused
    served = [(row.document_id, row.action) for row in log_rows(user)]
    cleared_ids = {doc_id for level, doc_id in web_archive.ids.items() if level <= clearance}
    assert {doc_id for doc_id, _ in served} == cleared_ids
    for doc_id in cleared_ids:
        assert (doc_id, "view") in served and (doc_id, "download-pdfa") in served
        assert ((doc_id, "download-original") in served) is may_have_original


@pytest.mark.parametrize("role", [Role.VAN_THU, None], ids=["van-thu", "no-profile"])
def test_below_can_bo_every_surface_is_refused(web_archive, role):  # noqa: F811
    client, user = logged_in(role, Level.TUYET_MAT)
    for doc_id in web_archive.ids.values():
        for name, url in surfaces(doc_id).items():
            assert client.get(url).status_code == 403, (name, url)
    assert log_rows(user) == []


def test_anonymous_users_are_sent_to_log_in(web_archive):  # noqa: F811
    from django.test import Client

    from core.models import AccessLogEntry

    before = AccessLogEntry.objects.count()
    for url in surfaces(web_archive.ids[Level.THUONG]).values():
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/dang-nhap/?next=/tai-lieu/")
    assert AccessLogEntry.objects.count() == before


def test_every_view_page_and_download_is_logged_with_who_when_and_from_where(web_archive):  # noqa: F811
    client, user = logged_in(Role.LUU_TRU, Level.MAT)
    doc_id = web_archive.ids[Level.MAT]
    urls = surfaces(doc_id)
    for name in ("page", "image", "pdfa", "original"):
        response = client.get(urls[name])
        assert response.status_code == 200
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    rows = log_rows(user)
    assert [(r.action, r.page) for r in rows] == [("view", None), ("page", 1), ("download-pdfa", None),
                                                   ("download-original", None)]
    for row in rows:
        assert row.document_id == doc_id and row.username == user.username and row.address == ADDRESS
        assert row.channel == "web" and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", row.at)
    # a page that does not exist, and a document above the clearance: refused, not logged
    assert client.get(f"/tai-lieu/{doc_id}/trang/2.png").status_code == 404
    assert client.get(f"/tai-lieu/{web_archive.ids[Level.TOI_MAT]}/").status_code == 404
    assert client.get("/tai-lieu/999999/").status_code == 404
    assert len(log_rows(user)) == 4


@pytest.mark.parametrize("level", [Level.MAT, Level.TUYET_MAT], ids=lambda level: level.slug)
def test_the_query_words_are_outlined_on_the_page_image(web_archive, level):  # noqa: F811
    from core.models import Document
    from web.page_images import DPI, hit_boxes

    client, _ = logged_in(Role.CAN_BO, Level.TUYET_MAT)
    doc_id = web_archive.ids[level]
    pdf = web_archive.home / "archive" / Document.objects.get(pk=doc_id).pdfa_file
    query = OWN_WORDS[level]
    boxes = hit_boxes(pdf, 1, query, DPI)
    assert boxes, "the PDF/A's text layer holds the words"
    marked = client.get(f"/tai-lieu/{doc_id}/trang/1.png", {"q": query}).content
    plain = client.get(f"/tai-lieu/{doc_id}/trang/1.png").content
    folded = client.get(f"/tai-lieu/{doc_id}/trang/1.png", {"q": fold(query).upper()}).content
    elsewhere = client.get(f"/tai-lieu/{doc_id}/trang/1.png", {"q": "xyzzyq"}).content
    assert mark_pixels(plain) == 0 and mark_pixels(elsewhere) == 0
    for left, top, right, bottom in boxes:
        around = (left - 6, top - 6, right + 6, bottom + 6)
        assert mark_pixels(marked, around) > 2 * (right - left), (left, top, right, bottom)
    # all the outline is round the words: none elsewhere on the page
    stray = [(x, y) for x, y in mark_positions(marked)
             if not any(l - 6 <= x < r + 6 and t - 6 <= y < b + 6 for l, t, r, b in boxes)]
    assert stray == []
    assert mark_pixels(folded) == mark_pixels(marked)  # without diacritics, in capitals: the same words


def test_the_document_page_says_fields_confidence_signature_and_trail_in_vietnamese(web_archive):  # noqa: F811
    client, _ = logged_in(Role.CAN_BO, Level.MAT)
    doc_id = web_archive.ids[Level.MAT]
    html = client.get(f"/tai-lieu/{doc_id}/", {"q": "điện tử"}).content.decode()
    assert "<h1 id=\"tieu-de\">tăng cường sử dụng văn bản điện tử</h1>" in html
    assert '<dd id="do-mat" class="level-1">mật</dd>' in html
    # header fields with their confidence as a percentage
    row = html.split('data-field="number"')[1].split("</tr>")[0]
    assert "268/SGTVT-VP" in row and re.search(r"<td>\d{1,3}%", row)
    assert 'data-field="issue_date"' in html and "02/03/2018" in html
    verdict = re.search(r'id="ket-luan-chu-ky" class="verdict verdict-(ok|bad|none)">([^<]+)<', html)
    assert verdict and len(verdict.group(2)) > 20
    assert "nhận tệp" in html and "lưu vào kho" in html and "sửa trường" in html  # the audit trail's steps
    assert "Độ mật, " in html  # the correction names its field in words
    # the images carry the query, and the page offers the PDF/A but not the original to cán bộ
    assert f'src="/tai-lieu/{doc_id}/trang/1.png?q=%C4%91i%E1%BB%87n%20t%E1%BB%AD"' in html
    assert f'href="/tai-lieu/{doc_id}/tai-ve/pdfa"' in html and "tai-ve/ban-goc" not in html
    assert "style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)
    # the way back is the very search the user came from
    back = client.get(f"/tai-lieu/{doc_id}/", {"q": "điện tử", "type": "Công văn", "sort": "date", "page": "2"})
    assert re.search(r'<a href="/\?q=[^"]*type=C%C3%B4ng[^"]*sort=date[^"]*page=2">‹ Về kết quả tìm kiếm', back.content.decode())


def test_downloads_are_named_in_vietnamese(web_archive):  # noqa: F811
    client, _ = logged_in(Role.QUAN_TRI, Level.TUYET_MAT)
    doc_id = web_archive.ids[Level.TOI_MAT]
    pdfa = client.get(f"/tai-lieu/{doc_id}/tai-ve/pdfa")
    assert pdfa["Content-Type"] == "application/pdf"
    # RFC 5987: the Vietnamese name as UTF-8 in filename*
    assert pdfa["Content-Disposition"] == "attachment; filename*=utf-8''15-Q%C4%90-SNV.pdf"
    assert "no-store" in pdfa["Cache-Control"]
    original = client.get(f"/tai-lieu/{doc_id}/tai-ve/ban-goc")
    assert original["Content-Disposition"] == "attachment; filename*=utf-8''t%E1%BB%91i-m%E1%BA%ADt.png"
    assert original["Content-Type"] == "image/png"


def test_the_signature_verdict_in_plain_words():
    from web.views.document import signature_verdict

    def event(step, outcome, **detail):
        return SimpleNamespace(step=step, outcome=outcome, at="2026-01-02T03:04:05+07:00", detail=detail)

    assert signature_verdict([]) == ("none", "Tài liệu chưa được ký số.")
    state, said = signature_verdict([event("signed", "skipped", reason="ký số đã tắt (cấu hình hoặc hồ sơ)")])
    assert state == "none" and said == "Không ký số bản lưu trữ: ký số đã tắt (cấu hình hoặc hồ sơ)."
    signed = event("signed", "ok", level="PAdES B-LTA", signed_at="2026-01-02T03:04:05+07:00",
                   signer="Common Name: Sở Nội vụ tỉnh Lâm Đồng; Country: VN", identity="PKCS#11 token")
    state, said = signature_verdict([signed])
    assert state == "ok" and said.startswith("Cơ quan đã ký số bản lưu trữ (Sở Nội vụ tỉnh Lâm Đồng)")
    assert "thử nghiệm" not in said
    state, said = signature_verdict([signed, event("verified", "failed", problems=["tệp đã bị sửa sau khi ký"])])
    assert state == "bad" and "KHÔNG ĐẠT — tệp đã bị sửa sau khi ký" in said
    state, said = signature_verdict([signed, event("verified", "ok", problems=[])])
    assert state == "ok" and "chữ ký còn nguyên vẹn, hợp lệ" in said
    received = event("signature_verified", "failed",
                     input_signature={"status": "modified", "message": "tệp đã bị sửa sau khi A ký"})
    assert signature_verdict([received]) == ("bad", "Tệp nhận vào có chữ ký số nhưng tệp đã bị sửa sau khi A ký.")


def test_a_word_on_the_page_matches_the_query_as_the_index_does():
    from web.page_images import query_forms, word_matches

    forms = query_forms('"Quyết định" tỉnh 268')
    assert forms == {"quyet", "dinh", "tinh", "268"}
    assert word_matches("tỉnh,", forms) and word_matches("QUYẾT", forms) and word_matches("268/SGTVT-VP", forms)
    assert word_matches("Quyếr", forms)  # one OCR slip in a long word, as the index forgives it
    assert not word_matches("tính", {"tien"})  # a short word must match exactly
    assert not word_matches("2680", forms) and not word_matches("", forms)
    assert query_forms("  ") == set()
