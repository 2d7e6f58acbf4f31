"""The `sohoa` command: every subcommand is one small function."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import sys
import time
from pathlib import Path

from index import (
    DocumentSource,
    ManagedIndex,
    RebuildProgress,
    RebuildReport,
    SearchFilters,
    SearchHit,
    SearchIndexError,
    SearchOptions,
    Sort,
    check_index,
    index_entry,
    open_index,
    rebuild_index,
    repair_index,
)
from index.dates import DateInputError, parse_day
from index.rebuild import DEFAULT_BATCH
from index.snippets import plain_snippet
from ocr.errors import InputRejected
from ocr.pdfa import PdfaInvalid
from ocr.tesseract import TesseractError
from pipeline import __version__
from pipeline.archive import ArchiveStore
from pipeline import agency, audit
from pipeline import withdraw as withdrawal
from pipeline.catalog import Catalog
from pipeline.fixity import FixityResult, check_record
from pipeline.config import ConfigError, resolve_home
from pipeline.home import UMASK, Home, init_home, tighten_modes
from pipeline.header import corrections
from pipeline.header.present import flagged_lines, record_lines, review_lines, show_lines
from pipeline.header.store import duplicates_of, flagged_documents, review_queue
from pipeline.ingest import ArchivedDocument, IngestOptions, ingest_file
from pipeline.logfile import FORMAT as LOG_FORMAT, LogFile
from signing import archive_checks
from signing.errors import PinRejected, SigningError
from signing.pin_pause import LoginGuard
from signing.sign import load_trust_roots, open_agency_signer
from signing.verify import VerifyPolicy
from pipeline import verify_report
from watch_folders.eventlog import EventLog
from watch_folders.names import printable, shown
from watch_folders.paths import prepare_folders
from watch_folders.service import ServiceAlreadyRunning, run_service, running_service_pid
from watch_folders.settings import load_watch_settings
from watch_folders.status import catalog_for_status, describe, free_space, status_report
from watch_folders.stuck import describe_stuck, overdue_after, stuck_in_inbox
from watch_folders.transient import is_disk_full

log = logging.getLogger("sohoa")

EXIT_OK = 0
EXIT_FAILED = 1  # some input was refused or a record was not found
EXIT_USAGE = 2
# ingest: every file archived, but a signature one arrived with no longer vouches for it
# (the signed bytes or the file after signing were changed, or the signature is invalid)
EXIT_SIGNATURE_BROKEN = 3


class UserError(Exception):
    """A problem to report in one line, without a traceback."""


def _print_json(value) -> None:
    print(json.dumps(value, ensure_ascii=False))


def _error(message: str) -> None:
    print(f"sohoa: lỗi: {message}", file=sys.stderr)


class _OneLineFormatter(logging.Formatter):
    """The console gets one line per message; tracebacks go to the log file only."""

    def format(self, record: logging.LogRecord) -> str:
        return f"sohoa: {record.getMessage()}"


def _setup_logging(home: Home | None, verbose: bool) -> None:
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    console.setFormatter(_OneLineFormatter())
    # Records with a traceback are for the log file; the user gets our one-line message.
    console.addFilter(lambda record: not record.exc_info)
    root.addHandler(console)
    if home is not None and home.root.is_dir():
        (home.root / "logs").mkdir(exist_ok=True)
        # A log it cannot write (a full disk) is said once on the console, not per line.
        handler = LogFile(home.root / "logs" / "sohoa.log", console=sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)


def _open_home(args) -> Home:
    """The home every command but `init` works on: main() has refused one without a config."""
    home = Home(resolve_home(args.home))
    if not home.exists():  # removed since main() looked: never a new archive in its place
        raise UserError(_not_a_home(home.root))
    return home


def _not_a_home(root: Path) -> str:
    return (f"{root} không phải kho dữ liệu sohoa (không có config.toml). "
            f"Tạo kho mới: sohoa --home {root} init")


# -- commands ---------------------------------------------------------------------------


def _ask(prompt: str) -> str | None:
    """One answer typed at the terminal; empty (or Ctrl-D) keeps the default."""
    try:
        return input(prompt).strip() or None
    except EOFError:
        print(file=sys.stderr)
        return None


def cmd_init(args) -> int:
    root = resolve_home(args.home)
    name, code = args.agency_name, args.agency_code
    if Home(root).exists():
        if name is not None or code is not None:
            raise UserError(f"kho {root} đã có; đổi tên/mã cơ quan bằng: sohoa --home {root} agency set --name … --code …")
    elif sys.stdin.isatty() and (name is None or code is None):
        name = name if name is not None else _ask(f"Tên cơ quan lưu trữ [{agency.DEFAULT_NAME}]: ")
        code = code if code is not None else _ask("Mã định danh cơ quan (để trống nếu chưa có): ")
    elif name is None:
        print(f"  Tên cơ quan: dùng tên mặc định «{agency.DEFAULT_NAME}» (chưa cho --agency-name); "
              f"đổi sau bằng: sohoa --home {root} agency set --name …", file=sys.stderr)
    try:
        home, created = init_home(root, agency.template_for(name, code))
    except agency.AgencyError as error:
        raise UserError(str(error)) from None
    Catalog(home.catalog_path).close()
    open_index(home.index_dir, home.config().index_engine).close()
    if created:
        print(f"Đã tạo kho dữ liệu tại {home.root}")
    else:
        print(f"Kho dữ liệu đã có sẵn tại {home.root} (giữ nguyên cấu hình)")
        tightened = tighten_modes(home.root)
        if tightened:
            print(f"  Quyền truy cập: đã bỏ quyền của người dùng khác trên {tightened} tệp và thư mục "
                  "(phiên bản cũ để ai trên máy cũng đọc được kho); nay chỉ người dùng và nhóm của dịch vụ")
    print(f"  Cấu hình: {home.config_path}")
    signing = home.config().signing
    if signing.enabled and signing.uses_test_identity(home.root):
        print(f"  Ký số: danh tính THỬ NGHIỆM, không có giá trị pháp lý ({signing.identity.path});"
              " dùng token thật: xem README, mục «Chữ ký số»")
    elif signing.enabled:
        print(f"  Ký số: PAdES {signing.level}")
    settings = load_watch_settings(home.config_path)
    inboxes = prepare_folders(home, [profile.name for profile in settings.profiles])
    print("  Thư mục nhận bản quét (mỗi hồ sơ một thư mục; chạy `sohoa watch` để tự xử lý):")
    for profile, inbox in zip(settings.profiles, inboxes):
        print(f"    {inbox}/  ({profile.title})")
    return EXIT_OK


BROKEN_SIGNATURE = ("modified", "invalid")  # received_signature_verdict's statuses for EXIT_SIGNATURE_BROKEN


def _document_json(result: ArchivedDocument) -> dict:
    return {
        "id": result.id,
        "file": shown(printable(str(result.source))),
        "status": "duplicate" if result.duplicate else "archived",
        "pdfa": str(result.pdfa_path),
        "pages": result.page_count,
        "original_sha256": result.original_sha256,
        "pdfa_sha256": result.pdfa_sha256,
        "input_signature": result.input_signature,
        "metadata": result.metadata,
    }


def cmd_ingest(args) -> int:
    home = _open_home(args)
    config = home.config()
    failures = broken_signatures = 0
    with Catalog(home.catalog_path) as catalog, _open_search_index(home, config.index_engine, catalog) as index, \
            _agency_signer(config, home) as signer:
        options = IngestOptions(force_ocr=args.force_ocr, signer=signer, accept_damaged=args.accept_damaged)
        archive = ArchiveStore(home.archive_dir)
        for name in args.files:
            # Opened by the name as given (a share may hold NFD names); recorded in NFC.
            path = Path(name)
            # Shown decoded (a non-UTF-8 name's bytes as Vietnamese Windows text) and escaped.
            label = shown(printable(name))
            try:
                if not path.is_file():
                    raise InputRejected("không tìm thấy tệp" if not path.exists() else "không phải là tệp")
                result = ingest_file(path, home=home, config=config, catalog=catalog, archive=archive,
                                     index=index, options=options)
            except PinRejected:
                raise  # the token refused the PIN mid-run: trying the next files would spend tries
            except (InputRejected, PdfaInvalid, TesseractError, SigningError) as error:
                failures += 1
                reason = getattr(error, "reason", str(error))
                _error(f"{label}: {reason}")
                log.info("refused %s: %s", label, reason)
                if args.json:
                    code = getattr(error, "code", type(error).__name__)
                    _print_json({"file": label, "status": "failed", "error": code, "reason": reason})
                continue
            except SearchIndexError:
                raise  # the index is unusable: stop, every later file would fail the same way
            except Exception as error:  # a bug or an environment fault: say so, keep going
                failures += 1
                log.exception("unexpected error on %s", label)
                _error(f"{label}: lỗi không mong đợi ({type(error).__name__}: {error}); "
                       f"chi tiết trong {home.root / 'logs' / 'sohoa.log'}")
                if args.json:
                    _print_json({"file": label, "status": "failed", "error": "internal", "reason": str(error)})
                continue
            verdict = result.input_signature or {}
            broken = verdict.get("status") in BROKEN_SIGNATURE
            broken_signatures += broken
            damaged = (result.metadata or {}).get("damaged") if not result.duplicate else None
            flagged = (result.metadata or {}).get("needs_review") if not result.duplicate else None
            if args.json:
                _print_json(_document_json(result))
            elif result.duplicate:
                print(f"= {label}: đã có trong kho (mã {result.id}), không lưu lại")
            else:
                number = result.metadata.get("number")
                print(f"{'⚠' if broken or damaged or flagged else '✓'} {label} → mã {result.id}, {result.page_count} trang"
                      + (f", số {number}" if number else ""))
                if damaged:  # archived as far as it could be read: never a plain ✓
                    print(f"  ⚠ PDF bị hỏng: khai báo {damaged['declared_pages']} trang, lưu {damaged['read_pages']} "
                          f"trang đọc được ({'; '.join(damaged['reasons'])}); cần kiểm tra lại với bản giấy")
                _print_header_warnings(result)
                if flagged:  # archived all the same: an archive loses nothing, but never silently
                    print(f"  ⚠ cần kiểm tra: {'; '.join(flagged)} (vẫn lưu; xem `sohoa review`, "
                          f"không phải tài liệu thì: sohoa withdraw {result.id} --reason \"…\")")
            if not args.json and verdict.get("status", "none") != "none":
                mark = "⚠" if verdict["status"] != "valid" else "✓"
                print(f"  {mark} {verdict['message']}" + (" (vẫn lưu nguyên bản nhận được)" if broken else ""))
    if failures:
        return EXIT_FAILED
    return EXIT_SIGNATURE_BROKEN if broken_signatures else EXIT_OK


def cmd_show(args) -> int:
    home = _open_home(args)
    with Catalog(home.catalog_path) as catalog:
        row = catalog.get(args.id)
        if row is None:
            raise UserError(f"không có tài liệu mã {args.id}")
        archive = ArchiveStore(home.archive_dir)
        pages = catalog.pages(row.id)
        events = catalog.events(row.id)
        duplicates = duplicates_of(catalog, row.id)
        withdrawn = withdrawal.withdrawal_of(catalog, row)
    if args.json:
        _print_json({
            "id": row.id,
            "original_name": row.original_name,
            "received_at": row.received_at,
            "pages": row.page_count,
            "original": str(archive.path(row.original_file)),
            "original_sha256": row.original_sha256,
            "pdfa": str(archive.path(row.pdfa_file)),
            "pdfa_sha256": row.pdfa_sha256,
            "sidecar": str(archive.path(row.sidecar_file)),
            "metadata": row.metadata,
            "duplicates": duplicates,  # same number, symbol, issuing body and year
            "withdrawn": withdrawn.as_dict() if withdrawn else None,  # out of search, files kept
            "page_details": [
                {"number": p.number, "text_source": p.text_source, "dpi": p.dpi, "ocr_confidence": p.ocr_confidence,
                 "rotation": p.rotation, "skew": p.skew, "blank": p.blank}
                for p in pages
            ],
            "events": [{"step": e.step, "outcome": e.outcome, "at": e.at, "detail": e.detail} for e in events],
        })
        return EXIT_OK
    meta = row.metadata
    print(f"Tài liệu mã {row.id}: {row.original_name}")
    if withdrawn:
        print(f"  ĐÃ RÚT KHỎI KHO lúc {withdrawn.at} — lý do: {withdrawn.reason}"
              + (f" ({withdrawn.by})" if withdrawn.by else "") + "; không còn trong kết quả tìm kiếm, tệp vẫn lưu")
    print(f"  Số ký hiệu: {meta.get('number') or '(chưa đọc được)'}")
    print("\n".join(show_lines(meta, duplicates)))
    print(f"  Số trang:   {row.page_count}")
    print(f"  Nguồn chữ:  {_text_sources_line(pages)}")
    print(f"  Nhận lúc:   {row.received_at}")
    print(f"  Bản PDF/A:  {archive.path(row.pdfa_file)}")
    print(f"              SHA-256 {row.pdfa_sha256}")
    print(f"  Bản gốc:    {archive.path(row.original_file)}")
    print(f"              SHA-256 {row.original_sha256}")
    if args.record and meta.get("record"):
        print("\n".join(record_lines(meta["record"])))
    print("  Nhật ký xử lý:")
    for event in events:
        print(f"    {event.at}  {event.step:<9} {event.outcome}")
    return EXIT_OK


_TEXT_SOURCE_NAMES = {"ocr": "nhận dạng (OCR)", "redone-ocr": "nhận dạng lại (bỏ lớp chữ ẩn cũ của máy quét)",
                      "kept": "giữ lớp chữ có sẵn", "existing": "giữ lớp chữ có sẵn"}


def _text_sources_line(pages) -> str:
    """Where each page's text came from, pages grouped by source: `trang 1, 3: nhận dạng (OCR)`."""
    groups: dict[str, list[str]] = {}
    for p in pages:
        groups.setdefault(_TEXT_SOURCE_NAMES.get(p.text_source, p.text_source), []).append(str(p.number))
    return "; ".join(f"trang {', '.join(numbers)}: {name}" for name, numbers in groups.items())


