"""Search index tests: a real index on disk, no mocks, run against every engine.

Each test runs once per engine (tantivy, whoosh): both must find and rank alike.
"""

from __future__ import annotations

import pathlib
import unicodedata
from collections.abc import Iterator

import pytest

from index import ENGINES, IndexedDocument, SearchIndex, SearchIndexError, open_index
from index.analysis import fold, normalize, normalize_number, parse_query, tokenize


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def ids(index: SearchIndex, query: str, limit: int = 10) -> list[int]:
    return [hit.doc_id for hit in index.search(query, limit)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def index(tmp_path: pathlib.Path, engine: str) -> Iterator[SearchIndex]:
    with open_index(tmp_path / "index", engine) as opened:
        yield opened


def add_texts(index: SearchIndex, *texts: str) -> None:
    for doc_id, text in enumerate(texts, start=1):
        index.add(IndexedDocument(doc_id=doc_id, text=text))


# -- analysis ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old_style", "new_style"),
    [("hòa", "hoà"), ("ủy", "uỷ"), ("thủy", "thuỷ"), ("họa", "hoạ"), ("hòe", "hoè"), ("khỏe", "khoẻ")],
)
def test_normalize_unifies_tone_placement(old_style: str, new_style: str) -> None:
    assert normalize(old_style) == normalize(new_style)
    assert normalize(old_style.upper()) == normalize(new_style)
    assert normalize(nfd(old_style)) == normalize(new_style)


@pytest.mark.parametrize("word", ["hoàng", "quyết", "thuyền", "ngoài", "quý", "khuya"])
def test_normalize_leaves_closed_syllables_alone(word: str) -> None:
    assert normalize(word) == word
    assert normalize(nfd(word)) == word


def test_normalize_output_is_nfc_lowercase() -> None:
    result = normalize(nfd("THÔNG TƯ Hướng Dẫn"))
    assert result == "thông tư hướng dẫn"
    assert unicodedata.is_normalized("NFC", result)


def test_fold_removes_diacritics_and_d_stroke() -> None:
    assert fold("Đề nghị ĐƯỜNG Thuỷ") == "de nghi duong thuy"
    assert fold(nfd("Cộng hòa")) == "cong hoa"


def test_tokenize_splits_on_non_alphanumerics_including_underscore() -> None:
    assert tokenize("Số: 268/SGTVT-VP, scan_0001.pdf") == [
        "số", "268", "sgtvt", "vp", "scan", "0001", "pdf",
    ]
    # An NFD word must stay one token (NFD "thông" would otherwise split at the marks).
    assert tokenize(nfd("thông tư")) == ["thông", "tư"]


def test_parse_query_phrases_and_unbalanced_quote() -> None:
    parsed = parse_query('quyết định "văn bản điện tử" "ký số')
    assert parsed.clauses == (
        ("quyết",), ("định",), ("văn", "bản", "điện", "tử"), ("ký", "số"),
    )
    assert normalize_number("  268/sgtvt-vp ") == "268/SGTVT-VP"


# -- searching -----------------------------------------------------------------------------


def test_query_with_and_without_diacritics_both_find(index: SearchIndex) -> None:
    add_texts(index, "Quy định về văn bản điện tử của cơ quan", "Báo cáo tài chính năm 2023")
    assert ids(index, "văn bản điện tử") == [1]
    assert ids(index, "van ban dien tu") == [1]
    assert ids(index, "VĂN BẢN") == [1]


def test_all_words_must_match(index: SearchIndex) -> None:
    add_texts(index, "văn bản điện tử", "văn bản giấy")
    assert ids(index, "văn bản điện tử") == [1]
    assert sorted(ids(index, "văn bản")) == [1, 2]


def test_exact_match_ranks_above_folded_only(index: SearchIndex) -> None:
    # Doc 1 only matches after folding; doc 2 has the exact words.
    add_texts(index, "vân bàn điền tứ", "văn bản điện tử")
    hits = index.search("văn bản điện tử")
    assert [hit.doc_id for hit in hits] == [2, 1]
    assert hits[0].score > hits[1].score


