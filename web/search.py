"""The staff's search, shared by the search page and the REST API: GET parameters in, one
page of results with facet counts out, for one user.

`search_documents(user, params)` is the one entry point. `params` is any mapping of the
query's parameters (request.GET, or a plain dict):

    q          the words typed: Vietnamese with or without diacritics, a document number
    type       loại văn bản (name or symbol)      agency     cơ quan ban hành
    year       năm ban hành (4 digits)            profile    hồ sơ xử lý
    signature  signed | unsigned | invalid        sort       relevance | date
    page       1-based page of results (PER_PAGE each)

The user's clearance goes into the index's own filter (SearchFilters.max_confidentiality),
so documents above it are absent from hits, totals, facet counts and snippets alike; the
catalog is asked again for the hits shown (withdrawn or not cleared: never shown).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.utils.safestring import SafeString, mark_safe

PER_PAGE = 20
# The facets the page offers, in order: (parameter, label).
FACETS = (("type", "Loại văn bản"), ("agency", "Cơ quan ban hành"), ("year", "Năm"),
          ("profile", "Hồ sơ xử lý"), ("signature", "Chữ ký số"))
FILTER_PARAMETERS = tuple(name for name, _ in FACETS)
# index.signature_status_of's values, as staff read them.
SIGNATURE_STATUSES = {"signed": "đã ký số", "unsigned": "không ký số", "invalid": "chữ ký không hợp lệ"}
SORTS = {"relevance": "liên quan nhất", "date": "mới nhất"}
# Facet values beyond this many per facet are left out (the most frequent are kept).
FACET_VALUES = 12
_QUERY_LIMIT = 500  # characters of q read; a longer paste is cut, never an error


@dataclass(frozen=True)
class SearchParams:
    """The query as the URL holds it (every value a string, "" when absent)."""

    q: str = ""
    type: str = ""
    agency: str = ""
    year: str = ""
    profile: str = ""
    signature: str = ""
    sort: str = "relevance"
    page: int = 1

    @classmethod
    def from_mapping(cls, params: Mapping) -> SearchParams:
        def one(name: str) -> str:
            value = params.get(name, "")
            return (value if isinstance(value, str) else str(value or "")).strip()

        try:
            page = max(1, min(int(one("page") or 1), 10_000))
        except ValueError:
            page = 1
        sort = one("sort")
        return cls(q=one("q")[:_QUERY_LIMIT], type=one("type"), agency=one("agency"), year=one("year"),
                   profile=one("profile"), signature=one("signature"),
                   sort=sort if sort in SORTS else "relevance", page=page)

    @property
    def filters(self) -> dict[str, str]:
        """The filters in use: parameter -> value."""
        return {name: getattr(self, name) for name in FILTER_PARAMETERS if getattr(self, name)}

    @property
    def is_empty(self) -> bool:
        return not self.q and not self.filters

    def url(self, **changes) -> str:
        """The search page's address for this query with `changes` (a value "" drops the
        parameter; the page goes back to 1 unless it is one of the changes)."""
        values = dataclasses.asdict(self)
        values["page"] = 1
        values.update(changes)
        pairs = [(name, value) for name, value in values.items()
                 if value not in ("", None) and not (name == "sort" and value == "relevance")
                 and not (name == "page" and int(value) == 1)]
        return "/?" + urlencode(pairs) if pairs else "/"


@dataclass(frozen=True)
class Result:
    doc_id: int
    title: str
    number: str
    date: str  # dd/mm/yyyy or ""
    doc_type: str
    issuing_body: str
    snippet: SafeString  # escaped text with <mark>: safe as the index made it
    snippet_page: int | None
    page_count: int
    url: str  # the document page, carrying the search (q drawn on the pages, the rest for «back»)


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    url: str  # the search with this value chosen, or dropped when it is the chosen one


@dataclass(frozen=True)
class Facet:
    name: str
    label: str
    values: tuple[FacetValue, ...]


@dataclass(frozen=True)
class SearchPage:
    params: SearchParams
    results: tuple[Result, ...] = ()
    total: int = 0
    page: int = 1
    pages: int = 0
    facets: tuple[Facet, ...] = ()
    problems: tuple[str, ...] = ()  # what was wrong with the query, in Vietnamese
    searched: bool = False  # False: nothing asked yet (empty box, no filter)

    @property
    def first(self) -> int:
        return (self.page - 1) * PER_PAGE + 1 if self.results else 0

    @property
    def last(self) -> int:
        return self.first + len(self.results) - 1 if self.results else 0

    @property
    def previous_url(self) -> str | None:
        return self.params.url(page=self.page - 1) if self.page > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.params.url(page=self.page + 1) if self.page < self.pages else None

    @property
    def page_links(self) -> list[tuple[int, str | None]]:
        """(number, url) around the current page; url None for the current one, 0 for a gap."""
        wanted = sorted({1, self.pages, *range(max(1, self.page - 2), min(self.pages, self.page + 2) + 1)})
        links: list[tuple[int, str | None]] = []
        for number in wanted:
            if links and number - links[-1][0] > 1:
                links.append((0, None))
            links.append((number, None if number == self.page else self.params.url(page=number)))
        return links

    @property
    def sort_links(self) -> list[tuple[str, str | None]]:
        """(label, url) of each order; url None for the one in use."""
        return [(label, None if key == self.params.sort else self.params.url(sort=key)) for key, label in SORTS.items()]

    @property
    def active_filters(self) -> list[tuple[str, str, str]]:
        """(label, value shown, url without it) of each filter in use."""
        labels = dict(FACETS)
        return [(labels[name], _value_label(name, value), self.params.url(**{name: ""}))
                for name, value in self.params.filters.items()]


def _value_label(name: str, value: str) -> str:
    return SIGNATURE_STATUSES.get(value, value) if name == "signature" else value


def open_home_index():
    """The search index of the home the web application serves (settings.SOHOA_HOME), with
    the engine its config names. The caller closes it (a context manager)."""
    from core.home import Home
    from index import open_index

    home = Home(Path(settings.SOHOA_HOME))
    return open_index(home.index_dir, home.config().index_engine)


def search_options(user, params: SearchParams):
    """The index's options for this query and this user: (SearchOptions, problems)."""
    from index import SearchFilters, SearchOptions, Sort
    from web.permissions import max_level

    problems = []
    date_from = date_to = None
    if params.year:
        if params.year.isdigit() and 1000 <= int(params.year) <= 9999:
            date_from, date_to = dt.date(int(params.year), 1, 1), dt.date(int(params.year), 12, 31)
        else:
            problems.append(f"Năm «{params.year}» không hợp lệ (cần 4 chữ số, ví dụ 2024): bỏ qua điều kiện năm.")
    signature = params.signature
    if signature and signature not in SIGNATURE_STATUSES:
        problems.append(f"Trạng thái chữ ký «{signature}» không có; chọn một trong: "
                        + ", ".join(SIGNATURE_STATUSES.values()) + ". Bỏ qua điều kiện này.")
        signature = ""
    filters = SearchFilters(
        date_from=date_from, date_to=date_to, doc_type=params.type or None, issuing_body=params.agency or None,
        profile=params.profile or None, signature_status=signature or None,
        max_confidentiality=max_level(user),
    )
    sort = Sort.DATE if params.sort == "date" else Sort.RELEVANCE
    return SearchOptions(filters=filters, sort=sort), tuple(problems)


