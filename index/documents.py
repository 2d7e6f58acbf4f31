"""What every engine stores for a document and how a stored document becomes a hit.

Engines share this so they index the same terms and keys and return identical hits; each
engine only maps these ready-made values onto its own fields and queries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from index.analysis import (
    ParsedQuery,
    document_type_key,
    fold_tokens,
    keyword,
    normalize_number,
    tokenize,
)
from index.records import IndexedDocument, SearchFilters, SearchHit
from index.snippets import Matcher, make_snippet

# Field names, the same in every engine.
DOC_ID = "doc_id"
TEXT, TEXT_FOLDED, META, META_FOLDED = "text", "text_folded", "meta", "meta_folded"
NUMBER = "number"  # whole number key, untokenised: exact "268/SGTVT-VP" lookups
DATE_KEY = "date_key"  # issue date and doc_id in one sortable integer, see date_key()
DOC_TYPE, PROFILE, SIGNATURE = "doc_type", "profile", "signature_status"
ISSUING_BODY = "issuing_body"  # folded words, with positions, for "words in order" filters
# Adjacent folded word pairs of the text ("quan_ly ly_van ..."), with positions: a quoted
# phrase is looked up as its pairs. Common words ("quản lý" is in most documents) made
# position checks on single words far too slow; pairs are rare by comparison.
TEXT_PAIRS = "text_pairs"
PAIR_JOINER = "_"  # never inside a token (tokens are letters and digits)
STORED = "stored"  # JSON of what a hit shows, snippet pages included
CONFIDENTIALITY = "confidentiality"  # the Level's number: a clearance is a range filter
YEAR = "year"  # of the issue date, for its facet; absent when the date is unknown

# Facets (SearchIndex.facets), each counted on a column of the value as written ("Công văn",
# "Sở Nội vụ"), not the folded filter key: the page shows the value and gives it back as a
# filter. Spellings of one key are counted together (facet_counts).
FACETS = ("doc_type", "issuing_body", "year", "profile", "signature_status")
FACET_FIELDS = {name: f"facet_{name}" for name in FACETS if name != "year"} | {"year": YEAR}

# Query boosts per text field. Exact (normalised) matches count 3x folded ones so that
# "văn bản" ranks a document with exactly those words above one with "vân bàn". Title,
# number and issuing body ("meta") count double the body text.
FIELD_BOOSTS: dict[str, float] = {TEXT: 3.0, TEXT_FOLDED: 1.0, META: 6.0, META_FOLDED: 2.0}
FOLDED_FIELDS = frozenset({TEXT_FOLDED, META_FOLDED})
# Score of a word matched only within one edit (OCR error), whatever the field. Such matches
# are looked for only when exact (or folded) matches do not fill the results (see
# with_fuzzy_hits), and always rank after them.
FUZZY_SCORE = 0.25
# Added to the score of a document whose number equals the whole query. BM25 scores of real
# queries stay far below this, so such a document always comes first.
NUMBER_MATCH_SCORE = 1000.0

# Separates the values of a meta field so that no phrase spans from one to the next; queries
# never contain it (tokens are letters and digits only).
VALUE_BREAK = "|"

_DATE_SHIFT = 10**10  # doc_ids stay below this


def date_key(issue_date: dt.date | None, doc_id: int) -> int:
    """yyyymmdd * 10^10 + doc_id (0 for yyyymmdd when the date is unknown).

    One integer serves the date range filter and the date sort, with a deterministic tie
    order (newer doc_id first) that both engines reproduce.
    """
    day = issue_date.year * 10000 + issue_date.month * 100 + issue_date.day if issue_date else 0
    return day * _DATE_SHIFT + doc_id


def date_key_range(filters: SearchFilters) -> tuple[int | None, int | None]:
    """Inclusive (low, high) date_key bounds for the filter's dates, None where open.

    A document without a date never meets a date filter.
    """
    if filters.date_from is None and filters.date_to is None:
        return None, None
    low = date_key(filters.date_from or dt.date(1, 1, 1), 0)
    high = date_key(filters.date_to, _DATE_SHIFT - 1) if filters.date_to else None
    return low, high


@dataclass(frozen=True)
class KeywordFilters:
    """SearchFilters turned into index keys."""

    date_low: int | None
    date_high: int | None
    doc_type: str | None
    issuing_body: tuple[str, ...]  # folded words, in order
    profile: str | None
    signature_status: str | None
    max_confidentiality: int | None = None

    @property
    def shows_nothing(self) -> bool:
        """A clearance below every level: no document may be counted at all."""
        return self.max_confidentiality is not None and self.max_confidentiality < 0


def keyword_filters(filters: SearchFilters) -> KeywordFilters:
    low, high = date_key_range(filters)
    return KeywordFilters(
        max_confidentiality=filters.max_confidentiality,
        date_low=low,
        date_high=high,
        doc_type=document_type_key(filters.doc_type) if filters.doc_type else None,
        issuing_body=tuple(fold_tokens(tokenize(filters.issuing_body or ""))),
        profile=keyword(filters.profile) if filters.profile else None,
        signature_status=keyword(filters.signature_status) if filters.signature_status else None,
    )


@dataclass(frozen=True)
class PreparedDocument:
    """A document analysed once, ready for any engine."""

    doc_id: int
    text: str  # normalised tokens joined by spaces
    text_folded: str
    text_pairs: str
    meta: str
    meta_folded: str
    number: str | None
    date_key: int
    doc_type: str | None
    issuing_body: str  # folded tokens joined by spaces
    profile: str | None
    signature_status: str | None
    stored: bytes
    confidentiality: int = 0
    year: int | None = None
    labels: tuple[tuple[str, str], ...] = ()  # (facet field, value as written) of each facet


def _label(value: str | None) -> str | None:
    return " ".join(unicodedata.normalize("NFC", value).split()) or None if value else None


def prepare(doc: IndexedDocument) -> PreparedDocument:
    text_tokens = tokenize(doc.text)
    folded_tokens = fold_tokens(text_tokens)
    body_tokens = tokenize(doc.issuing_body) if doc.issuing_body else []
    meta_tokens: list[str] = []
    for tokens in (tokenize(doc.title or ""), tokenize(doc.number or ""), body_tokens):
        if tokens:
            if meta_tokens:
                meta_tokens.append(VALUE_BREAK)
            meta_tokens.extend(tokens)
    number = normalize_number(doc.number) if doc.number and doc.number.strip() else None
    return PreparedDocument(
        doc_id=doc.doc_id,
        text=" ".join(text_tokens),
        text_folded=" ".join(folded_tokens),
        text_pairs=" ".join(map(PAIR_JOINER.join, zip(folded_tokens, folded_tokens[1:]))),
        meta=" ".join(meta_tokens),
        meta_folded=" ".join(fold_tokens(meta_tokens)),
        number=number or None,
        date_key=date_key(doc.issue_date, doc.doc_id),
        doc_type=document_type_key(doc.doc_type) or None if doc.doc_type else None,
        issuing_body=" ".join(fold_tokens(body_tokens)),
        profile=keyword(doc.profile) or None if doc.profile else None,
        signature_status=keyword(doc.signature_status) or None if doc.signature_status else None,
        stored=stored_bytes(doc),
        confidentiality=int(doc.confidentiality),
        year=doc.issue_date.year if doc.issue_date else None,
        labels=tuple(
            (FACET_FIELDS[name], label)
            for name, value in (("doc_type", doc.doc_type), ("issuing_body", doc.issuing_body),
                                ("profile", doc.profile), ("signature_status", doc.signature_status))
            if (label := _label(value))
        ),
    )


def prepare_all(docs: list[IndexedDocument]) -> list[PreparedDocument]:
    """prepare() for a list: the unit of work a rebuild hands to a helper process."""
    return [prepare(doc) for doc in docs]


def stored_bytes(doc: IndexedDocument) -> bytes:
    """What the index stores of a document: every field a hit shows, and the page texts."""
    record = {
        "title": doc.title,
        "number": doc.number,
        "issue_date": doc.issue_date.isoformat() if doc.issue_date else None,
        "doc_type": doc.doc_type,
        "issuing_body": doc.issuing_body,
        "profile": doc.profile,
        "signature_status": doc.signature_status,
        "confidentiality": int(doc.confidentiality),
        "pages": list(doc.page_texts),
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def make_hit(
    doc_id: int, score: float, stored: bytes, parsed: ParsedQuery, matcher: Matcher | None
) -> SearchHit:
    """The hit for a stored document; with a snippet when given the search's Matcher."""
    record = json.loads(stored)
    snippet, page = make_snippet(record["pages"], parsed, matcher) if matcher else ("", None)
    issue_date = record.get("issue_date")
    return SearchHit(
        doc_id=doc_id,
        score=score,
        title=record.get("title"),
        number=record.get("number"),
        issue_date=dt.date.fromisoformat(issue_date) if issue_date else None,
        doc_type=record.get("doc_type"),
        issuing_body=record.get("issuing_body"),
        profile=record.get("profile"),
        signature_status=record.get("signature_status"),
        # An entry without a level is never read (SCHEMA_VERSION 4); were one read, it
        # would not pass for thường.
        confidentiality=int(record.get("confidentiality", 3)),
        snippet=snippet,
        snippet_page=page,
    )


