"""What every command shares: exit codes, one-line errors, JSON output, the home, the index.

Only the standard library at module level: `sohoa --help` must not pay for the pipeline."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from core.errors import SohoaError  # standard library only, like this module
from core.home import Home, resolve_home  # the standard library only too


EXIT_OK = 0
EXIT_FAILED = 1  # some input was refused or a record was not found
EXIT_USAGE = 2
# ingest: every file archived, but a signature one arrived with no longer vouches for it
# (the signed bytes or the file after signing were changed, or the signature is invalid)
EXIT_SIGNATURE_BROKEN = 3


class UserError(SohoaError):
    """A problem to report in one line, without a traceback."""

    code = "refused"


def print_json(value) -> None:
    import json  # here: `sohoa --help` does not load it

    print(json.dumps(value, ensure_ascii=False))


def error(message: str) -> None:
    print(f"sohoa: lỗi: {message}", file=sys.stderr)


def decimal(number: float, places: int = 1) -> str:
    """A measure as Vietnamese writes it: a decimal comma (0,4 MB), as `review` shows 0,60."""
    return f"{number:.{places}f}".replace(".", ",")


def quoted(value: object) -> str:
    """A value for the clerk: «…», or (trống) for nothing (never Python's None); a list as
    `sohoa set` takes it, items between | (never Python's ['a', 'b'])."""
    if isinstance(value, (list, tuple)):
        value = " | ".join(str(item) for item in value)
    return "(trống)" if value is None or value == "" else f"«{value}»"


# The system's reasons for a failed file operation, in Vietnamese (strerror is English).
_OS_REASONS = {
    "EEXIST": "đã có một tệp cùng tên ở đó", "ENOENT": "không tìm thấy", "ENOTDIR": "một phần đường dẫn là tệp, không phải thư mục",
    "EISDIR": "là thư mục, không phải tệp", "EACCES": "không có quyền", "EPERM": "không có quyền",
    "EROFS": "ổ đĩa chỉ đọc", "ENOSPC": "đĩa đầy", "EDQUOT": "hết hạn mức đĩa", "EIO": "lỗi đọc/ghi của ổ đĩa",
    "ENAMETOOLONG": "tên quá dài", "EBUSY": "đang bận",
}


def os_reason(failure: OSError) -> str:
    """Why a file operation failed, in words a clerk reads (never Python's `[Errno 17] File exists`)."""
    import errno

    name = errno.errorcode.get(failure.errno or 0, "")
    return _OS_REASONS.get(name, f"lỗi hệ thống {name or failure.errno}")


def report_folder(option: str | None, what: str) -> Path | None:
    """The folder `--report`/`--out` names, made now: a file in its way or no right to write
    there is said in one line before any work, not as a traceback after it."""
    if not option:
        return None
    folder = Path(option).expanduser().absolute()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(f"{folder}: {what} là một tệp, không phải thư mục; hãy chọn thư mục khác") from None
    except OSError as failure:
        raise UserError(f"{folder}: không tạo được thư mục {what} ({os_reason(failure)})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"{folder}: không có quyền ghi vào thư mục {what}; hãy chọn thư mục khác")
    return folder


def has_config(root: Path) -> bool:
    return Home(root).exists()


def not_a_home(root: Path) -> str:
    return (f"{root} không phải kho dữ liệu sohoa (không có config.toml). "
            f"Tạo kho mới: sohoa --home {root} init")


def open_home(args):
    """The home every command but `init` works on: main() has refused one without a config."""
    home = Home(resolve_home(args.home))
    if not home.exists():  # removed since main() looked: never a new archive in its place
        raise UserError(not_a_home(home.root))
    return home


def _one_line(record) -> str:
    """The console gets one line per message; tracebacks go to the log file only."""
    return f"sohoa: {record.getMessage()}"


def _for_console(record) -> bool:
    # Tracebacks and libraries' warnings (pikepdf's PageCopyWarning...) are for the log file:
    # the clerk gets our one-line messages.
    return not record.exc_info and record.name != "py.warnings"


def setup_logging(root: Path, verbose: bool) -> None:
    import logging

    from pipeline.logfile import FORMAT, LogFile

    logging.captureWarnings(True)
    logger = logging.getLogger()
    logger.setLevel(logging.INFO)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    console.format = _one_line
    console.addFilter(_for_console)
    logger.addHandler(console)
    if root.is_dir():
        (root / "logs").mkdir(exist_ok=True)
        # A log it cannot write (a full disk) is said once on the console, not per line.
        handler = LogFile(root / "logs" / "sohoa.log", console=sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)


# -- the search index, opened by several command groups ----------------------------------


def catalog_source(catalog):
    """The catalog as the index sees it: documents with their metadata and page texts, and
    their signature status from the audit trail (as `ingest` indexes them)."""
    from index import DocumentSource, index_entry

    return DocumentSource(
        documents_after=lambda after_id, limit: [
            index_entry(doc_id, metadata, pages, signing)
            for doc_id, metadata, pages, signing in catalog.documents_with_texts(after_id, limit)
        ],
        doc_ids=catalog.searchable_ids,  # withdrawn records are not in the index
        count=catalog.count_searchable,
    )


def reindex(home, engine: str, catalog, batch_size: int | None = None):
    """Rebuild the index from the catalog, telling the user how far it got now and then."""
    from index import rebuild_index
    from index.rebuild import DEFAULT_BATCH

    last_report = [time.monotonic()]

    def progress(state) -> None:
        if time.monotonic() - last_report[0] >= 5 or state.done == state.total:
            last_report[0] = time.monotonic()
            print(f"  chỉ mục: {state.done:,}/{state.total:,} tài liệu".replace(",", "."), file=sys.stderr)

    return rebuild_index(home.index_dir, engine, catalog_source(catalog), batch_size=batch_size or DEFAULT_BATCH,
                         progress=progress)


def open_search_index(home, engine: str, catalog):
    """Open the index; rebuild it from the catalog first when it is outdated or lost."""
    from index import open_index

    index = open_index(home.index_dir, engine)
    if index.needs_rebuild or (index.count() == 0 and catalog.count_searchable() > 0):
        index.close()
        print("Chỉ mục tìm kiếm cần dựng lại (phiên bản mới, đổi bộ máy tìm kiếm hoặc bị mất); "
              "đang dựng lại từ danh mục...", file=sys.stderr)
        reindex(home, engine, catalog)
        index = open_index(home.index_dir, engine)
    return index
