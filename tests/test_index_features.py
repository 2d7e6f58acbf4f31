"""OCR-error tolerance, fields, filters, sorting, hits and snippets: a real index on disk,
every test run against every engine."""

from __future__ import annotations

import datetime as dt
import pathlib
import re
import unicodedata
from collections.abc import Iterator

import pytest

from index import (
    ENGINES,
    IndexedDocument,
    SearchFilters,
    SearchIndex,
    SearchOptions,
    Sort,
    open_index,
)
from index.analysis import (
    _TOKEN,
    document_type_key,
    keyword,
    normalize,
    tokenize,
    within_one_edit,
)
from index.dates import DateInputError, parse_day
from index.snippets import plain_snippet


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def index(tmp_path: pathlib.Path, engine: str) -> Iterator[SearchIndex]:
    with open_index(tmp_path / "index", engine) as opened:
        yield opened


def ids(index: SearchIndex, query: str, limit: int = 10, **options) -> list[int]:
    return [hit.doc_id for hit in index.search(query, limit, SearchOptions(**options))]


def filtered(index: SearchIndex, query: str = "", **filters) -> list[int]:
    return sorted(ids(index, query, filters=SearchFilters(**filters)))


# -- OCR-error tolerance ---------------------------------------------------------------------


def test_word_of_five_letters_matches_one_edit_away_ranked_below_exact(index: SearchIndex) -> None:
    index.add_many([
        IndexedDocument(1, "quyết định khen thưởng"),  # exact
        IndexedDocument(2, "qnyết định khen thưởng"),  # OCR: u read as n
        IndexedDocument(3, "quyêt định khen thưởng"),  # OCR: a lost tone (folded match)
        IndexedDocument(4, "qnyểt định khen thưởng"),  # n for u and the wrong tone
        IndexedDocument(5, "qnyếl định khen thưởng"),  # two letters wrong: no match
    ])
    hits = index.search("quyết định")
    assert [hit.doc_id for hit in hits][:2] == [1, 3]
    assert sorted(hit.doc_id for hit in hits) == [1, 2, 3, 4]
    scores = {hit.doc_id: hit.score for hit in hits}
    assert scores[1] > scores[3] > max(scores[2], scores[4])


@pytest.mark.parametrize(
    ("indexed", "query"),
    [
        ("nghiệm thu công trình", "nghiộm thu"),  # substitution
        ("nghiệm thu công trình", "nghiệrm thu"),  # insertion
        ("nghiệm thu công trình", "ghiệm thu"),  # deletion (of the first letter too)
        ("nghiệm thu công trình", "ngihệm thu"),  # two neighbours swapped: two edits
        ("phường Hải Cảng", "phườug"),
    ],
)
def test_one_edit_kinds(index: SearchIndex, indexed: str, query: str) -> None:
    index.add_many([IndexedDocument(1, indexed), IndexedDocument(2, "văn bản khác")])
    assert ids(index, query) == ([] if query.startswith("ngih") else [1])


def test_short_words_numbers_and_phrases_are_exact(index: SearchIndex) -> None:
    index.add_many([
        IndexedDocument(1, "bản sao y"),
        IndexedDocument(2, "công văn số 20245 ngày 3"),
        IndexedDocument(3, "quyết định khen thưởng"),
    ])
    assert ids(index, "bạn") == [1]  # folded match, fine
    assert ids(index, "bảo") == []  # four letters: "bản" is one edit away but not matched
    assert ids(index, "20246") == []  # a number one digit off is another number
    assert ids(index, '"qnyết định"') == []  # phrases match exactly (or folded), no edits
    assert ids(index, "qnyết định") == [3]


def test_fuzzy_match_in_title(index: SearchIndex) -> None:
    index.add_many([IndexedDocument(1, "nội dung", title="Kế hoạch tuyển dụng viên chức")])
    assert ids(index, "tuyểu dụng") == [1]


# -- fields and filters ----------------------------------------------------------------------


def _documents() -> list[IndexedDocument]:
    return [
        IndexedDocument(1, "hồ sơ lưu trữ", number="15/QĐ-SNV", issue_date=dt.date(2024, 12, 27),
                        doc_type="Quyết định", issuing_body="Sở Nội vụ", profile="luu-tru",
                        signature_status="signed", title="Về việc thành lập Hội đồng"),
        IndexedDocument(2, "hồ sơ lưu trữ", number="268/SGTVT-VP", issue_date=dt.date(2018, 3, 2),
                        doc_type="Công văn", issuing_body="Sở Giao thông vận tải", profile="van-ban-den",
                        signature_status="unsigned", title="V/v tăng cường sử dụng văn bản điện tử"),
        IndexedDocument(3, "hồ sơ lưu trữ", number="42/KH-BNV", issue_date=dt.date(2024, 1, 1),
                        doc_type="Kế hoạch", issuing_body="Bộ Nội vụ", profile="van-ban-di",
                        signature_status="signed"),
        IndexedDocument(4, "hồ sơ lưu trữ"),  # nothing known but the text
        IndexedDocument(5, "hồ sơ lưu trữ", number="7/QĐ-UBND", issue_date=dt.date(2024, 12, 27),
                        doc_type="QUYẾT ĐỊNH", issuing_body="UBND huyện Tuy Phước"),
    ]


