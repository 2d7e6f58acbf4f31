"""`sohoa search`, `reindex`, `check`: the search index."""

from __future__ import annotations

from commands.common import (
    EXIT_FAILED, EXIT_OK, UserError, catalog_source, open_home, open_search_index, print_json, quoted, reindex,
)

# index.signature_status_of's values, as the clerk reads them.
SIGNATURE_STATUSES = {"signed": "đã ký", "unsigned": "không ký", "invalid": "chữ ký không hợp lệ"}


def _one_of(option: str, value: str, valid: dict[str, str]) -> None:
    """Refuse a filter value no document can have (it once found nothing, silently), naming
    the values there are. `valid`: folded key -> how it is shown."""
    from index.analysis import keyword

    if keyword(value) not in valid:
        raise UserError(f"{option} «{value}» không có; chọn một trong: {', '.join(valid.values())}")


def _check_filters(args, home, types: dict[str, str]) -> None:
    """types: symbol -> name, the home's table (core.lookup), retired types included."""
    from index.analysis import document_type_key, keyword
    from header.vocabulary import CONG_VAN

    if args.type:
        names = {keyword(name): f"{name} ({symbol})" for symbol, name in types.items()}
        names[keyword(CONG_VAN)] = CONG_VAN
        if document_type_key(args.type) not in names:
            raise UserError(f"--type «{args.type}» không phải loại văn bản nào; chọn một trong (tên hoặc ký hiệu): "
                            + ", ".join(names.values()))
    if args.profile:
        from watch_folders.settings import load_watch_settings

        profiles = load_watch_settings(home.config_path).profiles
        _one_of("--profile", args.profile, {keyword(p.name): p.name for p in profiles})
    if args.signature:
        _one_of("--signature", args.signature,
                {keyword(value): f"{value} ({meaning})" for value, meaning in SIGNATURE_STATUSES.items()})


def _search_options(args):
    from index import SearchFilters, SearchOptions, Sort
    from index.dates import DateInputError, parse_day

    try:
        filters = SearchFilters(
            date_from=parse_day(args.date_from) if args.date_from else None,
            date_to=parse_day(args.date_to, end=True) if args.date_to else None,
            doc_type=args.type, issuing_body=args.agency, profile=args.profile,
            signature_status=args.signature,
        )
    except DateInputError as error:
        raise UserError(str(error)) from error
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise UserError(f"khoảng ngày ngược: --from {args.date_from} sau --to {args.date_to}; "
                        "hãy đổi chỗ hai ngày")
    return SearchOptions(filters=filters, sort=Sort(args.sort))


def _search_result_json(hit, row, archive) -> dict:
    return {
        "id": hit.doc_id,
        "score": round(hit.score, 4),
        "title": hit.title,
        "number": hit.number,
        "date": hit.issue_date.isoformat() if hit.issue_date else None,
        "type": hit.doc_type,
        "issuing_body": hit.issuing_body,
        "profile": hit.profile,
        "signature_status": hit.signature_status,
        "snippet": hit.snippet,  # HTML: escaped text, matched words in <mark>
        "snippet_page": hit.snippet_page,
        "pages": row.page_count,
        "pdfa": str(archive.path(row.pdfa_file)),
    }


def cmd_search(args) -> int:
    from index import Sort
    from index.snippets import plain_snippet
    from core.archive import ArchiveStore
    from core.catalog import Catalog

    from core.lookup import document_types, type_name

    home = open_home(args)
    config = home.config()
    with Catalog(home.catalog_path) as catalog:
        # the home's types, as its administrator keeps them: a symbol added there is one here
        types = document_types(catalog.alias, active_only=False)
    if args.type:
        args.type = type_name(args.type, types) or args.type
    options = _search_options(args)
    _check_filters(args, home, types)
    if not args.query.strip() and options.filters.is_empty:
        raise UserError("hãy nhập từ khóa, hoặc ít nhất một điều kiện lọc (--from, --to, --type, --agency ...)")
    with Catalog(home.catalog_path) as catalog, open_search_index(home, config.index_engine, catalog) as index:
        hits = index.search(args.query, limit=args.limit, options=options)
        total = index.count_matches(args.query, options=options) if len(hits) >= args.limit else len(hits)
        # The catalog is the truth: an index entry without a catalog row is never shown.
        rows = catalog.get_many([hit.doc_id for hit in hits])
        archive = ArchiveStore(home.archive_dir)
    # A withdrawn record is never shown, even by an index not yet told (`sohoa check` finds it).
    results = [_search_result_json(hit, rows[hit.doc_id], archive) for hit in hits
               if hit.doc_id in rows and rows[hit.doc_id].withdrawn_at is None]
    # What the index holds but the catalog refuses to show is not counted either.
    total = max(total - (len(hits) - len(results)), len(results))
    asked = f"«{args.query}»" if args.query.strip() else "các điều kiện đã chọn"
    if args.json:
        print_json({"query": args.query, "sort": options.sort.value, "count": len(results), "total": total,
                    "results": results})
        return EXIT_OK
    if not results:
        print(f"Không tìm thấy tài liệu nào cho {asked}.")
        return EXIT_OK
    order = " (mới nhất trước)" if options.sort is Sort.DATE or not args.query.strip() else ""
    shown_part = f", hiện {len(results)} (thêm --limit để xem nhiều hơn)" if total > len(results) else ""
    print(f"Tìm thấy {total} tài liệu cho {asked}{shown_part}{order}:")
    for rank, result in enumerate(results, start=1):
        details = [f"số {result['number']}"] if result["number"] else []
        if result["date"]:
            details.append("ngày " + ".".join(reversed(result["date"].split("-"))).replace(".", "/"))
        details += [value for value in (result["type"], result["issuing_body"]) if value]
        print(f"{rank:>3}. [mã {result['id']}] {result['title']}"
              + "".join(f" — {detail}" for detail in details) + f" ({result['pages']} trang)")
        if result["snippet"]:
            print(f"     trang {result['snippet_page']}: {plain_snippet(result['snippet'])}")
        print(f"     {result['pdfa']}")
    return EXIT_OK