def _print_header_warnings(result: ArchivedDocument) -> None:
    duplicates = result.metadata.get("duplicate_of")
    if duplicates:
        print(f"  ⚠ trùng số, ký hiệu, cơ quan ban hành và năm với tài liệu mã {', '.join(map(str, duplicates))}"
              " (vẫn lưu; xem `sohoa show`)")
    if result.metadata.get("review"):
        print(f"  cần kiểm tra {len(result.metadata['review'])} trường (xem `sohoa review`)")


def cmd_review(args) -> int:
    home = _open_home(args)
    threshold = home.config().records.review_threshold
    with Catalog(home.catalog_path) as catalog:
        items = review_queue(catalog, limit=args.limit)
        flagged = flagged_documents(catalog, limit=args.limit)
    if args.json:
        for document_id, name, reasons in flagged:
            _print_json({"id": document_id, "original_name": name, "needs_review": reasons})
        for document_id in sorted({item.document_id for item in items}):
            mine = [item for item in items if item.document_id == document_id]
            _print_json({"id": document_id, "original_name": mine[0].original_name, "fields": [
                {"field": i.field, "value": i.value, "confidence": i.confidence, "page": i.page, "source": i.source,
                 **({"box": list(i.box)} if i.box else {})}
                for i in mine]})
        return EXIT_OK
    print("\n".join([*review_lines(items, threshold), *flagged_lines(flagged)]))
    return EXIT_OK


