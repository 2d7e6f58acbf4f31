"""The search page (/): for each role × each clearance, a document is in the result list,
the count, the facet counts and the snippets only when the user's clearance is at least its
level; nothing of a secret document leaks through a count, a facet or a snippet; Vietnamese
without diacritics and document numbers find; pagination; the htmx partial; the URL holds
the query."""

from __future__ import annotations

import itertools
import re

import pytest

from core.confidentiality import Level
from core.roles import Role
from core.text import fold
from tests.web_support import make_user, use_web_home, web_archive  # noqa: F401

# Words each document alone holds, and one all four hold (the national motto in the header).
OWN_WORDS = {Level.THUONG: "hạ long", Level.MAT: "điện tử", Level.TOI_MAT: "hội đồng", Level.TUYET_MAT: "bính ngọ"}
NUMBERS = {Level.THUONG: "42/KH-BQLV", Level.MAT: "268/SGTVT-VP", Level.TOI_MAT: "15/QĐ-SNV",
           Level.TUYET_MAT: "05/TB-SYT"}
# What the header says of each: a search result shows it; it must never show where not allowed.
AGENCIES = {Level.THUONG: "BAN QUẢN LÝ VỊNH HẠ LONG", Level.MAT: "SỞ GIAO THÔNG VẬN TẢI",
            Level.TOI_MAT: "SỞ NỘI VỤ", Level.TUYET_MAT: "SỞ Y TẾ"}
TYPES = {Level.THUONG: "Kế hoạch", Level.MAT: "Công văn", Level.TOI_MAT: "Quyết định", Level.TUYET_MAT: "Thông báo"}
YEARS = {Level.THUONG: "2026", Level.MAT: "2018", Level.TOI_MAT: "2024", Level.TUYET_MAT: "2026"}
ALL_OF_THEM = "độc lập"
SEARCHERS = (Role.CAN_BO, Role.LUU_TRU, Role.QUAN_TRI)
_names = itertools.count()


@pytest.fixture(autouse=True)
def _home(web_archive):  # noqa: F811
    from django.conf import settings

    if getattr(settings, "SOHOA_HOME", None) != web_archive.home.resolve():
        use_web_home(web_archive.home)


def logged_in(role: Role | None, clearance: Level = Level.THUONG):
    from django.test import Client

    user = make_user(f"tim-{role.value if role else 'none'}-{int(clearance)}-{next(_names)}", role, clearance)
    client = Client()
    client.force_login(user)
    return client


def result_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="result" data-id="(\d+)"', html)]


def total(html: str) -> int:
    found = re.search(r'id="so-ket-qua"[^>]*>\s*Tìm thấy <strong>(\d+)</strong>', html)
    return int(found.group(1)) if found else 0


def facet_counts(html: str) -> dict[str, dict[str, int]]:
    """facet -> {value shown: count} as the page shows them."""
    counts: dict[str, dict[str, int]] = {}
    for name, body in re.findall(r'data-facet="(\w+)">(.*?)</ul>', html, re.S):
        counts[name] = {value: int(count) for value, count in
                        re.findall(r'>([^<>]+)</a> <span class="count" data-count="(\d+)"', body)}
    return counts