@pytest.mark.parametrize(
    ("indexed", "query", "decoy"),
    [("hoà bình", "hòa bình", "hóa bình"), ("hòa bình", "hoà bình", "hóa bình"),
     ("thuỷ lợi", "thủy lợi", "thúy lợi"), ("thủy lợi", "thuỷ lợi", "thúy lợi"),
     ("Uỷ ban nhân dân", "ủy ban", "úy ban nhân dân"), ("sức khỏe", "sức khoẻ", "sức khóe")],
)
def test_tone_placement_variants_match_exactly(
    index: SearchIndex, indexed: str, query: str, decoy: str
) -> None:
    # The decoy differs from the document only in the tone of one word, so both match after
    # folding; only tone-normalised exact matching can rank the real document first.
    add_texts(index, decoy, indexed)
    hits = index.search(query)
    assert [hit.doc_id for hit in hits] == [2, 1]
    assert hits[0].score > hits[1].score


def test_nfd_text_and_nfd_query(index: SearchIndex) -> None:
    add_texts(index, nfd("Thông tư hướng dẫn lưu trữ"), "Thông tư về thuế", "thong tu")
    expected = index.search("thông tư hướng dẫn")
    assert [hit.doc_id for hit in expected] == [1]
    assert index.search(nfd("thông tư hướng dẫn")) == expected
    # NFD text indexed as exact words: it outranks the folded-only "thong tu".
    assert ids(index, nfd("thông tư"))[-1] == 3
    assert sorted(ids(index, nfd("thông tư"))) == [1, 2, 3]


def test_d_stroke_folds_to_d(index: SearchIndex) -> None:
    add_texts(index, "Tờ trình đề nghị phê duyệt", "Báo cáo")
    assert ids(index, "de nghi") == [1]
    assert ids(index, "ĐỀ NGHỊ") == [1]


def test_phrase_matches_only_adjacent_words(index: SearchIndex) -> None:
    add_texts(index, "hệ thống văn bản điện tử mới", "văn phòng điện tử và bản sao")
    assert sorted(ids(index, "văn bản điện tử")) == [1, 2]
    assert ids(index, '"văn bản điện tử"') == [1]
    assert ids(index, '"van ban dien tu"') == [1]
    assert ids(index, '"điện tử văn bản"') == []
    assert ids(index, '"văn bản điện') == [1]  # unbalanced quote closes at the end


def test_number_exact_match_ranks_first(index: SearchIndex) -> None:
    # Doc 1 repeats the number's parts many times; doc 2 has the number itself.
    index.add(IndexedDocument(1, "Trả lời công văn 268 SGTVT VP. " * 20 + "268/SGTVT-VP"))
    index.add(IndexedDocument(2, "Về việc bàn giao hồ sơ", number="268/SGTVT-VP"))
    index.add(IndexedDocument(3, "Nghị định quy định về công tác văn thư", number="30/2020/NĐ-CP"))
    for query in ("268/SGTVT-VP", "268/sgtvt-vp", "  268/SGTVT-VP  "):
        assert ids(index, query)[0] == 2
    assert ids(index, "30/2020/nđ-cp") == [3]
    assert ids(index, nfd("30/2020/NĐ-CP")) == [3]


def test_number_parts_are_ordinary_tokens(index: SearchIndex) -> None:
    index.add(IndexedDocument(1, "Về việc bàn giao hồ sơ", number="268/SGTVT-VP"))
    index.add(IndexedDocument(2, "Báo cáo", number="30/2020/NĐ-CP"))
    assert ids(index, "sgtvt") == [1]
    assert ids(index, "268") == [1]
    assert ids(index, "nd cp") == [2]
    assert ids(index, "2020 nđ") == [2]


def test_title_is_searchable_and_ranks_above_body(index: SearchIndex) -> None:
    index.add(IndexedDocument(1, "nội dung có nhắc đến kế hoạch", title="Báo cáo tổng kết"))
    index.add(IndexedDocument(2, "nội dung khác", title="Kế hoạch năm 2024"))
    assert ids(index, "tổng kết") == [1]
    assert ids(index, "kế hoạch") == [2, 1]


def test_phrase_does_not_span_title_and_number(index: SearchIndex) -> None:
    index.add(IndexedDocument(1, "nội dung", number="12/UBND-VP", title="Báo cáo"))
    assert ids(index, '"báo cáo"') == [1]
    assert ids(index, '"ubnd vp"') == [1]
    assert ids(index, '"cáo 12"') == []


def test_results_sorted_and_limited(index: SearchIndex) -> None:
    add_texts(index, *[f"hồ sơ lưu trữ số {n} " + "lưu trữ " * n for n in range(1, 6)])
    hits = index.search("lưu trữ", limit=3)
    assert len(hits) == 3
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert index.search("lưu trữ", limit=0) == []
    assert len(index.search("lưu trữ", limit=100)) == 5