Found = tuple[int, float, object]  # (doc_id, score, the engine's handle on the document)


def with_fuzzy_hits(exact: list[Found], fuzzy: list[Found], limit: int) -> list[Found]:
    """The exact hits, then those found only with OCR-error tolerance, up to `limit`.

    Words one edit away are searched in a second pass, only when the exact pass found fewer
    than `limit` documents: OCR-error matches rank below every exact match, and a query whose
    words are all found exactly pays nothing for the tolerance. Scores stay in rank order:
    the second pass's are scaled below the lowest exact score.
    """
    seen = {doc_id for doc_id, _, _ in exact}
    extra = [found for found in fuzzy if found[0] not in seen][: max(0, limit - len(exact))]
    lowest = min((score for _, score, _ in exact), default=0.0)
    highest = max((score for _, score, _ in extra), default=0.0)
    if lowest > 0 and highest > 0:
        factor = lowest / (2 * highest)
        extra = [(doc_id, score * factor, handle) for doc_id, score, handle in extra]
    return exact + extra


def pairs(folded: tuple[str, ...]) -> list[str]:
    """The TEXT_PAIRS terms of a folded phrase, in order."""
    return [PAIR_JOINER.join(pair) for pair in zip(folded, folded[1:])]


def facet_requests(filters: SearchFilters) -> list[tuple[SearchFilters, tuple[str, ...]]]:
    """Which facets to count under which filters: each facet under every filter but its own
    ("drill sideways": with type Công văn chosen, the type facet still shows the other
    types and how many each would give; the year facet leaves out the date range). The
    clearance limit is never left out. Facets whose own filter is not set share one count.
    """
    own = {"doc_type": {"doc_type": None}, "issuing_body": {"issuing_body": None},
           "year": {"date_from": None, "date_to": None}, "profile": {"profile": None},
           "signature_status": {"signature_status": None}}
    grouped: dict[SearchFilters, list[str]] = {}
    for name in FACETS:
        grouped.setdefault(dataclasses.replace(filters, **own[name]), []).append(name)
    return [(wider, tuple(names)) for wider, names in grouped.items()]


def facet_counts(name: str, raw: Mapping[object, int]) -> dict[str, int]:
    """One facet's counts as a page shows them, most documents first: values that are one
    filter key (spellings of "Công văn") counted as one, under their commonest spelling."""
    if name == "year":
        years = {str(int(year)): int(count) for year, count in raw.items() if year and int(year) > 0}
        return dict(sorted(years.items(), key=lambda item: (-item[1], item[0])))
    key_of = document_type_key if name == "doc_type" else keyword
    groups: dict[str, list[tuple[str, int]]] = {}
    for label, count in raw.items():
        if isinstance(label, str) and label and count:
            groups.setdefault(key_of(label), []).append((label, int(count)))
    merged = {
        # (upper case is a stamp's spelling, not the name's)
        min(spellings, key=lambda item: (-item[1], item[0].isupper(), item[0]))[0]:
            sum(count for _, count in spellings)
        for spellings in groups.values()
    }
    return dict(sorted(merged.items(), key=lambda item: (-item[1], item[0])))