def cmd_set(args) -> int:
    home = _open_home(args)
    config = home.config()
    by = corrections.who_is_editing(args.by)
    with Catalog(home.catalog_path) as catalog, _open_search_index(home, config.index_engine, catalog) as index:
        try:
            changes = corrections.correct(
                args.id, args.assignments, by=by, catalog=catalog, archive=ArchiveStore(home.archive_dir),
                index=index, defaults=config.records, language=config.language,
            )
        except corrections.CorrectionError as error:
            raise UserError(str(error)) from None
    if not changes:
        print(f"[mã {args.id}] không có gì thay đổi.")
    for change in changes:
        print(f"[mã {args.id}] {corrections.label(change.field)}: «{change.old}» → «{change.new}» ({by})")
    return EXIT_OK


def cmd_withdraw(args) -> int:
    """Withdraw (or with --undo, reinstate) a record: out of search, files and trail kept."""
    if args.undo:
        return cmd_reinstate(args)
    home = _open_home(args)
    by = corrections.who_is_editing(None)
    with Catalog(home.catalog_path) as catalog:
        row = catalog.get(args.id)
        if row is not None and row.withdrawn_at is not None:  # said before the index is opened
            print(f"[mã {args.id}] đã được rút khỏi kho lúc {row.withdrawn_at} (lý do: {row.withdrawn_reason});"
                  " không làm lại. Đưa lại vào kho: sohoa reinstate " + str(args.id) + ' --reason "…"')
            return EXIT_OK
        with _open_search_index(home, home.config().index_engine, catalog) as index:
            try:
                done = withdrawal.withdraw(catalog, index, args.id, reason=args.reason, by=by)
            except withdrawal.WithdrawError as error:
                raise UserError(str(error)) from None
    print(f"[mã {args.id}] đã rút khỏi kho lúc {done.at} ({by}) — lý do: {done.reason}. "
          "Không còn trong kết quả tìm kiếm; các tệp và nhật ký vẫn được lưu và kiểm tra toàn vẹn.")
    return EXIT_OK


