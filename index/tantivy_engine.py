"""SearchIndex on tantivy (tantivy-py). All language analysis comes from index.analysis.

Text is analysed in Python and handed to tantivy as space-joined terms indexed with
tantivy's built-in "whitespace" tokenizer, which splits on spaces and changes nothing else.
Built-in tokenizers need no registration, so the index reopens without extra setup.
Queries are built with tantivy.Query; user text never reaches tantivy's query parser.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import tantivy

from index.analysis import ParsedQuery, fold_tokens, normalize_number, parse_query, tokenize
from index.engine import IndexedDocument, SearchHit, SearchIndex, SearchIndexError

# Text fields and their query boosts. Exact (normalised) matches count 3x folded ones so that
# "văn bản" ranks a document with exactly those words above one with "vân bàn". Title and
# number tokens ("meta") count double the body text.
_TEXT, _TEXT_FOLDED, _META, _META_FOLDED = "text", "text_folded", "meta", "meta_folded"
_FIELD_BOOSTS: dict[str, float] = {_TEXT: 3.0, _TEXT_FOLDED: 1.0, _META: 6.0, _META_FOLDED: 2.0}
_FOLDED_FIELDS = {_TEXT_FOLDED, _META_FOLDED}
_DOC_ID = "doc_id"
_NUMBER = "number"  # whole number, untokenised, for exact "268/SGTVT-VP" lookups
# Added to the score of a document whose number equals the whole query. BM25 scores of real
# queries stay far below this, so such a document always comes first.
_NUMBER_MATCH_SCORE = 1000.0

# tantivy needs at least 15 MB of indexing heap per thread. One thread is plenty: we commit
# after every document.
_WRITER_HEAP_BYTES = 50_000_000


def _build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    # Fast field: doc_ids of hits are read from the column store without loading documents.
    builder.add_integer_field(_DOC_ID, indexed=True, fast=True)
    for name in _FIELD_BOOSTS:
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="position")
    builder.add_text_field(_NUMBER, tokenizer_name="raw", index_option="basic")
    return builder.build()


class TantivyIndex(SearchIndex):
    def __init__(self, directory: pathlib.Path) -> None:
        self._directory = directory
        self._schema = _build_schema()
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

    def add(self, doc: IndexedDocument) -> None:
        tantivy_doc = self._to_tantivy(doc)
        # Delete-then-add in one commit: tantivy applies the delete only to documents added
        # before it (by opstamp), so the new copy survives and the replacement is atomic.
        def replace(writer: tantivy.IndexWriter) -> None:
            writer.delete_documents_by_term(_DOC_ID, doc.doc_id)
            writer.add_document(tantivy_doc)

        self._write(replace)

    def delete(self, doc_id: int) -> None:
        self._write(lambda w: w.delete_documents_by_term(_DOC_ID, doc_id))

    def _write(self, operation: Callable[[tantivy.IndexWriter], object]) -> None:
        writer = self._get_writer()
        try:
            operation(writer)
            writer.commit()  # fsyncs: durable once this returns
        except BaseException:
            # Do not let a half-done operation slip into the next commit.
            writer.rollback()
            raise
        # No reload here: every read reloads first (see _searcher).

    def _get_writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            try:
                self._writer = self._open_index().writer(
                    heap_size=_WRITER_HEAP_BYTES, num_threads=1
                )
            except ValueError as exc:  # LockBusy: another IndexWriter holds the directory
                raise SearchIndexError(
                    f"search index at {self._directory} is locked by another writer "
                    f"(another sohoa process?): {exc}"
                ) from exc
        return self._writer

    @staticmethod
    def _to_tantivy(doc: IndexedDocument) -> tantivy.Document:
        out = tantivy.Document()
        out.add_integer(_DOC_ID, doc.doc_id)
        text_tokens = tokenize(doc.text)
        _add_terms(out, _TEXT, text_tokens)
        _add_terms(out, _TEXT_FOLDED, fold_tokens(text_tokens))
        # Title and number as separate values so that no phrase spans from one to the other.
        for meta in (doc.title, doc.number):
            if meta:
                meta_tokens = tokenize(meta)
                _add_terms(out, _META, meta_tokens)
                _add_terms(out, _META_FOLDED, fold_tokens(meta_tokens))
        if doc.number and doc.number.strip():
            out.add_text(_NUMBER, normalize_number(doc.number))
        return out

    # -- reading -----------------------------------------------------------------------

    def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        parsed = parse_query(query)
        if parsed.is_empty or limit <= 0:  # tantivy panics on limit 0
            return []
        searcher = self._searcher()
        if searcher.num_docs == 0:
            return []
        result = searcher.search(self._build_query(parsed), limit=limit, count=False)
        addresses = [address for _, address in result.hits]
        doc_ids = searcher.fast_field_values(_DOC_ID, addresses)
        # tantivy returns hits best first already.
        return [
            SearchHit(doc_id=int(doc_id), score=float(score))
            for (score, _), doc_id in zip(result.hits, doc_ids)
        ]

    def doc_ids(self) -> set[int]:
        searcher = self._searcher()
        if searcher.num_docs == 0:  # tantivy panics on limit 0
            return set()
        result = searcher.search(tantivy.Query.all_query(), limit=searcher.num_docs, count=False)
        values = searcher.fast_field_values(_DOC_ID, [address for _, address in result.hits])
        return {int(value) for value in values}

    def _searcher(self) -> tantivy.Searcher:
        index = self._open_index()
        # A searcher only sees commits (ours or another process's) after a reload; with the
        # "manual" policy this costs microseconds, so reload before every read.
        index.reload()
        return index.searcher()

    def _build_query(self, parsed: ParsedQuery) -> tantivy.Query:
        Occur = tantivy.Occur
        # Every clause (word or phrase) must match in at least one field.
        words = tantivy.Query.boolean_query(
            [(Occur.Must, self._clause_query(tokens)) for tokens in parsed.clauses]
        )
        number = tantivy.Query.const_score_query(
            tantivy.Query.term_query(self._schema, _NUMBER, parsed.number), _NUMBER_MATCH_SCORE
        )
        # Either is enough: a number typed in a different shape still finds its parts.
        return tantivy.Query.boolean_query([(Occur.Should, words), (Occur.Should, number)])

    def _clause_query(self, tokens: tuple[str, ...]) -> tantivy.Query:
        folded = tuple(fold_tokens(list(tokens)))
        per_field = []
        for field, boost in _FIELD_BOOSTS.items():
            terms = folded if field in _FOLDED_FIELDS else tokens
            query = tantivy.Query.boost_query(self._terms_query(field, terms), boost)
            per_field.append((tantivy.Occur.Should, query))
        return tantivy.Query.boolean_query(per_field)

    def _terms_query(self, field: str, terms: tuple[str, ...]) -> tantivy.Query:
        if len(terms) == 1:
            return tantivy.Query.term_query(self._schema, field, terms[0])
        # A one-term phrase query panics in tantivy; parse_query never builds one.
        return tantivy.Query.phrase_query(self._schema, field, list(terms))

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


def _add_terms(doc: tantivy.Document, field: str, terms: list[str]) -> None:
    if terms:
        doc.add_text(field, " ".join(terms))
