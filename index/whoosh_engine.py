"""SearchIndex on Whoosh (whoosh-reloaded): the pure-Python engine, for platforms without
tantivy wheels. Same terms, keys, boosts and hits as the tantivy engine (index.documents).

Text arrives analysed by index.analysis and space-joined; Whoosh's SpaceSeparatedTokenizer
only splits it again. Queries are built from whoosh.query objects, never parsed.
Whoosh does not fsync, so every commit is followed by an fsync of what it wrote.
"""

from __future__ import annotations

import os
import pathlib
import time
from collections.abc import Iterator

from whoosh import collectors, fields, query as wq
from whoosh import index as whoosh_index
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.index import LockError
from whoosh.searching import Searcher

from index import documents as f
from index.analysis import ParsedQuery, fold_tokens, parse_query
from index.documents import (
    Found,
    KeywordFilters,
    PreparedDocument,
    facet_counts,
    facet_requests,
    keyword_filters,
    make_hit,
    pairs,
    with_fuzzy_hits,
)
from index.snippets import Matcher
from index.engine import (
    SearchHit,
    SearchIndex,
    SearchIndexError,
    SearchOptions,
    Sort,
)

_INDEX_NAME = "sohoa"


def _build_schema() -> fields.Schema:
    words = {"analyzer": SpaceSeparatedTokenizer(), "phrase": True}
    schema = {
        f.DOC_ID: fields.NUMERIC(int, bits=64, stored=True, unique=True, sortable=True),
        f.NUMBER: fields.ID,
        f.DOC_TYPE: fields.ID,
        f.PROFILE: fields.ID,
        f.SIGNATURE: fields.ID,
        f.ISSUING_BODY: fields.TEXT(**words),
        f.TEXT_PAIRS: fields.TEXT(**words),
        f.DATE_KEY: fields.NUMERIC(int, bits=64, sortable=True),
        f.CONFIDENTIALITY: fields.NUMERIC(int),
        # Columns the facets are counted on.
        f.YEAR: fields.NUMERIC(int, sortable=True),
        f.STORED: fields.STORED,
    }
    for name in f.FACET_FIELDS.values():
        if name != f.YEAR:
            schema[name] = fields.ID(sortable=True)
    for name in f.FIELD_BOOSTS:
        schema[name] = fields.TEXT(**words)
    return fields.Schema(**schema)


def _schema_signature(schema: fields.Schema) -> list[tuple[str, str]]:
    return sorted((name, type(field).__name__) for name, field in schema.items())