def cmd_reinstate(args) -> int:
    home = _open_home(args)
    by = corrections.who_is_editing(None)
    with Catalog(home.catalog_path) as catalog, \
            _open_search_index(home, home.config().index_engine, catalog) as index:
        try:
            at = withdrawal.reinstate(catalog, index, args.id, reason=args.reason, by=by)
        except withdrawal.WithdrawError as error:
            raise UserError(str(error)) from None
    print(f"[mã {args.id}] đã đưa lại vào kho lúc {at} ({by}); tìm kiếm lại được.")
    return EXIT_OK


def _catalog_source(catalog: Catalog) -> DocumentSource:
    """The catalog as the index sees it: documents with their metadata and page texts, and
    their signature status from the audit trail (as `ingest` indexes them)."""
    return DocumentSource(
        documents_after=lambda after_id, limit: [
            index_entry(doc_id, metadata, pages, signing)
            for doc_id, metadata, pages, signing in catalog.documents_with_texts(after_id, limit)
        ],
        doc_ids=catalog.searchable_ids,  # withdrawn records are not in the index
        count=catalog.count_searchable,
    )


def _reindex(home: Home, engine: str, catalog: Catalog, batch_size: int = DEFAULT_BATCH) -> RebuildReport:
    """Rebuild the index from the catalog, telling the user how far it got now and then."""
    last_report = [time.monotonic()]

    def progress(state: RebuildProgress) -> None:
        if time.monotonic() - last_report[0] >= 5 or state.done == state.total:
            last_report[0] = time.monotonic()
            print(f"  chỉ mục: {state.done:,}/{state.total:,} tài liệu".replace(",", "."), file=sys.stderr)

    return rebuild_index(home.index_dir, engine, _catalog_source(catalog), batch_size=batch_size,
                         progress=progress)


def _open_search_index(home: Home, engine: str, catalog: Catalog) -> ManagedIndex:
    """Open the index; rebuild it from the catalog first when it is outdated or lost."""
    index = open_index(home.index_dir, engine)
    if index.needs_rebuild or (index.count() == 0 and catalog.count_searchable() > 0):
        index.close()
        print("Chỉ mục tìm kiếm cần dựng lại (phiên bản mới, đổi bộ máy tìm kiếm hoặc bị mất); "
              "đang dựng lại từ danh mục...", file=sys.stderr)
        _reindex(home, engine, catalog)
        index = open_index(home.index_dir, engine)
    return index


def _search_options(args) -> SearchOptions:
    try:
        filters = SearchFilters(
            date_from=parse_day(args.date_from) if args.date_from else None,
            date_to=parse_day(args.date_to, end=True) if args.date_to else None,
            doc_type=args.type, issuing_body=args.agency, profile=args.profile,
            signature_status=args.signature,
        )
    except DateInputError as error:
        raise UserError(str(error)) from error
    return SearchOptions(filters=filters, sort=Sort(args.sort))


def _search_result_json(hit: SearchHit, row, archive: ArchiveStore) -> dict:
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
    home = _open_home(args)
    config = home.config()
    options = _search_options(args)
    if not args.query.strip() and options.filters.is_empty:
        raise UserError("hãy nhập từ khóa, hoặc ít nhất một điều kiện lọc (--from, --to, --type, --agency ...)")
    with Catalog(home.catalog_path) as catalog, _open_search_index(home, config.index_engine, catalog) as index:
        hits = index.search(args.query, limit=args.limit, options=options)
        # The catalog is the truth: an index entry without a catalog row is never shown.
        rows = catalog.get_many([hit.doc_id for hit in hits])
        archive = ArchiveStore(home.archive_dir)
    # A withdrawn record is never shown, even by an index not yet told (`sohoa check` finds it).
    results = [_search_result_json(hit, rows[hit.doc_id], archive) for hit in hits
               if hit.doc_id in rows and rows[hit.doc_id].withdrawn_at is None]
    asked = f"«{args.query}»" if args.query.strip() else "các điều kiện đã chọn"
    if args.json:
        _print_json({"query": args.query, "sort": options.sort.value, "count": len(results), "results": results})
        return EXIT_OK
    if not results:
        print(f"Không tìm thấy tài liệu nào cho {asked}.")
        return EXIT_OK
    order = " (mới nhất trước)" if options.sort is Sort.DATE or not args.query.strip() else ""
    print(f"Tìm thấy {len(results)} tài liệu cho {asked}{order}:")
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
    home = _open_home(args)
    engine = home.config().index_engine
    with Catalog(home.catalog_path) as catalog:
        print(f"Dựng lại chỉ mục tìm kiếm ({engine}) từ danh mục: {catalog.count_documents():,} tài liệu"
              .replace(",", "."))
        report = _reindex(home, engine, catalog, batch_size=args.batch_size)
    if report.resumed_from:
        print(f"  (tiếp tục lần dựng dở trước, sau tài liệu mã {report.resumed_from})")
    print(f"Xong: chỉ mục có {report.indexed:,} tài liệu.".replace(",", "."))
    return EXIT_OK


# The fields an index entry stores (index.documents.stored_bytes), as `check` names them.
_INDEX_FIELDS = {"title": "trích yếu", "number": "số ký hiệu", "issue_date": "ngày ban hành",
                 "doc_type": "loại văn bản", "issuing_body": "cơ quan ban hành", "profile": "hồ sơ xử lý",
                 "signature_status": "trạng thái chữ ký", "pages": "nội dung các trang"}