@pytest.mark.parametrize(
    "query",
    ['(', ')', '"', '""', ':', '<', '>', '&', '&&', '||', '*', '?', '~', '^2', '\\', '[1 TO 2]',
     '{', 'text:', '-', '+', '!', "'", 'AND', 'văn:', '"văn', 'văn"', '(văn bản', 'văn_bản'],
)
def test_special_characters_never_raise(index: SearchIndex, query: str) -> None:
    add_texts(index, "văn bản and other words")
    result = index.search(query)
    expected = [1] if any(token in ("văn", "bản", "and") for token in tokenize(query)) else []
    assert [hit.doc_id for hit in result] == expected


def test_field_syntax_is_plain_text(index: SearchIndex) -> None:
    add_texts(index, "văn bản", "text")
    # To tantivy's query parser this would be a query on field "text"; here it is two words.
    assert ids(index, "text:văn") == []
    assert ids(index, "văn:bản") == [1]


@pytest.mark.parametrize("query", ["", "   ", "!!!", "“”", "- / ."])
def test_empty_query_returns_nothing(index: SearchIndex, query: str) -> None:
    add_texts(index, "văn bản")
    assert index.search(query) == []


# -- writing and lifecycle -----------------------------------------------------------------


def test_replace_same_doc_id_leaves_one_copy(index: SearchIndex) -> None:
    index.add(IndexedDocument(7, "bản nháp cũ"))
    index.add(IndexedDocument(7, "bản chính thức mới"))
    assert index.doc_ids() == {7}
    assert ids(index, "bản") == [7]
    assert ids(index, "nháp") == []
    assert ids(index, "chính thức") == [7]


def test_delete(index: SearchIndex) -> None:
    add_texts(index, "quyết định bổ nhiệm", "quyết định khen thưởng")
    index.delete(1)
    assert ids(index, "quyết định") == [2]
    assert index.doc_ids() == {2}
    index.delete(12345)  # absent: no error, nothing else removed
    assert index.doc_ids() == {2}


def test_doc_ids(index: SearchIndex) -> None:
    assert index.doc_ids() == set()
    for doc_id in (3, 10, 42):
        index.add(IndexedDocument(doc_id, f"tài liệu {doc_id}"))
    assert index.doc_ids() == {3, 10, 42}


def test_reopen_after_close_is_durable(tmp_path: pathlib.Path, engine: str) -> None:
    directory = tmp_path / "nested" / "index"
    with open_index(directory, engine) as first:
        first.add(IndexedDocument(1, "Công văn về việc lưu trữ", number="12/UBND-VP"))
        first.add(IndexedDocument(2, "Tờ trình"))
        first.delete(2)
    assert directory.is_dir()
    with open_index(directory, engine) as reopened:
        assert reopened.doc_ids() == {1}
        assert ids(reopened, "luu tru") == [1]
        assert ids(reopened, "12/ubnd-vp") == [1]
        reopened.add(IndexedDocument(3, "lưu trữ lần hai"))  # write lock was released
        assert reopened.doc_ids() == {1, 3}


def test_closed_index_raises(tmp_path: pathlib.Path, engine: str) -> None:
    opened = open_index(tmp_path / "index", engine)
    opened.close()
    opened.close()  # idempotent
    with pytest.raises(SearchIndexError):
        opened.search("văn bản")
    with pytest.raises(SearchIndexError):
        opened.add(IndexedDocument(1, "văn bản"))


def test_second_writer_gets_clear_error(tmp_path: pathlib.Path, engine: str) -> None:
    with open_index(tmp_path / "index", engine) as first, open_index(tmp_path / "index", engine) as second:
        with first.writing():
            first.add(IndexedDocument(1, "văn bản"))
            assert ids(second, "văn bản") == [1]  # reading needs no lock and sees the commit
            with pytest.raises(SearchIndexError, match="locked"):
                with second.writing(wait_seconds=0.2):
                    second.add(IndexedDocument(2, "văn bản"))
        second.add(IndexedDocument(2, "văn bản"))  # the writer was let go with the block
        assert sorted(ids(first, "văn bản")) == [1, 2]


def test_unknown_engine(tmp_path: pathlib.Path) -> None:
    with pytest.raises(SearchIndexError, match="lucene"):
        open_index(tmp_path / "index", engine="lucene")


def test_not_a_directory_raises_search_index_error(tmp_path: pathlib.Path, engine: str) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("x")
    with pytest.raises(SearchIndexError):
        open_index(not_a_directory, engine)