class WhooshIndex(SearchIndex):
    def __init__(self, directory: pathlib.Path, *, writer_memory_mb: int = 128) -> None:
        self._directory = directory
        self._memory_mb = writer_memory_mb
        schema = _build_schema()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            if whoosh_index.exists_in(str(directory), indexname=_INDEX_NAME):
                self._index = whoosh_index.open_dir(str(directory), indexname=_INDEX_NAME)
                if _schema_signature(self._index.schema) != _schema_signature(schema):
                    raise SearchIndexError(
                        f"cannot open search index at {directory}: the index has another schema"
                    )
            else:
                self._index = whoosh_index.create_in(str(directory), schema, indexname=_INDEX_NAME)
                _fsync_new_files(directory, since_ns=0)
        except OSError as exc:
            raise SearchIndexError(f"cannot open search index at {directory}: {exc}") from exc
        self._searcher: Searcher | None = None
        self._closed = False

    # -- writing -----------------------------------------------------------------------

    def add_prepared(self, docs: list[PreparedDocument]) -> int:
        # Whoosh replaces only committed documents: within a batch the last copy wins here.
        latest = {doc.doc_id: doc for doc in docs}
        if not latest:
            return 0
        prepared = [_to_whoosh(doc) for doc in latest.values()]
        # Older copies are deleted in the same commit. Looked up once per batch: Whoosh's
        # update_document searches the whole index for every document, which made a rebuild
        # slower with every batch.
        reader = self._fresh_searcher().reader()
        present = [doc_id for doc_id in latest if reader.doc_frequency(f.DOC_ID, doc_id)]
        started = time.time_ns()
        writer = self._writer()
        try:
            for doc_id in present:
                writer.delete_by_term(f.DOC_ID, doc_id)
            for fields_of_doc in prepared:
                writer.add_document(**fields_of_doc)
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        _fsync_new_files(self._directory, since_ns=started)
        return len(prepared)

    def delete(self, doc_id: int) -> None:
        started = time.time_ns()
        writer = self._writer()
        try:
            writer.delete_by_term(f.DOC_ID, doc_id)
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        _fsync_new_files(self._directory, since_ns=started)

    def _writer(self):
        self._check_open()
        try:
            return self._index.writer(limitmb=self._memory_mb)
        except LockError as exc:
            raise SearchIndexError(
                f"search index at {self._directory} is locked by another writer "
                f"(another sohoa process?): {exc}"
            ) from exc

    # -- reading -----------------------------------------------------------------------

    def search(
        self, query: str, limit: int = 10, options: SearchOptions | None = None, offset: int = 0
    ) -> list[SearchHit]:
        options = options or SearchOptions()
        parsed = parse_query(query)
        filters = keyword_filters(options.filters)
        searcher = self._fresh_searcher()
        offset = max(offset, 0)
        if (parsed.is_empty and options.filters.is_empty) or limit <= 0 or filters.shows_nothing:
            return []
        if searcher.doc_count() == 0:
            return []
        # Without words there is no relevance: a filter-only listing is newest first.
        by_date = options.sort is Sort.DATE or parsed.is_empty
        # A page is the same slice of the same ranking as without an offset: the ranking up
        # to its end, exact and OCR-tolerant hits merged as always, then cut.
        wanted = offset + limit
        found = _run(searcher, parsed, filters, by_date, wanted, fuzzy=False)
        if len(found) < wanted and parsed.has_fuzzy:
            tolerant = _run(searcher, parsed, filters, by_date, wanted + len(found), fuzzy=True)
            found = with_fuzzy_hits(found, tolerant, wanted)
        matcher = Matcher(parsed) if options.snippets else None
        return [make_hit(doc_id, score, searcher.stored_fields(docnum)[f.STORED], parsed, matcher)
                for doc_id, score, docnum in found[offset:]]

    def count_matches(self, query: str, options: SearchOptions | None = None) -> int:
        options = options or SearchOptions()
        parsed = parse_query(query)
        if self._finds_nothing(parsed, options):
            return 0
        return len(_matching(self._fresh_searcher(), parsed, keyword_filters(options.filters)))

    def facets(self, query: str, options: SearchOptions | None = None) -> dict[str, dict[str, int]]:
        options = options or SearchOptions()
        parsed = parse_query(query)
        counts: dict[str, dict[str, int]] = {name: {} for name in f.FACETS}
        if self._finds_nothing(parsed, options):
            return counts
        searcher = self._fresh_searcher()
        reader = searcher.reader()
        for filters, names in facet_requests(options.filters):
            docnums = _matching(searcher, parsed, keyword_filters(filters))
            for name in names:
                column = reader.column_reader(f.FACET_FIELDS[name])
                raw: dict[object, int] = {}
                for docnum in docnums:
                    value = column[docnum]
                    raw[value] = raw.get(value, 0) + 1
                counts[name] = facet_counts(name, raw)
        return counts

    def _finds_nothing(self, parsed: ParsedQuery, options: SearchOptions) -> bool:
        return (
            (parsed.is_empty and options.filters.is_empty)
            or keyword_filters(options.filters).shows_nothing
            or self._fresh_searcher().doc_count() == 0
        )

    def doc_ids(self) -> set[int]:
        reader = self._fresh_searcher().reader()
        if reader.doc_count() == 0:
            return set()
        column = reader.column_reader(f.DOC_ID)
        return {int(column[docnum]) for docnum in reader.all_doc_ids()}

    def stored_records(self) -> Iterator[tuple[int, bytes]]:
        for fields_ in self._fresh_searcher().reader().all_stored_fields():
            yield int(fields_[f.DOC_ID]), fields_[f.STORED]

    def count(self) -> int:
        return int(self._fresh_searcher().doc_count())

    def _fresh_searcher(self) -> Searcher:
        self._check_open()
        # A new searcher only when something was committed since (by us or another
        # process). Not Searcher.refresh(): it fails after reading an empty index.
        if self._searcher is None or not self._searcher.up_to_date():
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = self._index.searcher()
        return self._searcher

    # -- lifecycle ---------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise SearchIndexError(f"search index at {self._directory} is closed")

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None
        self._closed = True


def _run(searcher: Searcher, parsed: ParsedQuery, filters: KeywordFilters, by_date: bool,
         limit: int, fuzzy: bool) -> list[Found]:
    words = wq.Every() if parsed.is_empty else _text_query(parsed, fuzzy)
    conditions = _filter_queries(filters)
    condition = wq.And(conditions) if conditions else None  # filters do not score
    # Hits carry their docnum: stored documents are read only for the page shown.
    doc_ids = searcher.reader().column_reader(f.DOC_ID)
    if by_date:
        results = searcher.search(words, limit=limit, filter=condition, sortedby=f.DATE_KEY, reverse=True)
        return [(int(doc_ids[hit.docnum]), 0.0, hit.docnum) for hit in results]
    # Neither block-quality skipping nor matcher replacement: once the top `limit` is full,
    # Whoosh replaces the query's matchers by ones that skip documents scoring below the
    # lowest kept score, and dropped documents that belonged in the top (a page then
    # differed from the same slice of a longer list).
    top = collectors.TopCollector(limit, usequality=False, replace=0)
    collector = collectors.FilterCollector(top, allow=condition) if condition is not None else top
    searcher.search_with_collector(words, collector)
    return [(int(doc_ids[docnum]), float(score), docnum) for score, docnum in collector.results().top_n]