def cmd_check(args) -> int:
    home = _open_home(args)
    engine = home.config().index_engine
    with Catalog(home.catalog_path) as catalog:
        # Every stored field of every entry against what the catalog says; the source
        # leaves withdrawn records out, so they are expected absent.
        with open_index(home.index_dir, engine) as index:
            report = check_index(index, _catalog_source(catalog))
            if args.repair and not report.ok and not report.needs_rebuild:
                repair_index(index, _catalog_source(catalog), report)
        if args.repair and report.needs_rebuild:
            _reindex(home, engine, catalog)
        after = None
        if args.repair and not report.ok:
            with open_index(home.index_dir, engine) as index:
                after = check_index(index, _catalog_source(catalog))
    final = after or report
    if args.json:
        _print_json({"ok": report.ok, "catalog_documents": report.catalog_count,
                     "indexed_documents": report.index_count, "needs_rebuild": report.needs_rebuild,
                     "missing_from_index": list(report.missing), "gone_from_catalog": list(report.orphaned),
                     "differing": [{"id": d.doc_id, "fields": {name: {"index": got, "catalog": wanted}
                                                               for name, got, wanted in d.fields}}
                                   for d in report.differing],
                     "repaired": after is not None, "ok_after_repair": after.ok if after else None})
        return EXIT_OK if final.ok else EXIT_FAILED
    print(f"Danh mục: {report.catalog_count} tài liệu; chỉ mục tìm kiếm: {report.index_count} tài liệu.")
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
    shown = lambda value: f"«{value}»" if value is not None else "(trống)"  # noqa: E731
    return f"{label}: chỉ mục {shown(in_index)}, danh mục {shown(in_catalog)}"


def _some_ids(ids: tuple[int, ...], shown: int = 20) -> str:
    return ", ".join(map(str, ids[:shown])) + (f" ... (và {len(ids) - shown} mã khác)" if len(ids) > shown else "")


def cmd_watch(args) -> int:
    home = _open_home(args)
    home.config()  # a mistake in config.toml is reported before anything starts
    settings = load_watch_settings(home.config_path)
    # The service says each event in a plain sentence; its log lines go to the log file only.
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler:
            handler.addFilter(lambda record: not record.name.startswith("sohoa.watch"))
    try:
        return run_service(home, settings, events=EventLog(sys.stdout),
                           log_file=str(home.root / "logs" / "sohoa.log"))
    except ServiceAlreadyRunning as error:
        raise UserError(str(error)) from None
    except Exception as error:
        if not is_disk_full(error):
            raise
        # At start (the lock file, the catalog) nothing can wait for space: say so in one
        # line; jobs met by a full disk once running wait for it instead.
        log.warning("watch could not run: disk full", exc_info=True)
        raise UserError(f"đĩa của kho {home.root} đầy (còn {free_space(home.root)}), dịch vụ theo dõi thư mục "
                        "không chạy được; hãy giải phóng dung lượng đĩa rồi chạy lại") from None


def cmd_status(args) -> int:
    home = _open_home(args)
    with catalog_for_status(home.catalog_path) as catalog:  # readable on a full disk too
        report = status_report(catalog, running_service_pid(home.root), home.root)
        stuck = stuck_in_inbox(home.inbox_dir, catalog, overdue_after(load_watch_settings(home.config_path)))
        audited = audit.last_run(catalog)
    if args.json:
        _print_json({**report.as_json(), "stuck_in_inbox": [item.as_json() for item in stuck],
                     "last_audit": audited})
    else:
        lines = [*describe(report), *describe_stuck(stuck, running=report.running_pid is not None),
                 _last_audit_line(audited)]
        print("\n".join(shown(line) for line in lines))
    return EXIT_OK


def _last_audit_line(audited: dict | None) -> str:
    if audited is None:
        return "Kiểm tra toàn vẹn (sohoa audit): chưa chạy lần nào"
    verdict = "đạt" if audited["outcome"] == "pass" else f"KHÔNG ĐẠT ({audited.get('failed', '?')} tài liệu)"
    return (f"Kiểm tra toàn vẹn lần cuối: {audited['at']}, {audited.get('checked', 0)} tài liệu, {verdict}"
            + (f"; báo cáo {audited['reports'][1]}" if len(audited.get("reports") or []) > 1 else ""))


def cmd_audit(args) -> int:
    home = _open_home(args)
    home.config()  # a broken config is said before anything is read
    cycle = audit.load_audit_settings(home.config_path)
    sample = args.sample
    if args.cycle:
        with Catalog(home.catalog_path) as catalog:
            sample = audit.scheduled_sample(catalog.count_documents(), cycle)

    def said(result) -> None:
        if args.json:
            _print_json(result.as_dict())
        elif not result.ok:
            print(f"✗ {result.line()}")
        elif args.verbose:
            print(f"✓ {result.line()}")

    run, reports = audit.audit_home(home, sample=sample, out=Path(args.out) if args.out else None, on_result=said)
    summary = run.summary()
    if args.json:
        _print_json({"summary": summary, "reports": [str(p) for p in reports]})
    else:
        megabytes = summary["bytes_read"] / 1e6
        print(f"Kiểm tra toàn vẹn: {summary['checked']}/{summary['archive_documents']} tài liệu, "
              f"{summary['passed']} đạt, {summary['failed']} không đạt ({megabytes:.1f} MB, {summary['seconds']:.1f} giây).")
        for path in reports:
            print(f"Báo cáo: {path}", file=sys.stderr)
    return EXIT_OK if run.ok else EXIT_FAILED


def cmd_agency_set(args) -> int:
    home = _open_home(args)
    if args.name is None and args.code is None:
        raise UserError("cho biết tên mới (--name) và/hoặc mã mới (--code) của cơ quan")
    try:
        renewed = agency.set_agency(home, name=args.name, code=args.code)
    except agency.AgencyError as error:
        raise UserError(str(error)) from None
    config = home.config()
    print(f"Cơ quan: {config.agency_name}" + (f" (mã {config.records.agency_code})" if config.records.agency_code else ""))
    if renewed:
        print(f"  Ký số: đã tạo danh tính THỬ NGHIỆM mới mang tên, mã mới; danh tính cũ giữ tại {renewed} "
              "và chứng thư gốc cũ vẫn được tin để kiểm tra các chữ ký cũ")
    return EXIT_OK


