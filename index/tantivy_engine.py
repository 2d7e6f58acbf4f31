"""SearchIndex on tantivy (tantivy-py). All language analysis comes from index.analysis.

Text is analysed in Python and handed to tantivy as space-joined terms indexed with
tantivy's built-in "whitespace" tokenizer, which splits on spaces and changes nothing else.
Built-in tokenizers need no registration, so the index reopens without extra setup.
Queries are built with tantivy.Query; user text never reaches tantivy's query parser.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterator

import tantivy

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

Occur = tantivy.Occur
Q = tantivy.Query

# tantivy needs at least 15 MB of indexing heap per thread. One thread and a small heap
# suit ingest, which commits after every document; a rebuild asks for more.
_WRITER_HEAP_BYTES = 50_000_000
# Buckets a facet may return: every value, as long as tantivy's own limit on buckets per
# request (65,000) allows; no archive has that many document types or issuing bodies.
_FACET_VALUES = 10_000


def _build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    # Fast field: doc_ids of hits are read from the column store without loading documents.
    builder.add_integer_field(f.DOC_ID, indexed=True, fast=True)
    for name in f.FIELD_BOOSTS:
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="position")
    for name in (f.ISSUING_BODY, f.TEXT_PAIRS):
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="position")
    for name in (f.NUMBER, f.DOC_TYPE, f.PROFILE, f.SIGNATURE):
        builder.add_text_field(name, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field(f.DATE_KEY, indexed=True, fast=True)
    builder.add_integer_field(f.CONFIDENTIALITY, indexed=True, fast=True)
    # Facets are counted by tantivy's terms aggregation on these columns, without loading
    # any stored document.
    builder.add_integer_field(f.YEAR, indexed=False, fast=True)
    for name in f.FACET_FIELDS.values():
        if name != f.YEAR:
            builder.add_text_field(name, tokenizer_name="raw", index_option="basic", fast=True)
    builder.add_bytes_field(f.STORED, stored=True)
    return builder.build()


class TantivyIndex(SearchIndex):
    def __init__(
        self,
        directory: pathlib.Path,
        *,
        writer_heap_bytes: int = _WRITER_HEAP_BYTES,
        writer_threads: int = 1,
    ) -> None:
        self._directory = directory
        self._schema = _build_schema()
        self._heap = writer_heap_bytes
        self._threads = writer_threads
        try:
            directory.mkdir(parents=True, exist_ok=True)
            # reuse=True opens an existing index and fails if its schema differs.
            self._index: tantivy.Index | None = tantivy.Index(
                self._schema, path=str(directory), reuse=True
            )
            # We reload explicitly before every read (cheap), which also picks up commits
            # made by other processes; no need for tantivy's background file watcher.
            self._index.config_reader(reload_policy="manual")
        except (ValueError, OSError) as exc:
            raise SearchIndexError(f"cannot open search index at {directory}: {exc}") from exc
        # Created on first write: a process that only searches never takes the write lock.
        self._writer: tantivy.IndexWriter | None = None

    # -- writing -----------------------------------------------------------------------

    def add_prepared(self, docs: list[PreparedDocument]) -> int:
        prepared = [_to_tantivy(doc) for doc in docs]
        if not prepared:
            return 0

        # Delete-then-add in one commit: tantivy applies a delete only to documents added
        # before it (by opstamp), so the new copy survives and the replacement is atomic.
        def replace(writer: tantivy.IndexWriter) -> None:
            for doc_id, doc in prepared:
                writer.delete_documents_by_term(f.DOC_ID, doc_id)
                writer.add_document(doc)

        self._write(replace)
        return len(prepared)

    def delete(self, doc_id: int) -> None:
        self._write(lambda w: w.delete_documents_by_term(f.DOC_ID, doc_id))

    def _write(self, operation: Callable[[tantivy.IndexWriter], object]) -> None:
        writer = self._get_writer()
        try:
            operation(writer)
            writer.commit()  # fsyncs: durable once this returns
        except BaseException:
            # Do not let a half-done operation slip into the next commit.
            writer.rollback()
            raise
        # Segments replaced by this commit or by finished merges are deleted now, not left
        # to pile up (an index that is only ever appended to otherwise keeps every old file
        # a reader happened to hold during a merge).
        writer.garbage_collect_files()
        # No reload here: every read reloads first (see _searcher).

    def _get_writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            try:
                self._writer = self._open_index().writer(
                    heap_size=self._heap, num_threads=self._threads
                )
            except ValueError as exc:  # LockBusy: another IndexWriter holds the directory
                raise SearchIndexError(
                    f"search index at {self._directory} is locked by another writer "
                    f"(another sohoa process?): {exc}"
                ) from exc
        return self._writer

    # -- reading -----------------------------------------------------------------------

    def search(
        self, query: str, limit: int = 10, options: SearchOptions | None = None, offset: int = 0
    ) -> list[SearchHit]:
        options = options or SearchOptions()
        parsed = parse_query(query)
        filters = keyword_filters(options.filters)
        offset = max(offset, 0)
        if (parsed.is_empty and options.filters.is_empty) or limit <= 0 or filters.shows_nothing:
            return []  # (tantivy panics on limit 0)
        searcher = self._searcher()
        if searcher.num_docs == 0:
            return []
        # Without words there is no relevance: a filter-only listing is newest first.
        by_date = options.sort is Sort.DATE or parsed.is_empty
        # A page is the same slice of the same ranking as without an offset: the ranking up
        # to its end, exact and OCR-tolerant hits merged as always, then cut.
        wanted = offset + limit
        found = self._run(searcher, parsed, filters, by_date, wanted, fuzzy=False)
        if len(found) < wanted and parsed.has_fuzzy:
            tolerant = self._run(searcher, parsed, filters, by_date, wanted + len(found), fuzzy=True)
            found = with_fuzzy_hits(found, tolerant, wanted)
        matcher = Matcher(parsed) if options.snippets else None
        return [
            make_hit(doc_id, score, searcher.doc(address).get_first(f.STORED), parsed, matcher)
            for doc_id, score, address in found[offset:]
        ]

    def count_matches(self, query: str, options: SearchOptions | None = None) -> int:
        options = options or SearchOptions()
        parsed = parse_query(query)
        filters = keyword_filters(options.filters)
        if (parsed.is_empty and options.filters.is_empty) or filters.shows_nothing:
            return 0
        searcher = self._searcher()
        if searcher.num_docs == 0:
            return 0
        return searcher.search(self._matching_query(parsed, filters), limit=1, count=True).count

    def facets(self, query: str, options: SearchOptions | None = None) -> dict[str, dict[str, int]]:
        options = options or SearchOptions()
        parsed = parse_query(query)
        counts: dict[str, dict[str, int]] = {name: {} for name in f.FACETS}
        if (parsed.is_empty and options.filters.is_empty) or keyword_filters(options.filters).shows_nothing:
            return counts
        searcher = self._searcher()
        if searcher.num_docs == 0:
            return counts
        for filters, names in facet_requests(options.filters):
            request = {name: {"terms": {"field": f.FACET_FIELDS[name], "size": _FACET_VALUES}} for name in names}
            result = searcher.aggregate(self._matching_query(parsed, keyword_filters(filters)), request)
            for name in names:
                buckets = result.get(name, {}).get("buckets", [])
                counts[name] = facet_counts(name, {b["key"]: b["doc_count"] for b in buckets})
        return counts

    def _matching_query(self, parsed: ParsedQuery, filters: KeywordFilters) -> tantivy.Query:
        # Every document search() could return, however large its limit: the exact pass or
        # (when it has one) the OCR-tolerant pass, whose hits search() adds when the exact
        # ones do not fill the limit. What count_matches and facets count.
        words = Q.all_query() if parsed.is_empty else self._text_query(parsed, False)
        if parsed.has_fuzzy:
            words = Q.boolean_query([(Occur.Should, words), (Occur.Should, self._text_query(parsed, True))])
        conditions = self._filter_queries(filters)
        if conditions:
            condition = Q.boolean_query([(Occur.Must, q) for q in conditions])
            words = Q.boolean_query([(Occur.Must, words), (Occur.Must, Q.const_score_query(condition, 0.0))])
        return words

    def _run(self, searcher: tantivy.Searcher, parsed: ParsedQuery, filters: KeywordFilters,
             by_date: bool, limit: int, fuzzy: bool) -> list[Found]:
        # tantivy reserves room for `limit` hits up front: a huge limit aborts the process
        # (a Rust panic, not an exception), and more hits than documents cannot come back.
        limit = min(limit, searcher.num_docs)
        words = Q.all_query() if parsed.is_empty else self._text_query(parsed, fuzzy)
        conditions = self._filter_queries(filters)
        if conditions:
            # A filter must match but adds nothing to the score.
            condition = Q.boolean_query([(Occur.Must, q) for q in conditions])
            words = Q.boolean_query(
                [(Occur.Must, words), (Occur.Must, Q.const_score_query(condition, 0.0))]
            )
        if by_date:
            result = searcher.search(
                words, limit=limit, count=False, order_by_field=f.DATE_KEY, order=tantivy.Order.Desc
            )
            scores = [0.0] * len(result.hits)
        else:
            result = searcher.search(words, limit=limit, count=False)
            scores = [float(score) for score, _ in result.hits]
        addresses = [address for _, address in result.hits]
        doc_ids = searcher.fast_field_values(f.DOC_ID, addresses)
        # tantivy returns hits best first already.
        return [(int(d), score, address) for d, score, address in zip(doc_ids, scores, addresses)]

    def doc_ids(self) -> set[int]:
        searcher = self._searcher()
        if searcher.num_docs == 0:  # tantivy panics on limit 0
            return set()
        result = searcher.search(Q.all_query(), limit=searcher.num_docs, count=False)
        values = searcher.fast_field_values(f.DOC_ID, [address for _, address in result.hits])
        return {int(value) for value in values}

    def stored_records(self) -> Iterator[tuple[int, bytes]]:
        searcher = self._searcher()
        if searcher.num_docs == 0:  # tantivy panics on limit 0
            return
        addresses = [address for _, address in
                     searcher.search(Q.all_query(), limit=searcher.num_docs, count=False).hits]
        for doc_id, address in zip(searcher.fast_field_values(f.DOC_ID, addresses), addresses):
            yield int(doc_id), searcher.doc(address).get_first(f.STORED)

    def count(self) -> int:
        return int(self._searcher().num_docs)

    def _searcher(self) -> tantivy.Searcher:
        index = self._open_index()
        # A searcher only sees commits (ours or another process's) after a reload; with the
        # "manual" policy this costs microseconds, so reload before every read.
        index.reload()
        return index.searcher()

    def _text_query(self, parsed: ParsedQuery, fuzzy: bool) -> tantivy.Query:
        # Every clause (word or phrase) must match in at least one field.
        words = Q.boolean_query(
            [(Occur.Must, self._clause_query(c, fuzzy)) for c in parsed.clauses]
        )
        number = Q.const_score_query(
            Q.term_query(self._schema, f.NUMBER, parsed.number), f.NUMBER_MATCH_SCORE
        )
        # Either is enough: a number typed in a different shape still finds its parts.
        return Q.boolean_query([(Occur.Should, words), (Occur.Should, number)])

    def _clause_query(self, tokens: tuple[str, ...], fuzzy: bool) -> tantivy.Query:
        folded = tuple(fold_tokens(list(tokens)))
        if len(tokens) > 1:
            # A phrase: its folded form must be in the text (as word pairs) or in the title,
            # number or issuing body; its exact words in the text raise the score.
            present = Q.boolean_query([
                (Occur.Should, Q.boost_query(self._terms_query(f.TEXT_PAIRS, tuple(pairs(folded))),
                                             f.FIELD_BOOSTS[f.TEXT_FOLDED])),
                (Occur.Should, Q.boost_query(self._terms_query(f.META_FOLDED, folded),
                                             f.FIELD_BOOSTS[f.META_FOLDED])),
            ])
            exact_words = [
                (Occur.Should, Q.boost_query(Q.term_query(self._schema, f.TEXT, token), f.FIELD_BOOSTS[f.TEXT]))
                for token in dict.fromkeys(tokens)
            ]
            return Q.boolean_query([(Occur.Must, present), *exact_words])
        per_field = [
            (Occur.Should, Q.boost_query(
                Q.term_query(self._schema, field, folded[0] if field in f.FOLDED_FIELDS else tokens[0]), boost))
            for field, boost in f.FIELD_BOOSTS.items()
        ]
        form = ParsedQuery.fuzzy_form(tokens)
        if fuzzy and form:
            either_field = Q.boolean_query([
                (Occur.Should, Q.fuzzy_term_query(self._schema, field, form, distance=1,
                                                  transposition_cost_one=False, prefix=False))
                for field in (f.TEXT_FOLDED, f.META_FOLDED)
            ])
            per_field.append((Occur.Should, Q.const_score_query(either_field, f.FUZZY_SCORE)))
        return Q.boolean_query(per_field)

    def _terms_query(self, field: str, terms: tuple[str, ...]) -> tantivy.Query:
        if len(terms) == 1:
            return Q.term_query(self._schema, field, terms[0])
        # A one-term phrase query panics in tantivy; never build one.
        return Q.phrase_query(self._schema, field, list(terms))

    def _filter_queries(self, filters: KeywordFilters) -> list[tantivy.Query]:
        queries = []
        if filters.date_low is not None or filters.date_high is not None:
            queries.append(Q.range_query(
                self._schema, f.DATE_KEY, tantivy.FieldType.Integer,
                filters.date_low, filters.date_high,
            ))
        for field, value in (
            (f.DOC_TYPE, filters.doc_type),
            (f.PROFILE, filters.profile),
            (f.SIGNATURE, filters.signature_status),
        ):
            if value is not None:
                queries.append(Q.term_query(self._schema, field, value))
        if filters.issuing_body:
            queries.append(self._terms_query(f.ISSUING_BODY, filters.issuing_body))
        if filters.max_confidentiality is not None:
            # Part of the query itself, so hits, counts and facets all leave the others out.
            queries.append(Q.range_query(
                self._schema, f.CONFIDENTIALITY, tantivy.FieldType.Integer, 0, filters.max_confidentiality,
            ))
        return queries

    # -- lifecycle ---------------------------------------------------------------------

    def _open_index(self) -> tantivy.Index:
        if self._index is None:
            raise SearchIndexError(f"search index at {self._directory} is closed")
        return self._index

    def close(self) -> None:
        if self._writer is not None:
            # Consumes the writer: waits for background merges and releases the write lock
            # now, rather than whenever the garbage collector drops the object.
            self._writer.wait_merging_threads()
            self._writer = None
        self._index = None


def _to_tantivy(doc: PreparedDocument) -> tuple[int, tantivy.Document]:
    out = tantivy.Document()
    out.add_integer(f.DOC_ID, doc.doc_id)
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
            out.add_text(field, value)
    out.add_integer(f.DATE_KEY, doc.date_key)
    out.add_integer(f.CONFIDENTIALITY, doc.confidentiality)
    if doc.year is not None:
        out.add_integer(f.YEAR, doc.year)
    for field, label in doc.labels:
        out.add_text(field, label)
    out.add_bytes(f.STORED, doc.stored)
    return doc.doc_id, out