def test_date_range_filter(index: SearchIndex) -> None:
    index.add_many(_documents())
    assert filtered(index, "hồ sơ", date_from=dt.date(2024, 1, 1)) == [1, 3, 5]
    assert filtered(index, "hồ sơ", date_from=dt.date(2024, 1, 2)) == [1, 5]
    assert filtered(index, "hồ sơ", date_to=dt.date(2024, 1, 1)) == [2, 3]  # inclusive; undated excluded
    assert filtered(index, "hồ sơ", date_from=dt.date(2018, 3, 2), date_to=dt.date(2018, 3, 2)) == [2]
    assert filtered(index, "hồ sơ", date_from=dt.date(2025, 1, 1)) == []


def test_type_filter_by_name_or_symbol(index: SearchIndex) -> None:
    index.add_many(_documents())
    for value in ("Quyết định", "quyet dinh", "QUYẾT ĐỊNH", "QĐ", "qd"):
        assert filtered(index, "hồ sơ", doc_type=value) == [1, 5], value
    assert filtered(index, "", doc_type="KH") == [3]
    assert filtered(index, "", doc_type="công văn") == [2]
    assert filtered(index, "", doc_type="Tờ trình") == []


def test_issuing_body_filter_matches_its_words_in_order(index: SearchIndex) -> None:
    index.add_many(_documents())
    assert filtered(index, "", issuing_body="Sở Nội vụ") == [1]
    assert filtered(index, "", issuing_body="nội vụ") == [1, 3]
    assert filtered(index, "", issuing_body="NOI VU") == [1, 3]
    assert filtered(index, "", issuing_body="vụ nội") == []
    assert filtered(index, "", issuing_body="giao thông") == [2]
    assert filtered(index, "", issuing_body="tuy phuoc") == [5]


def test_profile_signature_and_combined_filters(index: SearchIndex) -> None:
    index.add_many(_documents())
    assert filtered(index, "", profile="luu-tru") == [1]
    assert filtered(index, "", profile="Van-Ban-Di") == [3]
    assert filtered(index, "", signature_status="signed") == [1, 3]
    assert filtered(index, "", signature_status="unsigned") == [2]
    assert filtered(index, "hồ sơ", signature_status="signed", doc_type="QĐ") == [1]
    assert filtered(index, "hồ sơ", signature_status="signed", issuing_body="nội vụ",
                    date_to=dt.date(2024, 6, 30)) == [3]
    assert filtered(index, "không có", signature_status="signed") == []


def test_filters_do_not_change_scores(index: SearchIndex) -> None:
    index.add_many(_documents())
    plain = {hit.doc_id: hit.score for hit in index.search("hồ sơ")}
    kept = index.search("hồ sơ", options=SearchOptions(filters=SearchFilters(doc_type="QĐ")))
    assert {hit.doc_id: hit.score for hit in kept} == {1: plain[1], 5: plain[5]}


def test_empty_query_needs_a_filter(index: SearchIndex) -> None:
    index.add_many(_documents())
    assert index.search("") == []
    assert index.search("   ", options=SearchOptions(sort=Sort.DATE)) == []
    # A filter alone lists what meets it, newest first.
    assert ids(index, "", filters=SearchFilters(date_from=dt.date(2000, 1, 1))) == [5, 1, 3, 2]


def test_sort_by_date_newest_first_undated_last(index: SearchIndex) -> None:
    index.add_many(_documents())
    hits = index.search("hồ sơ lưu trữ", options=SearchOptions(sort=Sort.DATE))
    # Same day (1 and 5): the later document first. Undated (4) last.
    assert [hit.doc_id for hit in hits] == [5, 1, 3, 2, 4]
    assert all(hit.score == 0.0 for hit in hits)
    assert [hit.doc_id for hit in index.search("hồ sơ", 2, SearchOptions(sort=Sort.DATE))] == [5, 1]


def test_sort_by_relevance_is_the_default(index: SearchIndex) -> None:
    index.add_many([
        IndexedDocument(1, "báo cáo", issue_date=dt.date(2025, 1, 1)),
        IndexedDocument(2, "báo cáo tổng kết " + "tổng kết " * 5, issue_date=dt.date(2019, 1, 1)),
    ])
    assert ids(index, "tổng kết báo cáo") == [2]
    assert ids(index, "báo cáo") == [2, 1] or ids(index, "báo cáo") == [1, 2]
    assert ids(index, "báo cáo", sort=Sort.DATE) == [1, 2]