def cmd_reindex(args) -> int:
    from core.catalog import Catalog

    home = open_home(args)
    engine = home.config().index_engine
    with Catalog(home.catalog_path) as catalog:
        documents = catalog.count_documents()
        if not args.json:
            print(f"Dựng lại chỉ mục tìm kiếm ({engine}) từ danh mục: {documents:,} tài liệu"
                  .replace(",", "."))
        report = reindex(home, engine, catalog, batch_size=args.batch_size)
    if args.json:
        print_json({"engine": engine, "catalog_documents": documents, "indexed": report.indexed,
                    "resumed_after": report.resumed_from or None})
        return EXIT_OK
    if report.resumed_from:
        print(f"  (tiếp tục lần dựng dở trước, sau tài liệu mã {report.resumed_from})")
    print(f"Xong: chỉ mục có {report.indexed:,} tài liệu.".replace(",", "."))
    return EXIT_OK


# The fields an index entry stores (index.documents.stored_bytes), as `check` names them.
_INDEX_FIELDS = {"title": "trích yếu", "number": "số ký hiệu", "issue_date": "ngày ban hành",
                 "doc_type": "loại văn bản", "issuing_body": "cơ quan ban hành", "profile": "hồ sơ xử lý",
                 "signature_status": "trạng thái chữ ký", "pages": "nội dung các trang"}


def cmd_check(args) -> int:
    from index import check_index, open_index, repair_index
    from core.catalog import Catalog
    from pipeline.index_queue import drain, without_waiting

    home = open_home(args)
    engine = home.config().index_engine
    with Catalog(home.catalog_path) as catalog:
        # Every stored field of every entry against what the catalog says; the source
        # leaves withdrawn records out, so they are expected absent.
        with open_index(home.index_dir, engine) as index:
            # Documents waiting for the index writer are indexed now if it is free, else pending.
            waiting = drain(catalog, index, wait_seconds=5.0).waiting
            report = without_waiting(check_index(index, catalog_source(catalog)), waiting)
            if args.repair and not report.ok and not report.needs_rebuild:
                repair_index(index, catalog_source(catalog), report)
        if args.repair and report.needs_rebuild:
            reindex(home, engine, catalog)
        after = None
        if args.repair and not report.ok:
            with open_index(home.index_dir, engine) as index:
                after = without_waiting(check_index(index, catalog_source(catalog)), waiting)
    final = after or report
    if args.json:
        print_json({"ok": report.ok, "catalog_documents": report.catalog_count,
                    "indexed_documents": report.index_count, "needs_rebuild": report.needs_rebuild,
                    "missing_from_index": list(report.missing), "gone_from_catalog": list(report.orphaned),
                    "differing": [{"id": d.doc_id, "fields": {name: {"index": got, "catalog": wanted}
                                                              for name, got, wanted in d.fields}}
                                  for d in report.differing],
                    "repaired": after is not None, "ok_after_repair": after.ok if after else None,
                    "waiting_for_index": sorted(waiting)})
        return EXIT_OK if final.ok else EXIT_FAILED
    print(f"Danh mục: {report.catalog_count} tài liệu; chỉ mục tìm kiếm: {report.index_count} tài liệu.")
    if waiting:
        print(f"{len(waiting)} tài liệu đã lưu, đang chờ vào chỉ mục (chỉ mục đang bận, không phải lỗi): mã "
              + _some_ids(tuple(sorted(waiting))))
    if report.needs_rebuild:
        print("Chỉ mục được tạo bởi phiên bản khác hoặc bộ máy tìm kiếm khác: cần dựng lại.")
    if report.missing:
        print(f"{len(report.missing)} tài liệu có trong danh mục nhưng không tìm được: mã "
              + _some_ids(report.missing))
    if report.orphaned:
        print(f"{len(report.orphaned)} tài liệu trong chỉ mục không còn trong danh mục: mã "
              + _some_ids(report.orphaned))
    for difference in report.differing[:50]:
        print(f"[mã {difference.doc_id}] chỉ mục khác danh mục: "
              + "; ".join(_field_difference(*field) for field in difference.fields))
    if len(report.differing) > 50:
        print(f"... và {len(report.differing) - 50} tài liệu khác có chỉ mục sai.")
    if report.ok:
        print("Chỉ mục khớp với danh mục.")
        return EXIT_OK
    if after is None:
        print("Chạy `sohoa check --repair` để sửa các mục sai (hoặc `sohoa reindex` để dựng lại toàn bộ).")
        return EXIT_FAILED
    if after.ok:
        print("Đã sửa chỉ mục: nay khớp với danh mục.")
        return EXIT_OK
    print("Đã sửa nhưng chỉ mục vẫn chưa khớp danh mục (có tiến trình khác đang ghi?); "
          "chạy lại `sohoa check`, hoặc `sohoa reindex`.")
    return EXIT_FAILED


def _field_difference(name: str, in_index: object, in_catalog: object) -> str:
    label = f"{_INDEX_FIELDS.get(name, name)} ({name})"
    if name == "pages":
        return label
    return f"{label}: chỉ mục {quoted(in_index)}, danh mục {quoted(in_catalog)}"


def _some_ids(ids: tuple[int, ...], shown: int = 20) -> str:
    return ", ".join(map(str, ids[:shown])) + (f" ... (và {len(ids) - shown} mã khác)" if len(ids) > shown else "")