def _matching(searcher: Searcher, parsed: ParsedQuery, filters: KeywordFilters) -> list[int]:
    """Docnums of every document search() could return, however large its limit (exact or
    OCR-tolerant matches): what count_matches and facets count."""
    # The tolerant query matches everything the exact one does, and more.
    words = wq.Every() if parsed.is_empty else _text_query(parsed, parsed.has_fuzzy)
    conditions = _filter_queries(filters)
    results = searcher.search(words, limit=None, filter=wq.And(conditions) if conditions else None, scored=False)
    return list(results.docs())


def _text_query(parsed: ParsedQuery, fuzzy: bool) -> wq.Query:
    # Every clause (word or phrase) must match in at least one field.
    words = wq.And([_clause_query(clause, fuzzy) for clause in parsed.clauses])
    number = wq.ConstantScoreQuery(wq.Term(f.NUMBER, parsed.number), f.NUMBER_MATCH_SCORE)
    # Either is enough: a number typed in a different shape still finds its parts.
    return wq.Or([words, number])


def _clause_query(tokens: tuple[str, ...], fuzzy: bool) -> wq.Query:
    folded = tuple(fold_tokens(list(tokens)))
    if len(tokens) > 1:
        # A phrase: its folded form must be in the text (as word pairs) or in the title,
        # number or issuing body; its exact words in the text raise the score.
        present = wq.Or([
            _terms_query(f.TEXT_PAIRS, tuple(pairs(folded)), f.FIELD_BOOSTS[f.TEXT_FOLDED]),
            _terms_query(f.META_FOLDED, folded, f.FIELD_BOOSTS[f.META_FOLDED]),
        ])
        exact_words = wq.Or([wq.Term(f.TEXT, token, boost=f.FIELD_BOOSTS[f.TEXT])
                             for token in dict.fromkeys(tokens)])
        return wq.AndMaybe(present, exact_words)
    per_field: list[wq.Query] = []
    for field, boost in f.FIELD_BOOSTS.items():
        terms = folded if field in f.FOLDED_FIELDS else tokens
        per_field.append(_terms_query(field, terms, boost))
    form = ParsedQuery.fuzzy_form(tokens)
    if fuzzy and form:
        either_field = wq.Or([
            wq.FuzzyTerm(field, form, maxdist=1, prefixlength=0)
            for field in (f.TEXT_FOLDED, f.META_FOLDED)
        ])
        per_field.append(wq.ConstantScoreQuery(either_field, f.FUZZY_SCORE))
    return wq.Or(per_field)


def _terms_query(field: str, terms: tuple[str, ...], boost: float = 1.0) -> wq.Query:
    if len(terms) == 1:
        return wq.Term(field, terms[0], boost=boost)
    return wq.Phrase(field, list(terms), boost=boost)


def _filter_queries(filters: KeywordFilters) -> list[wq.Query]:
    queries: list[wq.Query] = []
    if filters.date_low is not None or filters.date_high is not None:
        queries.append(wq.NumericRange(f.DATE_KEY, filters.date_low, filters.date_high))
    for field, value in (
        (f.DOC_TYPE, filters.doc_type),
        (f.PROFILE, filters.profile),
        (f.SIGNATURE, filters.signature_status),
    ):
        if value is not None:
            queries.append(wq.Term(field, value))
    if filters.issuing_body:
        queries.append(_terms_query(f.ISSUING_BODY, filters.issuing_body))
    if filters.max_confidentiality is not None:
        # A filter of the query itself, so hits, counts and facets all leave the others out.
        queries.append(wq.NumericRange(f.CONFIDENTIALITY, 0, filters.max_confidentiality))
    return queries


def _to_whoosh(doc: PreparedDocument) -> dict[str, object]:
    values: dict[str, object] = {
        f.DOC_ID: doc.doc_id,
        f.DATE_KEY: doc.date_key,
        f.CONFIDENTIALITY: doc.confidentiality,
        f.STORED: doc.stored,
    }
    # 0, not absent: Whoosh's column gives an absent number its largest value.
    values[f.YEAR] = doc.year or 0
    values.update(doc.labels)
    for field, value in (
        (f.TEXT, doc.text),
        (f.TEXT_FOLDED, doc.text_folded),
        (f.TEXT_PAIRS, doc.text_pairs),
        (f.META, doc.meta),
        (f.META_FOLDED, doc.meta_folded),
        (f.ISSUING_BODY, doc.issuing_body),
        (f.NUMBER, doc.number),
        (f.DOC_TYPE, doc.doc_type),
        (f.PROFILE, doc.profile),
        (f.SIGNATURE, doc.signature_status),
    ):
        if value:
            values[field] = value
    return values


def _fsync_new_files(directory: pathlib.Path, since_ns: int) -> None:
    """fsync the files written since `since_ns`, then the directory (for the renames)."""
    for entry in os.scandir(directory):
        if entry.is_file() and entry.stat().st_mtime_ns >= since_ns - 1_000_000_000:
            fd = os.open(entry.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