def test_hits_carry_the_document_fields(index: SearchIndex) -> None:
    index.add_many(_documents())
    hit = index.search("15/QĐ-SNV")[0]
    assert hit.doc_id == 1
    assert hit.number == "15/QĐ-SNV"
    assert hit.title == "Về việc thành lập Hội đồng"
    assert hit.issue_date == dt.date(2024, 12, 27)
    assert hit.doc_type == "Quyết định"
    assert hit.issuing_body == "Sở Nội vụ"
    assert (hit.profile, hit.signature_status) == ("luu-tru", "signed")
    bare = index.search("hồ sơ", 10, SearchOptions(filters=SearchFilters()))
    undated = next(h for h in bare if h.doc_id == 4)
    assert (undated.number, undated.issue_date, undated.issuing_body) == (None, None, None)


def test_issuing_body_words_are_searchable(index: SearchIndex) -> None:
    index.add_many(_documents())
    assert ids(index, "giao thông vận tải") == [2]


def test_replacing_keeps_filters_in_step(index: SearchIndex) -> None:
    index.add(IndexedDocument(1, "tờ trình", doc_type="Tờ trình", issue_date=dt.date(2020, 1, 1)))
    index.add(IndexedDocument(1, "tờ trình", doc_type="Báo cáo", issue_date=dt.date(2021, 1, 1)))
    assert filtered(index, "", doc_type="TTr") == []
    assert filtered(index, "", doc_type="BC", date_from=dt.date(2021, 1, 1)) == [1]


def test_add_many_one_commit_replaces_duplicates(index: SearchIndex) -> None:
    index.add_many([IndexedDocument(n, f"tài liệu số {n}") for n in range(1, 51)])
    index.add_many([IndexedDocument(n, f"bản mới {n}") for n in range(40, 61)])
    assert index.doc_ids() == set(range(1, 61))
    assert index.count() == 60
    assert len(index.search("bản mới", 100)) == 21
    assert len(index.search("tài liệu", 100)) == 39
    assert index.add_many([]) == 0


# -- snippets --------------------------------------------------------------------------------


def test_snippet_names_the_page_and_marks_the_words(index: SearchIndex) -> None:
    pages = (
        "UBND TỈNH QUẢNG NINH\nKẾ HOẠCH số hóa tài liệu",
        "II. NỘI DUNG\n1. Phân loại, chỉnh lý hồ sơ trước khi quét.",
        "III. TỔ CHỨC THỰC HIỆN\nPhòng Hành chính chủ trì, phối hợp với đơn vị tư vấn.",
    )
    index.add(IndexedDocument(1, "\n\n".join(pages), pages=pages))
    hit = index.search("phoi hop don vi tu van")[0]
    assert hit.snippet_page == 3
    assert "<mark>phối</mark> <mark>hợp</mark> với <mark>đơn</mark> <mark>vị</mark>" in hit.snippet
    assert "\n" not in hit.snippet
    assert index.search("chỉnh lý")[0].snippet_page == 2


def test_snippet_escapes_ocr_text(index: SearchIndex) -> None:
    text = "Giá trị <script>alert(1)</script> & số liệu < 5% và tăng trưởng > 3%"
    index.add(IndexedDocument(1, text))
    snippet = index.search("số liệu")[0].snippet
    assert "<script>" not in snippet
    assert "&lt;script&gt;" in snippet and "&amp;" in snippet and "&lt; 5%" in snippet
    # Only our own tags remain once escaped text is taken out.
    assert set(re.findall(r"<[^>]*>", snippet)) == {"<mark>", "</mark>"}
    assert plain_snippet(snippet) == "Giá trị <script>alert(1)</script> & «số» «liệu» < 5% và tăng trưởng > 3%"


def test_snippet_marks_folded_and_one_edit_matches_and_picks_the_best_passage(index: SearchIndex) -> None:
    filler = " ".join(["nội dung khác"] * 30)
    page = f"quyết {filler} Hội đồng QUYET DINH thành lập, qnyết định này {filler}"
    index.add(IndexedDocument(1, page))
    hit = index.search("quyết định")[0]
    assert hit.snippet_page == 1
    assert "<mark>QUYET</mark> <mark>DINH</mark>" in hit.snippet
    assert "<mark>qnyết</mark> <mark>định</mark>" in hit.snippet
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")


def test_snippet_without_words_and_without_snippets(index: SearchIndex) -> None:
    index.add(IndexedDocument(1, "Tờ trình về việc A & B", doc_type="Tờ trình"))
    hit = index.search("", options=SearchOptions(filters=SearchFilters(doc_type="TTr")))[0]
    assert (hit.snippet, hit.snippet_page) == ("Tờ trình về việc A &amp; B", 1)
    quiet = index.search("tờ trình", options=SearchOptions(snippets=False))[0]
    assert (quiet.snippet, quiet.snippet_page) == ("", None)