def _agency_signer(config, home: Home):
    """The signing identity, opened once for the whole run (the token's PIN entered once,
    in turn with the watch service's workers: signing.pin_pause); nothing when signing is
    off. A refused PIN stops the run before the first file: each file would spend a try."""
    if not config.signing.enabled:
        return contextlib.nullcontext(None)
    guard = LoginGuard(home.root, try_when_paused=True, records_refusal=False)
    return open_agency_signer(config.signing, config.verify.trust_roots, guard)


def _print_verdict(result: archive_checks.RecordVerdict, metadata: dict, args) -> None:
    if args.json:
        _print_json(verify_report.as_dict(result, metadata))
    elif not args.csv:  # the table is printed whole at the end
        print(verify_report.verdict_line(result, metadata))


def _with_fixity(result: archive_checks.RecordVerdict, fixity: FixityResult) -> archive_checks.RecordVerdict:
    """The signature verdict with what the fixity check of all the record's files found
    first; the PDF/A's own hash or read failure is then said once, by the fixity check."""
    if fixity.ok:
        return result
    said_by_fixity = ("mã SHA-256 của tệp khác với danh mục", "không đọc được tệp lưu trữ")
    kept = tuple(p for p in result.problems
                 if not (fixity.problem_of("pdfa") and p.startswith(said_by_fixity)))
    return dataclasses.replace(result, problems=fixity.problems + kept)


def cmd_verify(args) -> int:
    if not args.ids and not args.all:
        raise UserError("cho biết mã tài liệu cần kiểm tra (sohoa verify 12 15) hoặc --all")
    home = _open_home(args)
    config = home.config()
    online = args.online or config.verify.online
    policy = VerifyPolicy(tuple(load_trust_roots(config.verify.trust_roots)), online=online)
    started = archive_checks.now()
    results, missing, metadata = [], [], {}
    with Catalog(home.catalog_path) as catalog:
        archive = ArchiveStore(home.archive_dir)
        for document_id in sorted(catalog.document_ids()) if args.all else args.ids:
            row = catalog.get(document_id)
            if row is None:
                missing.append(document_id)
                _error(f"không có tài liệu mã {document_id}")
                continue
            result = archive_checks.verify_record(
                row, archive.path(row.pdfa_file), policy, archive_checks.expects_signature(catalog, row.id)
            )
            result = _with_fixity(result, check_record(row, home.archive_dir))
            if row.withdrawn_at:  # fixity is still owed for a withdrawn record
                result = dataclasses.replace(result, name=f"{result.name} (đã rút khỏi kho)")
            results.append(result)
            metadata[row.id] = row.metadata
            _print_verdict(result, row.metadata, args)
        summary = archive_checks.summarise(results, started, online, tuple(map(str, config.verify.trust_roots)))
        archive_checks.record_run(catalog, results, summary)
    if args.csv:
        sys.stdout.write(verify_report.csv_text(results, metadata))
    elif args.json:
        _print_json({"summary": {**summary.as_dict(), "missing": missing}})
    else:
        print(f"Đã kiểm tra {summary.checked} tài liệu: {summary.passed} đạt, {summary.failed} không đạt"
              + (f" ({summary.unsigned} chưa ký số)" if summary.unsigned else "")
              + (f"; {len(missing)} mã không có trong kho" if missing else "") + ".")
    if args.report:
        for path in verify_report.write_report(Path(args.report), results, metadata, summary):
            print(f"Báo cáo: {path}", file=sys.stderr)
    return EXIT_FAILED if summary.failed or missing else EXIT_OK


def cmd_timestamp_renew(args) -> int:
    home = _open_home(args)
    config = home.config()
    url = config.verify.timestamp_url
    if not url:
        raise UserError("chưa cấu hình dịch vụ dấu thời gian (timestamp_url trong [signing] hoặc [verify])")
    within = config.verify.renew_within_days if args.within_days is None else args.within_days
    roots = load_trust_roots(config.verify.trust_roots)
    counts = {"renewed": 0, "not-due": 0, "failed": 0}
    # The index is opened as by `sohoa set`: each renewal rewrites the entry in its unit of work.
    with Catalog(home.catalog_path) as catalog, _open_search_index(home, config.index_engine, catalog) as index:
        archive = ArchiveStore(home.archive_dir)
        for document_id in archive_checks.renewal_candidates(catalog):
            row = catalog.get(document_id)
            try:
                outcome = archive_checks.renew_record(
                    catalog, row, archive.path(row.pdfa_file), archive.path(row.sidecar_file),
                    within_days=within, timestamp_url=url, trust_roots=roots, index=index,
                )
            except (SigningError, OSError) as error:
                reason = getattr(error, "reason", None) or str(error)
                outcome = archive_checks.RenewalOutcome(row.id, "failed", None, reason)
            if outcome.status == "failed":
                archive_checks.record_renewal_failure(catalog, row.id, outcome.reason)
            counts[outcome.status] += 1
            if args.json:
                _print_json({"id": outcome.id, "status": outcome.status, "expires": outcome.expires,
                             "reason": outcome.reason or None})
            elif outcome.status == "renewed":
                print(f"✓ [mã {row.id}] {row.original_name}: đã thêm dấu thời gian mới (cũ hết hạn {outcome.expires})")
            elif outcome.status == "failed":
                _error(f"[mã {row.id}] {row.original_name}: {outcome.reason}")
    if not args.json:
        print(f"Gia hạn dấu thời gian: {counts['renewed']} tài liệu, {counts['not-due']} chưa đến hạn"
              f" (trong {within} ngày), {counts['failed']} lỗi.")
    return EXIT_FAILED if counts["failed"] else EXIT_OK


# -- parsing ----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """A usage mistake in one line, like every other refusal (subcommands inherit it)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"sohoa: lỗi: {message.replace('argument ', 'tham số ')} "
                              f"(xem `{self.prog} --help`)\n")


