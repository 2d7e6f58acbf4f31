"""The staff's journeys in a real browser (issue 15, point 8): Debian's Chromium driven by
Playwright against the web application served for real on a loopback port, on a home with
four archived documents, one per confidentiality level (tests/web_support.py).

One browser for the module, a fresh context (cookies, session) per journey. Every page
visited is checked by axe-core (no serious or critical violation); screenshots are kept in
test-artifacts/web/. Waits are Playwright's own (expect, auto-waiting locators), never
fixed sleeps.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect, sync_playwright

from core.confidentiality import Level
from core.roles import Role
from tests.browser_support import (
    ARTIFACTS, PASSWORD, WebServer, add_users, check_accessibility, launch_chromium, screenshot,
)
from tests.web_support import web_archive  # noqa: F401

# Staff of the journeys (made with `sohoa user add`): cán bộ cleared for mật or thường only, an
# archivist, a văn thư; names of their own, the archive being shared with the other web tests.
CLEARED = "td-can-bo-mat"
UNCLEARED = "td-can-bo-thuong"
ARCHIVIST = "td-luu-tru"
READER = "td-can-bo-doc"  # only the access-log journey reads as this one: its rows are known
FORGETFUL = "td-quen-mat-khau"  # the lock-out journey locks this name out
CLERK = "td-van-thu"
# A word on every document of the archive (its date line), with and without diacritics.
SHARED, SHARED_FOLDED = "tháng", "thang"


@dataclass(frozen=True)
class Site:
    url: str
    ids: dict
    server: WebServer


@pytest.fixture(scope="module")
def site(web_archive):  # noqa: F811
    add_users(web_archive.home, [
        (CLEARED, Role.CAN_BO, Level.MAT), (UNCLEARED, Role.CAN_BO, Level.THUONG),
        (ARCHIVIST, Role.LUU_TRU, Level.MAT), (READER, Role.CAN_BO, Level.MAT),
        (FORGETFUL, Role.CAN_BO, Level.THUONG), (CLERK, Role.VAN_THU, Level.THUONG),
    ])
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # this run's screenshots and reports only
    server = WebServer(web_archive.home, ARTIFACTS / "server.log").start()
    try:
        yield Site(url=server.url, ids=web_archive.ids, server=server)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium_browser(site):
    # The first pages of a cold server on a loaded CI machine take seconds: wait on conditions
    # up to 30 s (actions and navigations too, per context below), not expect's default 5 s.
    expect.set_options(timeout=30_000)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def tab(chromium_browser, site):
    """A fresh browser context (no cookies) and its page, in Vietnamese."""
    context = chromium_browser.new_context(base_url=site.url, locale="vi-VN", accept_downloads=True,
                                           viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def log_in(page, name: str, password: str = PASSWORD) -> None:
    """The login form filled and sent; returns once the server has answered the POST (a
    right password's redirect or a wrong one's page)."""
    page.goto("/dang-nhap/")
    page.get_by_label("Tên đăng nhập").fill(name)
    page.get_by_label("Mật khẩu").fill(password)
    with page.expect_response(lambda r: r.request.method == "POST" and "/dang-nhap/" in r.url):
        page.get_by_role("button", name="Đăng nhập").click()



def search(page, words: str) -> None:
    box = page.get_by_label("Từ khóa hoặc số ký hiệu")
    box.fill(words)
    box.press("Enter")
    expect(page.locator("#so-ket-qua")).to_contain_text(f"«{words}»")


def result_ids(page) -> set[int]:
    return {int(value) for value in page.locator("#ket-qua > li.result").evaluate_all(
        "items => items.map(item => item.dataset.id)")}


# -- logging in and out -----------------------------------------------------------------------

def test_login_refuses_a_wrong_password_then_lets_the_user_in(tab, site):
    tab.goto("/")
    # Not logged in: the search page sends to the login page, and back after it.
    expect(tab).to_have_url(re.compile(r"/dang-nhap/\?next=/$"))
    expect(tab.get_by_role("heading", name="Đăng nhập", level=1)).to_be_visible()
    check_accessibility(tab, "dang-nhap")
    screenshot(tab, "dang-nhap")

    tab.get_by_label("Tên đăng nhập").fill(CLEARED)
    tab.get_by_label("Mật khẩu").fill(PASSWORD + "x")
    tab.get_by_role("button", name="Đăng nhập").click()
    expect(tab.get_by_role("alert")).to_contain_text("Tên đăng nhập hoặc mật khẩu không đúng")
    expect(tab.get_by_label("Tên đăng nhập")).to_have_value(CLEARED)
    check_accessibility(tab, "dang-nhap-sai")
    screenshot(tab, "dang-nhap-sai")

    tab.get_by_label("Mật khẩu").fill(PASSWORD)
    tab.get_by_role("button", name="Đăng nhập").click()
    expect(tab).to_have_url(site.url + "/")
    expect(tab.get_by_role("heading", name="Tìm kiếm tài liệu")).to_be_visible()
    expect(tab.get_by_role("navigation", name="Điều hướng chính")).to_contain_text(CLEARED)
    check_accessibility(tab, "tim-kiem")


def test_logout_ends_the_session(tab, site):
    log_in(tab, CLEARED)
    expect(tab.get_by_role("heading", name="Tìm kiếm tài liệu")).to_be_visible()
    tab.get_by_role("button", name="Đăng xuất").click()
    expect(tab).to_have_url(re.compile(r"/dang-nhap/$"))
    expect(tab.get_by_role("status")).to_contain_text("Bạn đã đăng xuất")
    check_accessibility(tab, "da-dang-xuat")
    # The session is gone: a document's address sends to the login page again.
    tab.goto(f"/tai-lieu/{site.ids[Level.THUONG]}/")
    expect(tab).to_have_url(re.compile(r"/dang-nhap/\?next="))
    expect(tab.get_by_role("heading", name="Đăng nhập", level=1)).to_be_visible()



def test_repeated_wrong_passwords_lock_the_name_out(tab, site):
    for _ in range(5):  # AXES_FAILURE_LIMIT
        log_in(tab, FORGETFUL, PASSWORD + "?")
    expect(tab.get_by_role("heading", name="Tạm khóa đăng nhập")).to_be_visible()
    expect(tab.get_by_role("alert")).to_contain_text("bị tạm khóa")
    check_accessibility(tab, "tam-khoa")
    screenshot(tab, "tam-khoa")
    # While locked, even the right password does not let in.
    log_in(tab, FORGETFUL)
    expect(tab.get_by_role("heading", name="Tạm khóa đăng nhập")).to_be_visible()
    tab.goto("/")
    expect(tab).to_have_url(re.compile(r"/dang-nhap/"))



def test_a_role_without_the_right_is_told_so_in_vietnamese(tab, site):
    log_in(tab, CLERK)
    # A văn thư may not search (cán bộ and up): the page says why, and the nav offers no search.
    expect(tab.get_by_role("heading", name="Không có quyền")).to_be_visible()
    expect(tab.get_by_text("Vai trò của bạn (văn thư) không được mở trang này")).to_be_visible()
    expect(tab.get_by_role("navigation", name="Điều hướng chính").get_by_role("link", name="Tìm kiếm")).to_have_count(0)
    check_accessibility(tab, "khong-co-quyen")
    response = tab.goto(f"/tai-lieu/{site.ids[Level.THUONG]}/")
    assert response.status == 403


# -- searching --------------------------------------------------------------------------------

def test_search_with_and_without_diacritics_finds_the_same_documents(tab, site):
    log_in(tab, CLEARED)
    search(tab, "kế hoạch")
    expect(tab.locator("#ket-qua > li.result")).to_have_count(1)
    assert result_ids(tab) == {site.ids[Level.THUONG]}
    # The address holds the query: a search can be bookmarked and shared.
    expect(tab).to_have_url(re.compile(r"[?&]q=k%E1%BA%BF(\+|%20)ho%E1%BA%A1ch"))
    expect(tab.locator("#ket-qua mark").first).to_be_visible()
    check_accessibility(tab, "ket-qua")
    screenshot(tab, "ket-qua")
    search(tab, "ke hoach")
    expect(tab).to_have_url(re.compile(r"[?&]q=ke(\+|%20)hoach"))
    expect(tab.locator("#ket-qua > li.result")).to_have_count(1)
    assert result_ids(tab) == {site.ids[Level.THUONG]}

    # A word of every document: the cán bộ cleared for mật finds the thường and mật ones,
    # never the tối mật or tuyệt mật ones, typed either way.
    expected = {site.ids[Level.THUONG], site.ids[Level.MAT]}
    for words in (SHARED, SHARED_FOLDED):
        search(tab, words)
        expect(tab.locator("#ket-qua > li.result")).to_have_count(len(expected))
        assert result_ids(tab) == expected, words
        expect(tab.locator("#so-ket-qua")).to_contain_text(f"Tìm thấy {len(expected)} tài liệu")

    # The bookmarked address gives the same page again, from the server alone.
    tab.goto(tab.url)
    expect(tab.get_by_label("Từ khóa hoặc số ký hiệu")).to_have_value(SHARED_FOLDED)
    assert result_ids(tab) == expected


def test_search_works_without_javascript(chromium_browser, site):
    context = chromium_browser.new_context(base_url=site.url, locale="vi-VN", java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, CLEARED)
        search(page, SHARED_FOLDED)
        assert result_ids(page) == {site.ids[Level.THUONG], site.ids[Level.MAT]}
    finally:
        context.close()



def test_search_and_open_a_document_from_the_keyboard_alone(tab, site):
    log_in(tab, CLEARED)
    box = tab.get_by_label("Từ khóa hoặc số ký hiệu")
    expect(box).to_be_focused()  # an empty search page puts the cursor in the box
    tab.keyboard.type("ke hoach")
    tab.keyboard.press("Enter")
    expect(tab.locator("#so-ket-qua")).to_contain_text("«ke hoach»")
    thuong = site.ids[Level.THUONG]
    link = tab.locator(f'#ket-qua > li.result[data-id="{thuong}"] h3 a')
    expect(link).to_have_count(1)
    # Tab goes through the form, the filters and the sort links to the result, in page order.
    for _ in range(40):
        tab.keyboard.press("Tab")
        if link.evaluate("element => element === document.activeElement"):
            break
    expect(link).to_be_focused()
    tab.keyboard.press("Enter")
    expect(tab).to_have_url(re.compile(rf"/tai-lieu/{thuong}/"))
    expect(tab.locator("#do-mat")).to_have_text("thường")


def test_a_facet_narrows_the_results(tab, site):
    log_in(tab, CLEARED)
    search(tab, SHARED)
    facet = tab.get_by_role("list", name="Loại văn bản")
    value = facet.get_by_role("link", name=re.compile("^công văn$", re.I))
    expect(value).to_be_visible()
    expect(value.locator("xpath=..").locator(".count")).to_have_text("1")
    value.click()
    expect(tab.locator("#ket-qua > li.result")).to_have_count(1)
    assert result_ids(tab) == {site.ids[Level.MAT]}
    expect(tab.get_by_role("complementary", name="Lọc kết quả")).to_contain_text("Đang lọc")
    expect(tab).to_have_url(re.compile(r"[?&]type="))
    check_accessibility(tab, "ket-qua-loc")
    screenshot(tab, "ket-qua-loc")
    # Taking the filter off gives both back.
    tab.get_by_role("link", name=re.compile("^Bỏ lọc Loại văn bản")).click()
    expect(tab.locator("#ket-qua > li.result")).to_have_count(2)


# -- a document -------------------------------------------------------------------------------

def test_open_a_document_and_see_the_words_highlighted(tab, site):
    from PIL import Image
    import io

    from web.page_images import MARK_OUTLINE

    log_in(tab, CLEARED)
    search(tab, "kế hoạch")
    thuong = site.ids[Level.THUONG]
    link = tab.locator(f'#ket-qua > li.result[data-id="{thuong}"] h3 a')
    with tab.expect_response(re.compile(rf"/tai-lieu/{thuong}/trang/1\.png\?q=")) as image_response:
        link.click()
        expect(tab).to_have_url(re.compile(rf"/tai-lieu/{thuong}/\?q="))
        tab.locator("#trang-1 img").scroll_into_view_if_needed()
    response = image_response.value
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    expect(tab.get_by_role("heading", level=1)).to_be_visible()
    expect(tab.locator("#do-mat")).to_have_text("thường")
    image = tab.get_by_role("img", name=re.compile("Trang 1 của tài liệu, các từ «kế hoạch» được tô viền"))
    expect(image).to_be_visible()
    tab.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    # The highlight is on the page the browser shows: the outline's own colour is there.
    png = Image.open(io.BytesIO(response.body())).convert("RGB")
    outlined = sum(1 for pixel in png.get_flattened_data() if pixel == MARK_OUTLINE)
    assert outlined > 50, f"the page image for «kế hoạch» has {outlined} outline pixels"
    check_accessibility(tab, "tai-lieu")
    screenshot(tab, "tai-lieu")
    screenshot(tab.locator("#trang-1 img"), "tai-lieu-trang-1")


def test_download_the_pdfa(tab, site):
    log_in(tab, CLEARED)
    tab.goto(f"/tai-lieu/{site.ids[Level.MAT]}/")
    expect(tab.locator("#do-mat")).to_have_text("mật")
    with tab.expect_download() as download_info:
        tab.get_by_role("link", name="Bản lưu trữ PDF/A").click()
    download = download_info.value
    assert download.failure() is None
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as handle:
        head = handle.read(8)
    assert head.startswith(b"%PDF-"), head
    # A cán bộ may not take the original as received (lưu trữ viên and up).
    expect(tab.get_by_role("link", name=re.compile("^Bản gốc nhận vào"))).to_have_count(0)


# -- confidentiality --------------------------------------------------------------------------

def test_a_user_cleared_for_thuong_does_not_see_the_mat_document(tab, site):
    log_in(tab, UNCLEARED)
    search(tab, SHARED)
    expect(tab.locator("#ket-qua > li.result")).to_have_count(1)
    assert result_ids(tab) == {site.ids[Level.THUONG]}
    expect(tab.locator("#so-ket-qua")).to_contain_text("Tìm thấy 1 tài liệu")
    # No facet counts a document the user may not see.
    counts = tab.locator(".facets .count").evaluate_all("spans => spans.map(s => Number(s.dataset.count))")
    assert counts and max(counts) == 1, counts
    expect(tab.get_by_role("list", name="Loại văn bản").get_by_role("link", name="Công văn")).to_have_count(0)
    # Its address answers as if it did not exist.
    response = tab.goto(f"/tai-lieu/{site.ids[Level.MAT]}/")
    assert response.status == 404
    response = tab.request.get(f"/tai-lieu/{site.ids[Level.MAT]}/tai-ve/pdfa")
    assert response.status == 404


# -- the access log ---------------------------------------------------------------------------

def test_the_archivist_sees_who_read_and_downloaded_a_document(chromium_browser, tab, site):
    mat = site.ids[Level.MAT]
    log_in(tab, READER)
    tab.goto(f"/tai-lieu/{mat}/")
    expect(tab.locator("#do-mat")).to_have_text("mật")
    with tab.expect_download() as download_info:
        tab.get_by_role("link", name="Bản lưu trữ PDF/A").click()
    assert download_info.value.failure() is None

    context = chromium_browser.new_context(base_url=site.url, locale="vi-VN", accept_downloads=True)
    try:
        archivist = context.new_page()
        log_in(archivist, ARCHIVIST)
        archivist.get_by_role("navigation", name="Điều hướng chính").get_by_role("link", name="Nhật ký truy cập").click()
        expect(archivist.get_by_role("heading", name="Nhật ký truy cập", level=1)).to_be_visible()
        archivist.get_by_label("Người dùng").fill(READER)
        archivist.get_by_label("Mã tài liệu").fill(str(mat))
        archivist.get_by_role("button", name="Lọc").click()
        rows = archivist.locator("table.log tbody tr")
        expect(rows.filter(has_text="tải PDF/A")).to_have_count(1)
        expect(rows.filter(has=archivist.get_by_role("cell", name="xem", exact=True))).to_have_count(1)
        for row in rows.all():
            expect(row).to_contain_text(READER)
            expect(row).to_contain_text(f"mã {mat}")
        check_accessibility(archivist, "nhat-ky-truy-cap")
        screenshot(archivist, "nhat-ky-truy-cap")
        # The archivist may take the original as received; a cán bộ may not (test_download_the_pdfa).
        archivist.goto(f"/tai-lieu/{mat}/")
        expect(archivist.get_by_role("link", name=re.compile("^Bản gốc nhận vào"))).to_be_visible()
    finally:
        context.close()


def test_the_api_docs_page_is_readable(tab, site):
    log_in(tab, CLEARED)
    expect(tab.get_by_role("heading", name="Tìm kiếm tài liệu")).to_be_visible()
    tab.goto("/api/docs/")
    expect(tab.get_by_role("heading", name="API cho máy", level=1)).to_be_visible()
    check_accessibility(tab, "api")
