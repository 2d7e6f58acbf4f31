"""Errors that say "not now" rather than "never": retried with growing waits.

A file locked by an SMB client, a full disk, the index held by another writer, a signing
token unplugged: the same file may well go through a little later. Anything else is the
file's own fault (or a bug) and ends the job as failed.
"""

from __future__ import annotations

import errno
import sqlite3

# OSError numbers that say "not now" rather than "never": a file locked by an SMB client,
# a full disk, memory or a network share briefly unavailable.
_TRANSIENT_ERRNOS = {
    errno.EBUSY, errno.EAGAIN, errno.ETXTBSY, errno.ENOSPC, errno.EDQUOT, errno.ENOMEM,
    errno.ESTALE, errno.EACCES, errno.EPERM, errno.ETIMEDOUT, errno.EINTR, errno.EIO,
    errno.ECONNRESET, errno.EHOSTDOWN,
}
# Error codes of pipeline errors that a later attempt may not meet (a timestamp service
# down, a signing token unplugged).
_TRANSIENT_CODES = {"timestamp-unavailable", "identity-unavailable", "page-lost"}


def _causes(error: BaseException):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def is_transient(error: BaseException) -> bool:
    from index import SearchIndexError

    for cause in _causes(error):
        if isinstance(cause, OSError) and cause.errno in _TRANSIENT_ERRNOS:
            return True
        if isinstance(cause, (MemoryError, SearchIndexError)):
            return True
        if isinstance(cause, sqlite3.OperationalError) and any(
                word in str(cause) for word in ("locked", "busy", "full", "disk I/O")):
            return True
        if getattr(cause, "code", None) in _TRANSIENT_CODES:
            return True
    return False


def describe_transient(error: BaseException) -> str:
    for cause in _causes(error):
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return "đĩa đầy, chưa ghi được"
        if isinstance(cause, OSError) and cause.errno in (errno.EBUSY, errno.ETXTBSY, errno.EAGAIN):
            return "tệp đang bị chương trình khác giữ (khóa), chưa đọc được"
        if isinstance(cause, OSError) and cause.errno in (errno.EACCES, errno.EPERM):
            return "không có quyền đọc hoặc ghi tệp"
        if isinstance(cause, OSError):
            return f"lỗi đọc ghi tạm thời ({cause.strerror or cause})"
        if isinstance(cause, MemoryError):
            return "thiếu bộ nhớ"
        if isinstance(cause, sqlite3.OperationalError):
            return f"danh mục đang bận ({cause})"
        if type(cause).__name__ == "SearchIndexError":
            return "chỉ mục tìm kiếm đang bị tiến trình khác giữ"
    return f"lỗi tạm thời ({type(error).__name__}: {error})"
