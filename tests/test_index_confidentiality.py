"""Confidentiality, pages and facets in the search index (issue 15, points 3 and 4): a real
index on disk, every test run against every engine.

A reader's clearance (SearchFilters.max_confidentiality) is part of the engine's query, so
a document above it gives no hit, no count, no facet and no snippet; pages are exact slices
of one ranking; facet counts are the counts a search with that filter finds; an index
written before levels existed is never searched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import pathlib
from collections.abc import Iterator

import pytest
import tantivy
from whoosh import index as whoosh_index

from core.confidentiality import Level
from index import (
    ENGINES,
    SCHEMA_VERSION,
    DocumentSource,
    IndexedDocument,
    SearchFilters,
    SearchIndex,
    SearchIndexError,
    SearchOptions,
    Sort,
    check_index,
    index_entry,
    open_index,
    rebuild_index,
)
from index.records import confidentiality_level
from index.store import CURRENT, engine_class

# One word only the documents of each level hold; far apart, so that no OCR-error tolerance
# (one edit) takes one for another.
SECRET_WORD = {Level.THUONG: "hoaphuong", Level.MAT: "kimcuong", Level.TOI_MAT: "longvuong",
               Level.TUYET_MAT: "xamxitvn"}
# Facet values only the documents of one level have: above a reader's level they must not
# appear at all, not even with a count of 0.
OWN_TYPE = {Level.THUONG: "Công văn", Level.MAT: "Quyết định", Level.TOI_MAT: "Tờ trình", Level.TUYET_MAT: "Chỉ thị"}
OWN_BODY = {Level.THUONG: "Sở Nội vụ", Level.MAT: "Sở Tài chính", Level.TOI_MAT: "Công an tỉnh",
            Level.TUYET_MAT: "Cục Cơ yếu"}
OWN_YEAR = {Level.THUONG: 2021, Level.MAT: 2022, Level.TOI_MAT: 2023, Level.TUYET_MAT: 1999}
OWN_PROFILE = {Level.THUONG: "cong-van-den", Level.MAT: "mat", Level.TOI_MAT: "toi-mat", Level.TUYET_MAT: "co-yeu"}
OWN_SIGNATURE = {Level.THUONG: "signed", Level.MAT: "unsigned", Level.TOI_MAT: "unsigned", Level.TUYET_MAT: "invalid"}
PER_LEVEL = 9
CLEARANCES = (None, -1, *Level)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


def level_of(doc_id: int) -> Level:
    return Level((doc_id - 1) // PER_LEVEL)


def corpus() -> list[IndexedDocument]:
    """PER_LEVEL documents per level, all about "báo cáo", with texts of different lengths
    (different scores) and some of equal ones (ties), some undated, some with a shared type."""
    docs = []
    for doc_id in range(1, 4 * PER_LEVEL + 1):
        level, k = level_of(doc_id), (doc_id - 1) % PER_LEVEL
        text = (f"báo cáo tình hình {SECRET_WORD[level]} " + "công tác năm " * (k % 4)
                + ("quyết định khen thưởng" if k % 3 == 0 else "qnyết định khen thưởng"))
        docs.append(IndexedDocument(
            doc_id=doc_id,
            text=text,
            title=f"Báo cáo số {doc_id}",
            number=f"{doc_id}/BC-UBND",
            # every third one has the type all levels share, to test merged counts
            doc_type="Báo cáo" if k % 3 == 2 else OWN_TYPE[level],
            issuing_body=OWN_BODY[level],
            issue_date=dt.date(OWN_YEAR[level], 1 + k, 10) if k != 4 else None,
            profile=OWN_PROFILE[level],
            signature_status=OWN_SIGNATURE[level],
            confidentiality=int(level),
            pages=(text[: len(text) // 2], text[len(text) // 2:]),
        ))
    return docs


@pytest.fixture
def index(tmp_path: pathlib.Path, engine: str) -> Iterator[SearchIndex]:
    with open_index(tmp_path / "index", engine) as opened:
        opened.add_many(corpus())
        yield opened


def cleared(clearance: int | None, **filters) -> SearchOptions:
    return SearchOptions(filters=SearchFilters(max_confidentiality=clearance, **filters))


def visible(doc_id: int, clearance: int | None) -> bool:
    return clearance is None or level_of(doc_id) <= clearance


# -- the level a record's mark means ---------------------------------------------------------


@pytest.mark.parametrize(("mark", "level"), [
    (None, Level.THUONG), ("", Level.THUONG), ("  ", Level.THUONG), ("thường", Level.THUONG),
    ("MẬT", Level.MAT), ("mật", Level.MAT), ("TỐI MẬT", Level.TOI_MAT), ("tối-mật", Level.TOI_MAT),
    ("Tuyet mat", Level.TUYET_MAT), ("TUYỆT MẬT", Level.TUYET_MAT), (2, Level.TOI_MAT),
    # marks we cannot read: never below mật, and the highest level they name
    ("MẬT.", Level.MAT), ("bí mật nhà nước", Level.MAT), ("XEM XONG TRẢ LẠI", Level.MAT),
    ("ĐỘ MẬT: TỐI MẬT", Level.TOI_MAT), ("tối mật, tuyệt mật", Level.TUYET_MAT), (9, Level.TUYET_MAT),
])
def test_a_mark_means_its_level_and_an_unreadable_one_never_less_than_mat(mark, level) -> None:
    assert confidentiality_level(mark) == level
    entry = IndexedDocument.from_record(1, {"confidentiality": mark} if mark is not None else {}, ["văn bản"])
    assert entry.confidentiality == level and type(entry.confidentiality) is int


def test_index_entry_takes_the_level_of_the_record(tmp_path: pathlib.Path, engine: str) -> None:
    with open_index(tmp_path / "index", engine) as index:
        index.add_many([index_entry(1, {"confidentiality": "TỐI MẬT", "summary": "Về việc xamxitvn"}, ["xamxitvn"], []),
                        index_entry(2, {"summary": "Về việc xamxitvn"}, ["xamxitvn"], [])])
        assert [hit.doc_id for hit in index.search("xamxitvn", 10, cleared(Level.MAT))] == [2]
        assert {hit.doc_id: hit.confidentiality for hit in index.search("xamxitvn", 10)} == {1: 2, 2: 0}


# -- no hit, count, facet or snippet above the reader's level ---------------------------------


@pytest.mark.parametrize("clearance", CLEARANCES)
def test_nothing_above_the_clearance_is_found_counted_or_shown(index: SearchIndex, clearance) -> None:
    options = cleared(clearance)
    for level, word in SECRET_WORD.items():
        hits = index.search(word, 100, options)
        allowed = clearance is None or level <= clearance
        assert [hit.doc_id for hit in hits] == ([hit.doc_id for hit in index.search(word, 100)] if allowed else [])
        assert len(hits) == (PER_LEVEL if allowed else 0)
        assert index.count_matches(word, options) == len(hits)
        facets = index.facets(word, options)
        assert (sum(facets["profile"].values()) == PER_LEVEL) if allowed else facets == {
            "doc_type": {}, "issuing_body": {}, "year": {}, "profile": {}, "signature_status": {}}

    hits = index.search("báo cáo", 100, options)
    expected = [doc_id for doc_id in range(1, 4 * PER_LEVEL + 1) if visible(doc_id, clearance)]
    assert sorted(hit.doc_id for hit in hits) == expected
    assert index.count_matches("báo cáo", options) == len(expected)
    for hit in hits:
        assert clearance is None or hit.confidentiality <= clearance
        assert "<mark>" in hit.snippet
        # a snippet comes from the hit's own text, never from a document above the level
        for level, word in SECRET_WORD.items():
            assert level == level_of(hit.doc_id) or word[:4] not in hit.snippet

    facets = index.facets("báo cáo", options)
    for level in Level:
        allowed = clearance is None or level <= clearance
        assert (OWN_TYPE[level] in facets["doc_type"]) == allowed
        assert (OWN_BODY[level] in facets["issuing_body"]) == allowed
        assert (str(OWN_YEAR[level]) in facets["year"]) == allowed
        assert (OWN_PROFILE[level] in facets["profile"]) == allowed
    assert sum(facets["profile"].values()) == len(expected)
    assert (OWN_SIGNATURE[Level.TUYET_MAT] in facets["signature_status"]) == (clearance in (None, Level.TUYET_MAT))


@pytest.mark.parametrize("clearance", [Level.THUONG, Level.TOI_MAT])
def test_filters_number_search_and_listings_keep_the_clearance(index: SearchIndex, clearance) -> None:
    secret = 4 * PER_LEVEL  # tuyệt mật
    assert index.search(f"{secret}/BC-UBND", 10, cleared(clearance)) == []
    assert index.count_matches(f"{secret}/BC-UBND", cleared(clearance)) == 0
    # a filter-only listing (no words) and a filter naming the secret documents' own values
    listing = index.search("", 100, cleared(clearance, doc_type="Báo cáo"))
    assert listing and all(visible(hit.doc_id, clearance) for hit in listing)
    for own, secret, filters in (
        ("issuing_body", OWN_BODY[Level.TUYET_MAT], {"issuing_body": OWN_BODY[Level.TUYET_MAT]}),
        ("profile", OWN_PROFILE[Level.TUYET_MAT], {"profile": OWN_PROFILE[Level.TUYET_MAT]}),
        ("year", "1999", {"date_from": dt.date(1999, 1, 1), "date_to": dt.date(1999, 12, 31)}),
    ):
        assert index.search("", 100, cleared(clearance, **filters)) == []
        assert index.count_matches("", cleared(clearance, **filters)) == 0
        facets = index.facets("", cleared(clearance, **filters))
        # Only the filter's own facet offers anything: the other values it could take
        # (drill sideways), none of them the secret one.
        assert all(not counts for name, counts in facets.items() if name != own)
        assert facets[own] and secret not in facets[own]
        assert sum(facets[own].values()) <= (clearance + 1) * PER_LEVEL
        assert len(index.search("", 100, cleared(None, **filters))) > 0  # there are such documents
    # the clearance alone selects nothing: an empty query still finds nothing, as without it
    assert index.search("", 100, cleared(clearance)) == [] and index.count_matches("", cleared(clearance)) == 0


def test_a_clearance_below_every_level_sees_nothing(index: SearchIndex) -> None:
    options = cleared(-1, doc_type="Báo cáo")
    assert index.search("báo cáo", 100, options) == [] and index.search("", 100, options) == []
    assert index.count_matches("báo cáo", options) == 0
    assert all(not counts for counts in index.facets("báo cáo", options).values())


# -- pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("clearance", [None, Level.MAT, Level.TUYET_MAT])
@pytest.mark.parametrize(("query", "sort"), [
    ("báo cáo", Sort.RELEVANCE),  # many equal scores: ties must break the same way every time
    ("báo cáo công tác năm", Sort.RELEVANCE),
    ("quyết định khen", Sort.RELEVANCE),  # the OCR-tolerant pass adds "qnyết" after the exact hits
    ("báo cáo", Sort.DATE),
    ("", Sort.RELEVANCE),  # a filter-only listing, newest first
])
def test_pages_are_exact_slices_of_one_ranking(index: SearchIndex, clearance, query: str, sort: Sort) -> None:
    options = dataclasses.replace(cleared(clearance, doc_type="Báo cáo" if not query else None), sort=sort)
    whole = [(hit.doc_id, hit.snippet, hit.snippet_page) for hit in index.search(query, 1000, options)]
    total = index.count_matches(query, options)
    assert len(whole) == total > 0
    for size in (1, 4, 7):
        pages = [index.search(query, size, options, offset=start) for start in range(0, total + size, size)]
        assert all(len(page) == size for page in pages[: total // size])
        assert pages[-1] == []  # past the end: nothing
        assert [(hit.doc_id, hit.snippet, hit.snippet_page) for page in pages for hit in page] == whole
    assert [hit.doc_id for hit in index.search(query, 5, options, offset=0)] == [d for d, _, _ in whole[:5]]
    # the same page twice is the same page
    assert index.search(query, 3, options, offset=2) == index.search(query, 3, options, offset=2)


def test_fuzzy_hits_follow_the_exact_ones_across_pages(index: SearchIndex) -> None:
    exact = [hit.doc_id for hit in index.search('"quyết định" khen', 1000)]
    with_tolerance = [hit.doc_id for hit in index.search("quyết định khen", 1000)]
    assert 0 < len(exact) < len(with_tolerance)  # the fixture has both kinds
    pages = [hit.doc_id for start in range(0, 40, 5) for hit in index.search("quyết định khen", 5, offset=start)]
    assert pages == with_tolerance
    assert set(pages[: len(exact)]) == set(exact)  # exact matches first, on the first pages


# -- facets ------------------------------------------------------------------------------------


def filter_for(facet: str, value: str) -> dict:
    if facet == "year":
        return {"date_from": dt.date(int(value), 1, 1), "date_to": dt.date(int(value), 12, 31)}
    return {facet: value}


@pytest.mark.parametrize("clearance", CLEARANCES)
@pytest.mark.parametrize("query", ["báo cáo", "quyết định khen", "công tác"])
def test_facet_counts_are_what_the_filter_finds(index: SearchIndex, clearance, query: str) -> None:
    options = cleared(clearance)
    facets = index.facets(query, options)
    assert set(facets) == {"doc_type", "issuing_body", "year", "profile", "signature_status"}
    matching = index.count_matches(query, options)
    hits = index.search(query, 1000, dataclasses.replace(options, snippets=False))
    for facet, counts in facets.items():
        assert list(counts.values()) == sorted(counts.values(), reverse=True)  # most first
        for value, count in counts.items():
            narrowed = cleared(clearance, **filter_for(facet, value))
            assert count > 0
            assert index.count_matches(query, narrowed) == count, (facet, value)
            assert len(index.search(query, 1000, narrowed)) == count
        # every matching document with a value is counted once
        with_value = [hit for hit in hits if (hit.issue_date if facet == "year" else getattr(hit, facet))]
        assert sum(counts.values()) == len(with_value) <= matching
    if clearance is None or clearance >= 0:
        # the type all levels share, counted over every visible level's documents
        shared = [hit for hit in hits if hit.doc_type == "Báo cáo"]
        assert facets["doc_type"].get("Báo cáo", 0) == len(shared)


def test_facets_ignore_their_own_filter_and_keep_the_others(index: SearchIndex) -> None:
    options = cleared(Level.MAT, doc_type="Báo cáo")
    facets = index.facets("báo cáo", options)
    # the type facet still shows the other types, under the other filters (here only the level)
    assert facets["doc_type"] == index.facets("báo cáo", cleared(Level.MAT))["doc_type"]
    assert set(facets["doc_type"]) == {"Báo cáo", OWN_TYPE[Level.THUONG], OWN_TYPE[Level.MAT]}
    # the other facets count only the chosen type's documents
    assert sum(facets["profile"].values()) == index.count_matches("báo cáo", options) == 6
    # a year chosen: the year facet still offers the other years
    one_year = cleared(Level.MAT, date_from=dt.date(2022, 1, 1), date_to=dt.date(2022, 12, 31))
    years = index.facets("báo cáo", one_year)["year"]
    assert set(years) == {"2021", "2022"}
    assert index.facets("báo cáo", one_year)["profile"] == {OWN_PROFILE[Level.MAT]: years["2022"]}


def test_spellings_of_one_value_are_counted_as_one(tmp_path: pathlib.Path, engine: str) -> None:
    with open_index(tmp_path / "index", engine) as index:
        index.add_many([IndexedDocument(1, "báo cáo", doc_type="Công văn"),
                        IndexedDocument(2, "báo cáo", doc_type="CÔNG VĂN"),
                        IndexedDocument(3, "báo cáo", doc_type="Công  văn"),
                        IndexedDocument(4, "báo cáo", doc_type="Quyết định")])
        counts = index.facets("báo cáo")["doc_type"]
        assert counts == {"Công văn": 3, "Quyết định": 1}
        assert index.count_matches("báo cáo", cleared(None, doc_type="Công văn")) == 3


def test_empty_index_and_empty_query_have_no_facets(tmp_path: pathlib.Path, engine: str) -> None:
    with open_index(tmp_path / "index", engine) as index:
        assert all(not counts for counts in index.facets("báo cáo").values())
        index.add(IndexedDocument(1, "báo cáo", doc_type="Công văn"))
        assert all(not counts for counts in index.facets("").values())
        assert all(not counts for counts in index.facets("", cleared(Level.TUYET_MAT)).values())
        assert index.facets("báo cáo")["doc_type"] == {"Công văn": 1}


# -- an index written before levels ------------------------------------------------------------


def _write_index_without_levels(directory: pathlib.Path, engine: str) -> None:
    """What sohoa wrote at schema version 3: the same fields, none for levels or facets."""
    directory.mkdir(parents=True)
    new = {"confidentiality", "year", "facet_doc_type", "facet_issuing_body", "facet_profile",
           "facet_signature_status"}
    if engine == "tantivy":
        from index import documents as f

        builder = tantivy.SchemaBuilder()
        builder.add_integer_field(f.DOC_ID, indexed=True, fast=True)
        for name in (*f.FIELD_BOOSTS, f.ISSUING_BODY, f.TEXT_PAIRS):
            builder.add_text_field(name, tokenizer_name="whitespace", index_option="position")
        for name in (f.NUMBER, f.DOC_TYPE, f.PROFILE, f.SIGNATURE):
            builder.add_text_field(name, tokenizer_name="raw", index_option="basic")
        builder.add_integer_field(f.DATE_KEY, indexed=True, fast=True)
        builder.add_bytes_field(f.STORED, stored=True)
        old = tantivy.Index(builder.build(), path=str(directory))
        writer = old.writer(15_000_000, 1)
        doc = tantivy.Document()
        doc.add_integer(f.DOC_ID, 1)
        doc.add_text(f.TEXT, "xamxitvn")
        doc.add_bytes(f.STORED, json.dumps({"pages": ["xamxitvn"]}).encode())
        writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
    else:
        from index.whoosh_engine import _build_schema

        schema = _build_schema()
        for name in new:
            schema.remove(name)
        old = whoosh_index.create_in(str(directory), schema, indexname="sohoa")
        writer = old.writer()
        writer.add_document(doc_id=1, text="xamxitvn", stored=json.dumps({"pages": ["xamxitvn"]}).encode())
        writer.commit()


def test_an_index_without_levels_is_never_searched_and_is_rebuilt(tmp_path: pathlib.Path, engine: str) -> None:
    directory = tmp_path / "index"
    _write_index_without_levels(directory / "g-000001", engine)
    (directory / CURRENT).write_text(json.dumps(
        {"generation": "g-000001", "engine": engine, "schema_version": 3, "needs_rebuild": False}))
    assert SCHEMA_VERSION > 3
    # Opened directly, the engine refuses the old files rather than reading them as thường.
    with pytest.raises(SearchIndexError):
        engine_class(engine)(directory / "g-000001")
    # Opened as sohoa opens it: an empty index that says it must be rebuilt (the CLI does so
    # before searching); the tuyệt mật document in the old files is found by no one.
    with open_index(directory, engine) as index:
        assert index.needs_rebuild and index.count() == 0
        assert index.search("xamxitvn", 10, cleared(Level.THUONG)) == []
        assert index.count_matches("xamxitvn", cleared(Level.THUONG)) == 0
    assert not (directory / "g-000001").exists()
    # The rebuild reads the levels from the catalog's records.
    records = {1: {"confidentiality": "TUYỆT MẬT"}, 2: {"confidentiality": "mật"}, 3: {}}
    source = DocumentSource(
        documents_after=lambda after, limit: [index_entry(i, records[i], ["xamxitvn"], [])
                                              for i in sorted(records) if i > after][:limit],
        doc_ids=lambda: set(records), count=lambda: len(records))
    rebuild_index(directory, engine, source)
    with open_index(directory, engine) as index:
        assert not index.needs_rebuild
        found = {level: {hit.doc_id for hit in index.search("xamxitvn", 10, cleared(level))} for level in Level}
        assert found == {Level.THUONG: {3}, Level.MAT: {2, 3}, Level.TOI_MAT: {2, 3}, Level.TUYET_MAT: {1, 2, 3}}


def test_check_names_a_level_the_index_does_not_have_yet(tmp_path: pathlib.Path, engine: str) -> None:
    # `sohoa set ID confidentiality=mật` rewrites the entry; if that were lost, `sohoa check`
    # must say so (and --repair fix it) rather than keep showing the document as thường.
    with open_index(tmp_path / "index", engine) as index:
        index.add(index_entry(1, {}, ["văn bản"], []))
        catalog = DocumentSource(documents_after=lambda after, limit: [index_entry(1, {"confidentiality": "mật"},
                                                                                   ["văn bản"], [])][after:limit],
                                 doc_ids=lambda: {1}, count=lambda: 1)
        report = check_index(index, catalog)
        assert not report.ok
        assert [d.fields for d in report.differing] == [(("confidentiality", 0, 1),)]
