"""The `sohoa` command: every subcommand is one small function."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from index import SearchIndexError, open_index
from ocr.errors import InputRejected
from ocr.pdfa import PdfaInvalid
from ocr.tesseract import TesseractError
from pipeline import __version__
from pipeline.archive import ArchiveStore
from pipeline.catalog import Catalog
from pipeline.config import ConfigError, resolve_home
from pipeline.home import Home, init_home
from pipeline.ingest import ArchivedDocument, IngestOptions, ingest_file

log = logging.getLogger("sohoa")

EXIT_OK = 0
EXIT_FAILED = 1  # some input was refused or a record was not found
EXIT_USAGE = 2


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
        handler = logging.FileHandler(home.root / "logs" / "sohoa.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)


def _open_home(args) -> Home:
    home = Home(resolve_home(args.home))
    if not home.exists():
        home, _ = init_home(home.root)
        print(f"Đã tạo kho dữ liệu mới tại {home.root}", file=sys.stderr)
    return home


# -- commands ---------------------------------------------------------------------------


def cmd_init(args) -> int:
    home, created = init_home(resolve_home(args.home))
    Catalog(home.catalog_path).close()
    open_index(home.index_dir, home.config().index_engine).close()
    if created:
        print(f"Đã tạo kho dữ liệu tại {home.root}")
    else:
        print(f"Kho dữ liệu đã có sẵn tại {home.root} (giữ nguyên cấu hình)")
    print(f"  Cấu hình: {home.config_path}")
    print(f"  Thư mục nhận bản quét: {home.inbox_dir}")
    return EXIT_OK


def _document_json(result: ArchivedDocument) -> dict:
    return {
        "id": result.id,
        "file": str(result.source),
        "status": "duplicate" if result.duplicate else "archived",
        "pdfa": str(result.pdfa_path),
        "pages": result.page_count,
        "original_sha256": result.original_sha256,
        "pdfa_sha256": result.pdfa_sha256,
        "metadata": result.metadata,
    }


def cmd_ingest(args) -> int:
    home = _open_home(args)
    config = home.config()
    options = IngestOptions(force_ocr=args.force_ocr)
    failures = 0
    with Catalog(home.catalog_path) as catalog, open_index(home.index_dir, config.index_engine) as index:
        archive = ArchiveStore(home.archive_dir)
        for name in args.files:
            # Opened by the name as given (a share may hold NFD names); recorded in NFC.
            path = Path(name)
            try:
                if not path.is_file():
                    raise InputRejected("không tìm thấy tệp" if not path.exists() else "không phải là tệp")
                result = ingest_file(path, home=home, config=config, catalog=catalog, archive=archive,
                                     index=index, options=options)
            except (InputRejected, PdfaInvalid, TesseractError) as error:
                failures += 1
                reason = getattr(error, "reason", str(error))
                _error(f"{path}: {reason}")
                log.info("refused %s: %s", path, reason)
                if args.json:
                    code = getattr(error, "code", type(error).__name__)
                    _print_json({"file": str(path), "status": "failed", "error": code, "reason": reason})
                continue
            except SearchIndexError:
                raise  # the index is unusable: stop, every later file would fail the same way
            except Exception as error:  # a bug or an environment fault: say so, keep going
                failures += 1
                log.exception("unexpected error on %s", path)
                _error(f"{path}: lỗi không mong đợi ({type(error).__name__}: {error}); "
                       f"chi tiết trong {home.root / 'logs' / 'sohoa.log'}")
                if args.json:
                    _print_json({"file": str(path), "status": "failed", "error": "internal", "reason": str(error)})
                continue
            if args.json:
                _print_json(_document_json(result))
            elif result.duplicate:
                print(f"= {path}: đã có trong kho (mã {result.id}), không lưu lại")
            else:
                number = result.metadata.get("number")
                print(f"✓ {path} → mã {result.id}, {result.page_count} trang"
                      + (f", số {number}" if number else ""))
    return EXIT_FAILED if failures else EXIT_OK


def cmd_show(args) -> int:
    home = _open_home(args)
    with Catalog(home.catalog_path) as catalog:
        row = catalog.get(args.id)
        if row is None:
            raise UserError(f"không có tài liệu mã {args.id}")
        archive = ArchiveStore(home.archive_dir)
        pages = catalog.pages(row.id)
        events = catalog.events(row.id)
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
    print(f"  Số ký hiệu: {meta.get('number') or '(chưa đọc được)'}")
    print(f"  Số trang:   {row.page_count}")
    print(f"  Nhận lúc:   {row.received_at}")
    print(f"  Bản PDF/A:  {archive.path(row.pdfa_file)}")
    print(f"              SHA-256 {row.pdfa_sha256}")
    print(f"  Bản gốc:    {archive.path(row.original_file)}")
    print(f"              SHA-256 {row.original_sha256}")
    print("  Nhật ký xử lý:")
    for event in events:
        print(f"    {event.at}  {event.step:<9} {event.outcome}")
    return EXIT_OK


def cmd_search(args) -> int:
    home = _open_home(args)
    config = home.config()
    with Catalog(home.catalog_path) as catalog, open_index(home.index_dir, config.index_engine) as index:
        hits = index.search(args.query, limit=args.limit)
        # The catalog is the truth: an index entry without a catalog row is never shown.
        rows = catalog.get_many([hit.doc_id for hit in hits])
        archive = ArchiveStore(home.archive_dir)
    results = [
        {
            "id": hit.doc_id,
            "score": round(hit.score, 4),
            "title": rows[hit.doc_id].metadata.get("title"),
            "number": rows[hit.doc_id].metadata.get("number"),
            "pages": rows[hit.doc_id].page_count,
            "pdfa": str(archive.path(rows[hit.doc_id].pdfa_file)),
        }
        for hit in hits
        if hit.doc_id in rows
    ]
    if args.json:
        _print_json({"query": args.query, "count": len(results), "results": results})
        return EXIT_OK
    if not results:
        print(f"Không tìm thấy tài liệu nào cho «{args.query}».")
        return EXIT_OK
    print(f"Tìm thấy {len(results)} tài liệu cho «{args.query}»:")
    for rank, result in enumerate(results, start=1):
        number = f" — số {result['number']}" if result["number"] else ""
        print(f"{rank:>3}. [mã {result['id']}] {result['title']}{number} ({result['pages']} trang)")
        print(f"     {result['pdfa']}")
    return EXIT_OK


# -- parsing ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", default=argparse.SUPPRESS,
                        help="thư mục dữ liệu (mặc định $SOHOA_HOME hoặc ./sohoa-data)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="in thêm chi tiết xử lý")
    parser = argparse.ArgumentParser(
        prog="sohoa", parents=[common],
        description="Số hóa tài liệu: bản quét vào, bản PDF/A-2u lưu trữ và tìm kiếm được ra.",
    )
    parser.add_argument("--version", action="version", version=f"sohoa {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="LỆNH")

    init = commands.add_parser("init", parents=[common], help="tạo kho dữ liệu")
    init.set_defaults(handler=cmd_init)

    ingest = commands.add_parser("ingest", parents=[common], help="số hóa và lưu trữ tệp quét")
    ingest.add_argument("files", nargs="+", metavar="TỆP", help="PDF, TIFF, JPEG hoặc PNG")
    ingest.add_argument("--json", action="store_true", help="in mỗi tài liệu một dòng JSON")
    ingest.add_argument("--force-ocr", action="store_true",
                        help="nhận dạng lại cả PDF đã có lớp chữ (bỏ lớp chữ cũ)")
    ingest.set_defaults(handler=cmd_ingest)

    show = commands.add_parser("show", parents=[common], help="xem một tài liệu")
    show.add_argument("id", type=int, metavar="MÃ")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_show)

    search = commands.add_parser("search", parents=[common], help="tìm tài liệu")
    search.add_argument("query", metavar="TỪ_KHÓA")
    search.add_argument("--json", action="store_true")
    search.add_argument("--limit", type=int, default=10, metavar="N")
    search.set_defaults(handler=cmd_search)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.home = getattr(args, "home", None)
    args.verbose = getattr(args, "verbose", False)
    home_root = resolve_home(args.home)
    _setup_logging(Home(home_root), args.verbose)
    try:
        return args.handler(args)
    except (UserError, ConfigError, SearchIndexError) as error:
        _error(str(error))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _error("đã dừng theo yêu cầu")
        return 130


if __name__ == "__main__":
    sys.exit(main())