def search(client, **params) -> str:
    response = client.get("/", params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.mark.parametrize("clearance", list(Level), ids=lambda level: level.slug)
@pytest.mark.parametrize("role", SEARCHERS, ids=lambda role: role.value)
def test_each_document_is_listed_counted_and_faceted_only_up_to_the_clearance(web_archive, role, clearance):  # noqa: F811
    client = logged_in(role, clearance)
    allowed = {web_archive.ids[level] for level in Level if level <= clearance}
    # the word every document holds: the list, the total and every facet count agree
    html = search(client, q=ALL_OF_THEM)
    assert set(result_ids(html)) == allowed
    assert total(html) == len(allowed)
    facets = facet_counts(html)
    assert sum(facets["type"].values()) == len(allowed)
    assert sum(facets["agency"].values()) == len(allowed)
    assert sum(facets["year"].values()) == len(allowed)
    for level in Level:
        shown = level <= clearance
        assert (AGENCIES[level] in facets["agency"]) is shown, (level, facets)
        assert (TYPES[level] in facets["type"]) is shown, (level, facets)
        # its own word: found by those cleared, nothing at all for the others
        own = search(client, q=OWN_WORDS[level])
        if shown:
            assert result_ids(own) == [web_archive.ids[level]]
            assert total(own) == 1
            assert "<mark>" in own.split('id="ket-qua"')[1]  # its snippet, with the hit marked
        else:
            assert result_ids(own) == [] and total(own) == 0
            assert "Không tìm thấy tài liệu nào" in own
            assert facet_counts(own) == {}
            assert "<mark>" not in own
            assert NUMBERS[level] not in own and AGENCIES[level] not in own
        # a filter alone (its issuing body) finds it for the cleared only
        by_agency = search(client, agency=AGENCIES[level])
        assert result_ids(by_agency) == ([web_archive.ids[level]] if shown else [])


@pytest.mark.parametrize("clearance", [Level.THUONG, Level.TOI_MAT], ids=lambda level: level.slug)
def test_nothing_of_the_secret_document_leaks_to_a_user_below_its_level(web_archive, clearance):  # noqa: F811
    """A word only the tuyệt mật document has, asked every way: no hit, no count, no facet,
    no snippet, not a single word of it anywhere in the page or the partial."""
    client = logged_in(Role.QUAN_TRI, clearance)
    secret_words = ("Bính", "Ngọ", "05/TB-SYT", "SỞ Y TẾ", "THANH HÓA", "Nguyên đán", "Thông báo")
    for params in ({"q": "bính ngọ"}, {"q": "binh ngo"}, {"q": "05/TB-SYT"}, {"q": "bính ngọ", "sort": "date"},
                   {"agency": "SỞ Y TẾ"}, {"type": "Thông báo"}, {"q": ALL_OF_THEM, "agency": "y tế"}):
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            html = client.get("/", params, **headers).content.decode()
            assert result_ids(html) == [] and total(html) == 0, params
            if "q" in params and "agency" not in params:
                assert 'class="count"' not in html, params
            # facets are counted under every filter but their own: the other documents'
            # values may show, never the secret one's, and never more than are visible
            for counts in facet_counts(html).values():
                assert sum(counts.values()) <= sum(level <= clearance for level in Level), (params, counts)
            for word in secret_words:
                # the query itself is echoed back; anything else of the document is a leak
                if word.casefold() in " ".join(str(v) for v in params.values()).casefold():
                    continue
                assert word not in html, (params, word)


@pytest.mark.parametrize("role", [Role.VAN_THU, None], ids=["van-thu", "no-profile"])
def test_below_can_bo_the_search_page_is_refused(web_archive, role):  # noqa: F811
    client = logged_in(role, Level.TUYET_MAT)
    for params in ({}, {"q": ALL_OF_THEM}, {"q": "bính ngọ"}):
        response = client.get("/", params)
        assert response.status_code == 403
        assert "bính" not in response.content.decode().lower()


def test_anonymous_users_are_sent_to_the_login_page_with_the_query_kept(web_archive):  # noqa: F811
    from django.test import Client

    response = Client().get("/", {"q": "điện tử"})
    assert response.status_code == 302
    assert response["Location"].startswith("/dang-nhap/?next=/")
    assert "q%3D" in response["Location"]  # the search comes back after logging in


@pytest.mark.parametrize("query,level", [
    ("ha long", Level.THUONG), ("dien tu", Level.MAT), ("HOI DONG", Level.TOI_MAT), ("binh ngo", Level.TUYET_MAT),
])
def test_words_without_diacritics_find_the_document(web_archive, query, level):  # noqa: F811
    html = search(logged_in(Role.CAN_BO, Level.TUYET_MAT), q=query)
    assert result_ids(html) == [web_archive.ids[level]]
    assert "<mark>" in html


@pytest.mark.parametrize("level", list(Level), ids=lambda level: level.slug)
def test_a_document_number_finds_its_document_first(web_archive, level):  # noqa: F811
    client = logged_in(Role.CAN_BO, Level.TUYET_MAT)
    html = search(client, q=NUMBERS[level])
    assert result_ids(html)[0] == web_archive.ids[level]
    assert f"<strong>{NUMBERS[level]}</strong>" in html  # số ký hiệu shown in the result
    folded = search(client, q=NUMBERS[level].replace("Đ", "D").lower())
    assert result_ids(folded)[0] == web_archive.ids[level]


def test_a_result_shows_title_number_date_agency_and_a_snippet_with_its_page(web_archive):  # noqa: F811
    html = search(logged_in(Role.CAN_BO, Level.MAT), q="điện tử")
    item = html.split(f'data-id="{web_archive.ids[Level.MAT]}"')[1].split("</li>")[0]
    assert "văn bản điện tử" in item  # trích yếu
    assert "268/SGTVT-VP" in item and "02/03/2018" in item and "SỞ GIAO THÔNG VẬN TẢI" in item
    marked = re.findall(r"<mark>([^<]+)</mark>", item)
    assert marked and {fold(word) for word in marked} <= {"dien", "tu"}, marked
    assert re.search(r'\(<a href="/tai-lieu/\d+/\?q=[^"]*#trang-1"[^>]*>trang 1</a>\)', item)  # the snippet's page
    assert f'href="/tai-lieu/{web_archive.ids[Level.MAT]}/?q=' in item  # the page draws the hits
    # the snippet's own text is escaped; only the index's <mark> passes as HTML
    snippet = item.split('class="snippet">')[1].split(' <span class="page-ref">')[0]
    assert "<" not in re.sub(r"</?mark>", "", snippet)


def test_filters_and_facets_narrow_and_their_links_keep_the_query(web_archive):  # noqa: F811
    client = logged_in(Role.LUU_TRU, Level.TUYET_MAT)
    html = search(client, q=ALL_OF_THEM, year="2026")
    assert set(result_ids(html)) == {web_archive.ids[Level.THUONG], web_archive.ids[Level.TUYET_MAT]}
    # the year facet ignores the year chosen: the other years stay there to switch to
    assert facet_counts(html)["year"] == {"2026": 2, "2024": 1, "2018": 1}
    assert facet_counts(html)["type"] == {"Kế hoạch": 1, "Thông báo": 1}
    assert 'aria-current="true" class="selected">2026</a>' in html
    assert "Đang lọc" in html
    # the facet link for a type keeps the words and the year, and narrows to one
    link = re.search(r'href="([^"]*type=Th%C3%B4ng[^"]*)"', html).group(1).replace("&amp;", "&")
    assert "q=" in link and "year=2026" in link
    narrowed = client.get(link).content.decode()
    assert result_ids(narrowed) == [web_archive.ids[Level.TUYET_MAT]]
    # signature status and type by symbol
    assert set(result_ids(search(client, q=ALL_OF_THEM, type="QĐ"))) == {web_archive.ids[Level.TOI_MAT]}
    bad = search(client, q=ALL_OF_THEM, year="hai nghìn")
    assert "Năm «hai nghìn» không hợp lệ" in bad and total(bad) == 4
    assert "Trạng thái chữ ký «xyz» không có" in search(client, q=ALL_OF_THEM, signature="xyz")


def test_sort_by_date_puts_the_newest_first(web_archive):  # noqa: F811
    html = search(logged_in(Role.CAN_BO, Level.TUYET_MAT), q=ALL_OF_THEM, sort="date")
    ids = result_ids(html)
    assert ids[-1] == web_archive.ids[Level.MAT]  # 2018, the oldest
    assert ids.index(web_archive.ids[Level.TUYET_MAT]) < ids.index(web_archive.ids[Level.TOI_MAT])
    assert '<strong aria-current="true">mới nhất</strong>' in html


def test_pagination_walks_every_result_once(web_archive, monkeypatch):  # noqa: F811
    import web.search

    monkeypatch.setattr(web.search, "PER_PAGE", 1)
    client = logged_in(Role.CAN_BO, Level.TUYET_MAT)
    seen = []
    for page in range(1, 5):
        html = search(client, q=ALL_OF_THEM, page=str(page))
        assert total(html) == 4
        assert len(result_ids(html)) == 1
        seen += result_ids(html)
        assert f'<strong aria-current="page">{page}</strong>' in html
        assert ('rel="next"' in html) is (page < 4) and ('rel="prev"' in html) is (page > 1)
    assert sorted(seen) == sorted(web_archive.ids.values())
    # past the end: nothing shown, the total still said; nonsense pages read as the first
    assert result_ids(search(client, q=ALL_OF_THEM, page="9")) == []
    assert result_ids(search(client, q=ALL_OF_THEM, page="abc")) == result_ids(search(client, q=ALL_OF_THEM))


def test_pages_are_twenty_results_long():
    import web.search

    assert web.search.PER_PAGE == 20


def test_the_url_holds_the_whole_query(web_archive):  # noqa: F811
    from web.search import SearchParams

    params = SearchParams.from_mapping({"q": "điện tử", "type": "Công văn", "year": "2018", "sort": "date",
                                        "page": "2"})
    url = params.url(page=2)
    assert url.startswith("/?") and "sort=date" in url and "page=2" in url and "year=2018" in url
    client = logged_in(Role.CAN_BO, Level.MAT)
    html = client.get(params.url()).content.decode()
    assert result_ids(html) == [web_archive.ids[Level.MAT]]
    # the form is a GET form whose box holds the words, its filters kept as hidden fields
    assert 'method="get"' in html and '<input type="search" name="q" id="q" value="điện tử"' in html
    assert '<label for="q">' in html
    assert '<input type="hidden" name="type" value="Công văn">' in html


def test_htmx_gets_the_results_region_only_and_the_page_works_without_it(web_archive):  # noqa: F811
    client = logged_in(Role.CAN_BO, Level.MAT)
    full = client.get("/", {"q": "điện tử"})
    partial = client.get("/", {"q": "điện tử"}, HTTP_HX_REQUEST="true")
    for response in (full, partial):
        assert response.status_code == 200
        assert "HX-Request" in response["Vary"]
        assert result_ids(response.content.decode()) == [web_archive.ids[Level.MAT]]
    full_html, partial_html = full.content.decode(), partial.content.decode()
    assert "<html" in full_html and 'hx-target="#vung-ket-qua"' in full_html and 'hx-push-url="true"' in full_html
    assert "<html" not in partial_html and "<form" not in partial_html
    assert 'id="ket-qua"' in partial_html
    assert 'hx-swap-oob="true"' in partial_html  # the form's hidden filters follow the region
    assert re.search(r'<input type="search" name="q" id="q" value="điện tử"[^>]*hx-swap-oob="true"', partial_html)
    # a history restore after a cache miss wants the whole page
    restored = client.get("/", {"q": "điện tử"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in restored.content.decode()


def test_no_inline_script_or_style_on_the_search_page(web_archive):  # noqa: F811
    html = search(logged_in(Role.CAN_BO, Level.TUYET_MAT), q=ALL_OF_THEM)
    assert "style=" not in html and "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers


def test_an_empty_search_asks_for_words(web_archive):  # noqa: F811
    html = search(logged_in(Role.CAN_BO, Level.TUYET_MAT))
    assert result_ids(html) == [] and 'id="so-ket-qua"' not in html
    assert "Nhập từ khóa" in html


def test_the_catalog_has_the_last_word_on_what_is_shown(web_archive):  # noqa: F811
    """A withdrawn document, or one whose level the catalog raised while its index entry
    waits: never listed, and not counted, even before the index is told."""
    from core.models import Document

    client = logged_in(Role.CAN_BO, Level.MAT)
    withdrawn, raised = web_archive.ids[Level.THUONG], web_archive.ids[Level.MAT]
    try:
        Document.objects.filter(pk=withdrawn).update(withdrawn_at="2026-01-01T00:00:00+07:00")
        Document.objects.filter(pk=raised).update(confidentiality=int(Level.TUYET_MAT))
        html = search(client, q=ALL_OF_THEM)
        assert result_ids(html) == [] and total(html) == 0
        assert result_ids(search(client, q="điện tử")) == []
    finally:
        Document.objects.filter(pk=withdrawn).update(withdrawn_at=None)
        Document.objects.filter(pk=raised).update(confidentiality=int(Level.MAT))
    assert set(result_ids(search(client, q=ALL_OF_THEM))) == {withdrawn, raised}