# -- the catalog record as the index sees it -----------------------------------------------------


def test_from_record_reads_the_metadata_keys() -> None:
    doc = IndexedDocument.from_record(
        12,
        {"title": "công-văn-268.pdf", "number": "268/SGTVT-VP", "issue_date": "2018-03-02",
         "doc_type": "Công văn", "issuing_body": "Sở Giao thông vận tải", "profile": "van-ban-den",
         "agency": "Lưu trữ lịch sử tỉnh"},
        ["trang một", "trang hai"], "signed",
    )
    assert doc.doc_id == 12 and doc.text == "trang một\n\ntrang hai"
    assert doc.pages == ("trang một", "trang hai")
    assert (doc.title, doc.number, doc.issue_date) == ("công-văn-268.pdf", "268/SGTVT-VP", dt.date(2018, 3, 2))
    assert (doc.doc_type, doc.issuing_body) == ("Công văn", "Sở Giao thông vận tải")
    assert (doc.profile, doc.signature_status) == ("van-ban-den", "signed")
    # A summary, once known, is the title; odd values are left out rather than fatal.
    other = IndexedDocument.from_record(
        13, {"title": "a.pdf", "summary": "V/v lịch nghỉ Tết", "issue_date": "không rõ", "number": 5}, [])
    assert (other.title, other.issue_date, other.number) == ("V/v lịch nghỉ Tết", None, None)


# -- analysis helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["Thực hiện chỉ đạo của Ủy ban nhân dân tỉnh, Sở đề nghị", "HOÀ BÌNH, thủy lợi; khỏe",
     unicodedata.normalize("NFD", "Thông tư hướng dẫn lưu trữ Quý"), "số_0001 268/SGTVT-VP x\u0301y"],
)
def test_cached_tokenize_equals_tokens_of_the_normalised_text(text: str) -> None:
    assert tokenize(text) == _TOKEN.findall(normalize(text))


def test_within_one_edit() -> None:
    assert within_one_edit("quyet", "quyet")
    assert within_one_edit("quyet", "qnyet") and not within_one_edit("quyet", "quyte")
    assert within_one_edit("quyet", "quyeet") and within_one_edit("quyet", "uyet")
    assert not within_one_edit("quyet", "qnyte") and not within_one_edit("quyet", "quy")
    assert not within_one_edit("quyet", "tuyen")


def test_keywords_and_type_symbols() -> None:
    assert keyword("  QUYẾT  ĐỊNH ") == keyword("quyet dinh") == "quyet dinh"
    assert document_type_key("QĐ") == document_type_key("qd") == keyword("Quyết định")
    assert document_type_key("CT") == keyword("Chỉ thị")
    assert document_type_key("CTr") == keyword("Chương trình")
    assert document_type_key("ĐA") == keyword("Đề án") and document_type_key("DA") == keyword("Dự án")
    assert document_type_key("Công văn") == "cong van"


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [("2024-03-02", False, dt.date(2024, 3, 2)), ("02/03/2024", False, dt.date(2024, 3, 2)),
     ("2/3/2024", True, dt.date(2024, 3, 2)), ("03/2024", False, dt.date(2024, 3, 1)),
     ("02/2024", True, dt.date(2024, 2, 29)), ("2024", False, dt.date(2024, 1, 1)),
     ("2024", True, dt.date(2024, 12, 31)), (" 2024-12 ", True, dt.date(2024, 12, 31))],
)
def test_parse_day(text: str, end: bool, expected: dt.date) -> None:
    assert parse_day(text, end=end) == expected


@pytest.mark.parametrize("text", ["", "hôm qua", "31/02/2024", "2024-13", "12/2024/1"])
def test_parse_day_rejects_with_a_vietnamese_message(text: str) -> None:
    with pytest.raises(DateInputError, match="ngày không hợp lệ"):
        parse_day(text)


def test_signature_status_from_the_audit_trail() -> None:
    from index import signature_status_of

    assert signature_status_of([]) is None
    assert signature_status_of([("received", "ok"), ("signed", "skipped")]) == "unsigned"
    assert signature_status_of([("signed", "ok"), ("indexed", "ok")]) == "signed"
    assert signature_status_of([("signature_verified", "ok")]) == "signed"
    assert signature_status_of([("signature_verified", "failed")]) == "invalid"
    # What the catalog says wins over the trail when both are known.
    doc = IndexedDocument.from_record(1, {"signature_status": "unsigned", **{"signature_status": "signed"}}, [])
    assert doc.signature_status == "signed"