def _positive(text: str) -> int:
    """argparse type: a whole number from 1 up (a batch of 0 documents once emptied the live
    index; a limit of 0 asks for nothing)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"«{text}» không phải là số nguyên") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"phải là số nguyên từ 1 trở lên, không phải {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--home", default=argparse.SUPPRESS,
                        help="thư mục dữ liệu (mặc định $SOHOA_HOME hoặc ./sohoa-data)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="in thêm chi tiết xử lý")
    parser = _Parser(
        prog="sohoa", parents=[common],
        description="Số hóa tài liệu: bản quét vào, bản PDF/A-2u lưu trữ và tìm kiếm được ra.",
    )
    parser.add_argument("--version", action="version", version=f"sohoa {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="LỆNH")

    init = commands.add_parser("init", parents=[common], help="tạo kho dữ liệu")
    init.add_argument("--agency-name", metavar="TÊN", help="tên cơ quan lưu trữ (ghi vào chữ ký số và siêu dữ liệu)")
    init.add_argument("--agency-code", metavar="MÃ", help="mã định danh cơ quan")
    init.set_defaults(handler=cmd_init)

    ingest = commands.add_parser("ingest", parents=[common], help="số hóa và lưu trữ tệp quét")
    ingest.add_argument("files", nargs="+", metavar="TỆP", help="PDF, TIFF, JPEG hoặc PNG")
    ingest.add_argument("--json", action="store_true", help="in mỗi tài liệu một dòng JSON")
    ingest.add_argument("--force-ocr", action="store_true",
                        help="nhận dạng lại cả PDF đã có lớp chữ (bỏ lớp chữ cũ)")
    ingest.add_argument("--accept-damaged", action="store_true",
                        help="PDF bị hỏng hoặc bị cắt cụt: vẫn lưu các trang đọc được, ghi lại hư hỏng, đánh dấu cần kiểm tra")
    ingest.set_defaults(handler=cmd_ingest)

    show = commands.add_parser("show", parents=[common], help="xem một tài liệu")
    show.add_argument("id", type=int, metavar="MÃ")
    show.add_argument("--json", action="store_true")
    show.add_argument("--record", action="store_true", help="in cả siêu dữ liệu lưu trữ (Thông tư 05/2025)")
    show.set_defaults(handler=cmd_show)

    review = commands.add_parser("review", parents=[common],
                                 help="liệt kê các trường đọc được với độ tin cậy thấp, cần kiểm tra")
    review.add_argument("--json", action="store_true", help="mỗi tài liệu một dòng JSON")
    review.add_argument("--limit", type=_positive, metavar="N", help="chỉ N tài liệu đầu")
    review.set_defaults(handler=cmd_review)

    set_field = commands.add_parser("set", parents=[common], help="sửa một trường của tài liệu (ghi nhật ký)")
    set_field.add_argument("id", type=int, metavar="MÃ")
    set_field.add_argument("assignments", nargs="+", metavar="TRƯỜNG=GIÁ_TRỊ",
                           help="ví dụ number=15/QĐ-SNV issue_date=27/12/2024; danh sách cách nhau bởi |")
    set_field.add_argument("--by", metavar="NGƯỜI_SỬA", help="người sửa (mặc định: tên người dùng hệ thống)")
    set_field.set_defaults(handler=cmd_set)

    withdraw_cmd = commands.add_parser("withdraw", parents=[common],
                                       help="rút tài liệu khỏi kho (khỏi tìm kiếm; giữ tệp và nhật ký)")
    withdraw_cmd.add_argument("id", type=int, metavar="MÃ")
    withdraw_cmd.add_argument("--reason", metavar="LÝ_DO", help="lý do (bắt buộc; ghi vào nhật ký)")
    withdraw_cmd.add_argument("--undo", action="store_true", help="đưa lại vào kho (như sohoa reinstate)")
    withdraw_cmd.set_defaults(handler=cmd_withdraw)

    reinstate_cmd = commands.add_parser("reinstate", parents=[common], help="đưa tài liệu đã rút trở lại kho")
    reinstate_cmd.add_argument("id", type=int, metavar="MÃ")
    reinstate_cmd.add_argument("--reason", metavar="LÝ_DO", help="lý do (bắt buộc; ghi vào nhật ký)")
    reinstate_cmd.set_defaults(handler=cmd_reinstate)

    search = commands.add_parser("search", parents=[common], help="tìm tài liệu")
    search.add_argument("query", metavar="TỪ_KHÓA", nargs="?", default="",
                        help='có dấu hay không dấu; "cụm từ" trong ngoặc kép; số ký hiệu')
    search.add_argument("--json", action="store_true")
    search.add_argument("--limit", type=_positive, default=10, metavar="N", help="số kết quả tối đa (mặc định 10)")
    search.add_argument("--from", dest="date_from", metavar="NGÀY", help="ban hành từ ngày (31/12/2024, 12/2024, 2024)")
    search.add_argument("--to", dest="date_to", metavar="NGÀY", help="ban hành đến hết ngày")
    search.add_argument("--type", metavar="LOẠI", help="loại văn bản: tên (\"quyết định\") hoặc ký hiệu (QĐ)")
    search.add_argument("--agency", metavar="CƠ_QUAN", help="cơ quan ban hành (\"Sở Nội vụ\", \"noi vu\")")
    search.add_argument("--profile", metavar="HỒ_SƠ", help="hồ sơ xử lý (thư mục nhận)")
    search.add_argument("--signature", metavar="TRẠNG_THÁI", help="trạng thái chữ ký số")
    search.add_argument("--sort", choices=[s.value for s in Sort], default="relevance",
                        help="relevance: phù hợp nhất trước (mặc định); date: mới nhất trước")
    search.set_defaults(handler=cmd_search)

    reindex = commands.add_parser("reindex", parents=[common], help="dựng lại chỉ mục tìm kiếm từ danh mục")
    reindex.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH, metavar="N",
                         help="số tài liệu mỗi lần ghi (bộ nhớ dùng tỉ lệ với số này)")
    reindex.set_defaults(handler=cmd_reindex)

    check = commands.add_parser("check", parents=[common], help="đối chiếu chỉ mục tìm kiếm với danh mục")
    check.add_argument("--json", action="store_true")
    check.add_argument("--repair", action="store_true",
                       help="sửa các mục chỉ mục khác danh mục, thêm mục thiếu, bỏ mục thừa")
    check.set_defaults(handler=cmd_check)

    watch = commands.add_parser("watch", parents=[common],
                                help="dịch vụ theo dõi thư mục: tự số hóa bản quét thả vào inbox/<hồ sơ>/")
    watch.set_defaults(handler=cmd_watch)

    status = commands.add_parser("status", parents=[common], help="tình hình dịch vụ theo dõi thư mục")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)

    verify = commands.add_parser("verify", parents=[common],
                                 help="kiểm tra mã SHA-256 và chữ ký số của tài liệu đã lưu trữ")
    verify.add_argument("ids", nargs="*", type=int, metavar="MÃ")
    verify.add_argument("--all", action="store_true", help="kiểm tra mọi tài liệu trong kho")
    verify_format = verify.add_mutually_exclusive_group()
    verify_format.add_argument("--json", action="store_true", help="mỗi tài liệu một dòng JSON, rồi dòng tổng kết")
    verify_format.add_argument("--csv", action="store_true", help="bảng CSV")
    verify.add_argument("--report", metavar="THƯ_MỤC", help="ghi báo cáo JSON và CSV vào thư mục này")
    verify.add_argument("--online", action="store_true",
                        help="kiểm tra thu hồi trực tuyến (OCSP/CRL), không chỉ dữ liệu trong tệp")
    verify.set_defaults(handler=cmd_verify)

    audit_cmd = commands.add_parser("audit", parents=[common],
                                    help="kiểm tra toàn vẹn (SHA-256) mọi tệp lưu trữ, ghi nhật ký và báo cáo")
    audit_size = audit_cmd.add_mutually_exclusive_group()
    audit_size.add_argument("--sample", type=_positive, metavar="N",
                            help="chỉ N tài liệu lâu chưa được kiểm tra nhất")
    audit_size.add_argument("--cycle", action="store_true",
                            help="phần của một lần theo [audit] cycle_days và interval_hours")
    audit_cmd.add_argument("--out", metavar="THƯ_MỤC", help="ghi thêm báo cáo JSON và CSV vào thư mục này")
    audit_cmd.add_argument("--json", action="store_true", help="mỗi tài liệu một dòng JSON, rồi dòng tổng kết")
    audit_cmd.set_defaults(handler=cmd_audit)

    agency_cmd = commands.add_parser("agency", parents=[common], help="tên và mã của cơ quan lưu trữ")
    agency_commands = agency_cmd.add_subparsers(dest="agency_command", required=True, metavar="LỆNH")
    agency_set = agency_commands.add_parser("set", parents=[common],
                                            help="đổi tên/mã cơ quan (tạo lại danh tính ký thử nghiệm)")
    agency_set.add_argument("--name", metavar="TÊN")
    agency_set.add_argument("--code", metavar="MÃ")
    agency_set.set_defaults(handler=cmd_agency_set)

    timestamp = commands.add_parser("timestamp", parents=[common], help="dấu thời gian lưu trữ (B-LTA)")
    timestamp_commands = timestamp.add_subparsers(dest="timestamp_command", required=True, metavar="LỆNH")
    renew = timestamp_commands.add_parser(
        "renew", parents=[common],
        help="thêm dấu thời gian mới cho tài liệu B-LTA có dấu thời gian sắp hết hạn",
    )
    renew.add_argument("--within-days", type=int, metavar="N",
                       help="gia hạn khi hết hạn trong vòng N ngày (mặc định [verify] renew_within_days)")
    renew.add_argument("--json", action="store_true")
    renew.set_defaults(handler=cmd_timestamp_renew)
    return parser


def _home_problem(root: Path) -> str | None:
    """Why the home cannot be a folder there (a file in its place or on its way), or None."""
    for place in (root, *root.parents):
        if place.exists() or place.is_symlink():
            if place.is_dir():
                return None
            what = "là một tệp" if place == root else f"nằm dưới {place}, là một tệp"
            return f"{root}: thư mục dữ liệu (--home hoặc $SOHOA_HOME) {what}, không phải thư mục"
    return None


def main(argv: list[str] | None = None) -> int:
    # Before anything is created: the home is for the service's user and group only.
    os.umask(UMASK)
    args = build_parser().parse_args(argv)
    args.home = getattr(args, "home", None)
    args.verbose = getattr(args, "verbose", False)
    home_root = resolve_home(args.home)
    problem = _home_problem(home_root)
    if problem:
        _error(problem)
        return EXIT_USAGE
    if args.command != "init" and not Home(home_root).exists():
        # A mistyped --home, or a command run from the wrong folder, once made a new empty
        # archive with a new signing key there: nothing is created, the user is told how.
        _error(_not_a_home(home_root))
        return EXIT_USAGE
    _setup_logging(Home(home_root), args.verbose)
    try:
        return args.handler(args)
    except (UserError, ConfigError, SearchIndexError) as error:
        _error(str(error))
        return EXIT_FAILED
    except PinRejected as error:  # one try of the token's few spent: stop at once
        _error(f"ký số: {error.reason}; dừng ngay, không thử tiếp để token không bị khóa "
               "(các tệp chưa xử lý vẫn nguyên chỗ cũ)")
        return EXIT_FAILED
    except SigningError as error:  # the identity could not be opened: nothing was signed
        _error(f"ký số: {error.reason}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _error("đã dừng theo yêu cầu")
        return 130


if __name__ == "__main__":
    sys.exit(main())
