"""What is indexed and what a search asks and returns: the records the engines and the
rest of sohoa exchange (the SearchIndex interface itself is in index.engine)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from core.confidentiality import Level
from core.errors import SohoaError
from core.events import Step
from core.text import fold
from core.record_metadata import RecordMetadata

# Bumped whenever what is indexed, or how it is analysed, changes. An index written with
# another version is rebuilt from the catalog (see index.store and index.rebuild).
# 4: confidentiality levels, facet columns. An index without levels is never searched: it is
# replaced by an empty generation marked needs_rebuild, so no stale entry can show a
# classified document to a user below its level.
SCHEMA_VERSION = 4


class SearchIndexError(SohoaError):
    """Any failure of the search index (bad engine name, locked or incompatible index, ...)."""

    code = "index-unavailable"


@dataclass(frozen=True)
class IndexedDocument:
    """What the index knows about one document. Everything but doc_id and text is optional.

    `text` is what is searched. `pages` are the same text page by page, so that a snippet can
    name its page; without them the whole text counts as page 1.
    """

    doc_id: int
    text: str  # full OCR text, NFC
    number: str | None = None  # number and symbol, e.g. "268/SGTVT-VP" or "30/2020/NĐ-CP"
    title: str | None = None  # summary (trích yếu) or, until it is known, the original file name
    issue_date: dt.date | None = None
    doc_type: str | None = None  # tên loại: "Công văn", "Quyết định", ...
    issuing_body: str | None = None  # cơ quan ban hành: "Sở Giao thông vận tải"
    profile: str | None = None  # processing profile the document went through
    signature_status: str | None = None  # e.g. "signed", "unsigned", "invalid"
    pages: tuple[str, ...] = ()
    confidentiality: int = 0  # core.confidentiality.Level value; see confidentiality_level()

    @property
    def page_texts(self) -> tuple[str, ...]:
        return self.pages or (self.text,)

    @classmethod
    def from_record(
        cls, doc_id: int, metadata: Mapping[str, object] | RecordMetadata, page_texts: Sequence[str],
        signature_status: str | None = None,
    ) -> IndexedDocument:
        """Build the index entry of a catalog record: its metadata and page texts.

        The one place that decides which metadata the index reads, so ingest and reindex
        cannot disagree; it reads the typed record (core.record_metadata), whose keys are
        the ones ingest and `sohoa set` write. Malformed values are left out, never fatal.
        """
        record = metadata if isinstance(metadata, RecordMetadata) else RecordMetadata.from_mapping(metadata)
        pages = tuple(page_texts)
        return cls(
            doc_id=doc_id,
            text="\n\n".join(pages),
            number=_text(record.number),
            title=record.display_title,
            issue_date=record.date,
            doc_type=_text(record.doc_type),
            issuing_body=_text(record.issuing_body),
            profile=_text(record.profile),
            signature_status=_text(signature_status) or _text(record.extra.get("signature_status")),
            pages=pages,
            confidentiality=int(confidentiality_level(
                record.confidentiality if record.confidentiality is not None
                else record.extra.get("confidentiality"))),
        )


_WORD = re.compile(r"[^\W_]+")


def confidentiality_level(mark: object) -> int:
    """The level a record's confidentiality mark means, as the index filters on it.

    Absent or blank: thường (0). A level's label or slug in any case, with or without
    diacritics ("MẬT", "tối-mật", "Tuyet mat"), or its number: that level. Anything else is
    a mark we cannot read, and reading it wrong must never show a document to someone not
    cleared for it: the highest level whose words it contains ("ĐỘ MẬT: TỐI MẬT" -> tối
    mật), and at least mật when it names none.
    """
    if mark is None or isinstance(mark, bool):
        return Level.MAT if mark else Level.THUONG
    if isinstance(mark, int):
        return Level(mark) if 0 <= mark <= Level.TUYET_MAT else Level.TUYET_MAT
    if not isinstance(mark, str):
        return Level.MAT
    if not mark.strip():
        return Level.THUONG
    try:
        return Level.parse(mark)
    except ValueError:
        pass
    words = " " + " ".join(_WORD.findall(fold(mark))) + " "
    named = [level for level in Level if level and f" {fold(level.label)} " in words]
    return max([Level.MAT, *named])


def index_entry(
    doc_id: int,
    metadata: Mapping[str, object] | RecordMetadata,
    page_texts: Sequence[str],
    events: Iterable[tuple[str, str]],
) -> IndexedDocument:
    """The index entry of a catalogued document: its metadata, page texts and audit trail
    ((step, outcome) pairs in order).

    Ingest, `sohoa set`, renewal, reindex and `sohoa check` all build entries here, so an
    entry written by one is exactly what the others expect. The signature status is not
    part of the metadata: it comes from the audit trail, which every caller has.
    """
    return IndexedDocument.from_record(doc_id, metadata, page_texts, signature_status_of(events))


def signature_status_of(events: Iterable[tuple[str, str]]) -> str | None:
    """The signature status the index files a document under, from its audit trail's
    (step, outcome) pairs in order: "signed" (signed by the agency, or arrived signed and
    verified), "invalid" (arrived signed, did not verify), "unsigned" (signing was off);
    None when the trail says nothing about signing."""
    status = None
    for step, outcome in events:
        if step == Step.SIGNED:
            status = "unsigned" if outcome == "skipped" else "signed" if outcome == "ok" else status
        elif step == Step.SIGNATURE_VERIFIED:
            status = "signed" if outcome == "ok" else "invalid"
    return status


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


class Sort(enum.Enum):
    RELEVANCE = "relevance"
    DATE = "date"  # newest issue date first; documents without a date last


@dataclass(frozen=True)
class SearchFilters:
    """Conditions every hit must meet; they do not change the ranking.

    Text values are compared after folding (case and diacritics do not matter). doc_type
    also takes a symbol ("QĐ"); issuing_body matches when its words appear in that order
    in the document's issuing body ("nội vụ" matches "Sở Nội vụ").
    """

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    doc_type: str | None = None
    issuing_body: str | None = None
    profile: str | None = None
    signature_status: str | None = None
    # The reader's clearance (web.permissions.max_level): documents above it are not there
    # at all for this search: no hit, count, facet or snippet. None: no limit (the CLI, run
    # by whoever owns the archive). Below 0: nothing.
    max_confidentiality: int | None = None

    @property
    def is_empty(self) -> bool:
        """No condition that selects documents. The clearance limit only hides some, so
        an empty query with nothing but a limit still finds nothing."""
        return dataclasses.replace(self, max_confidentiality=None) == SearchFilters()


@dataclass(frozen=True)
class SearchOptions:
    filters: SearchFilters = field(default_factory=SearchFilters)
    sort: Sort = Sort.RELEVANCE
    snippets: bool = True  # compute a snippet for each hit


@dataclass(frozen=True)
class SearchHit:
    """One result. `score` is the relevance (0.0 when sorted by date)."""

    doc_id: int
    score: float
    title: str | None = None
    number: str | None = None
    issue_date: dt.date | None = None
    doc_type: str | None = None
    issuing_body: str | None = None
    profile: str | None = None
    signature_status: str | None = None
    confidentiality: int = 0  # core.confidentiality.Level value
    # HTML: the text around the best match, escaped, matched words in <mark>...</mark>.
    snippet: str = ""
    snippet_page: int | None = None  # 1-based page of the snippet