def search_documents(user, params: Mapping | SearchParams, *, index=None) -> SearchPage:
    """One page of results for `user` (who must be allowed Action.SEARCH: the views check
    it; a user without it gets nothing here all the same). `index`: an open SearchIndex to
    use instead of the home's (the caller keeps it open across requests if it likes)."""
    from web.permissions import max_level

    params = params if isinstance(params, SearchParams) else SearchParams.from_mapping(params)
    if params.is_empty or max_level(user) < 0:
        return SearchPage(params=params)
    options, problems = search_options(user, params)
    if index is None:
        with open_home_index() as opened:
            return _search(user, params, options, problems, opened)
    return _search(user, params, options, problems, index)


def _search(user, params: SearchParams, options, problems, index) -> SearchPage:
    from web.permissions import visible_documents

    offset = (params.page - 1) * PER_PAGE
    hits = index.search(params.q, limit=PER_PAGE, options=options, offset=offset)
    total = index.count_matches(params.q, options=options) if hits or offset else 0
    pages = max(1, -(-total // PER_PAGE)) if total else 0
    # The catalog is the truth: a hit it does not show this user (withdrawn, or above their
    # clearance should the index be behind) is never shown nor counted.
    rows = {row.pk: row for row in visible_documents(user).filter(pk__in=[hit.doc_id for hit in hits])}
    shown = [hit for hit in hits if hit.doc_id in rows]
    total = max(total - (len(hits) - len(shown)), offset + len(shown)) if total else len(shown)
    results = tuple(_result(hit, rows[hit.doc_id], params) for hit in shown)
    facets = _facets(index, params, options)
    if getattr(index, "needs_rebuild", False):
        # the web only reads the index; `sohoa serve`'s service or `sohoa reindex` rebuilds it
        problems += ("Chỉ mục tìm kiếm đang chờ dựng lại (phiên bản mới hoặc đổi bộ máy tìm kiếm) nên kết quả "
                     "có thể thiếu; hãy báo quản trị chạy «sohoa reindex».",)
    return SearchPage(params=params, results=results, total=total, page=params.page, pages=pages,
                      facets=facets, problems=problems, searched=True)


def _result(hit, row, params: SearchParams) -> Result:
    return Result(
        doc_id=hit.doc_id, title=hit.title or row.original_name, number=hit.number or "",
        date=hit.issue_date.strftime("%d/%m/%Y") if hit.issue_date else "",
        doc_type=hit.doc_type or "", issuing_body=hit.issuing_body or "",
        snippet=mark_safe(hit.snippet),  # noqa: S308  escaped by index.snippets, <mark> its only tag
        snippet_page=hit.snippet_page, page_count=row.page_count,
        # the whole search rides along: the page draws the words' hits and links back to it
        url=f"/tai-lieu/{hit.doc_id}/" + params.url(page=params.page)[1:],
    )


# -- facet counts ----------------------------------------------------------------------------

# index.SearchIndex.facets' names, to the parameters the page uses for them.
_FACET_NAMES = {"doc_type": "type", "issuing_body": "agency", "year": "year", "profile": "profile",
                "signature_status": "signature"}


def facet_counts(index, query: str, options) -> dict[str, dict[str, int]]:
    """parameter -> {value: documents} under the query and the clearance, each facet under
    every filter but its own (index.SearchIndex.facets: a chosen type still shows the other
    types to switch to)."""
    counts: dict[str, dict[str, int]] = {name: {} for name in FILTER_PARAMETERS}
    for name, values in index.facets(query, options).items():
        if name in _FACET_NAMES:
            counts[_FACET_NAMES[name]] = {str(value): int(count) for value, count in values.items() if value and count}
    return counts


def _facets(index, params: SearchParams, options) -> tuple[Facet, ...]:
    counts = facet_counts(index, params.q, options)
    facets = []
    for name, label in FACETS:
        chosen = getattr(params, name)
        values = counts.get(name, {})
        order = sorted(values.items(), key=lambda item: (-int(item[0]), 0) if name == "year" else (-item[1], item[0]))
        shown = order[:FACET_VALUES]
        facets.append(Facet(name=name, label=label, values=tuple(
            FacetValue(value=value, label=_value_label(name, value), count=count,
                       selected=_same(value, chosen),
                       url=params.url(**{name: "" if _same(value, chosen) else value}))
            for value, count in shown)))
    return tuple(facet for facet in facets if facet.values)


def _same(value: str, chosen: str) -> bool:
    from core.text import fold

    return bool(chosen) and fold(value).strip() == fold(chosen).strip()
