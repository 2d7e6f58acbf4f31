"""Errors that say "not now" rather than "never": retried with growing waits.

A file locked by an SMB client, a full disk, the index held by another writer, a signing
token unplugged: the same file may well go through a little later. Anything else is the
file's own fault (or a bug) and ends the job as failed. A full disk is a case of its own
(is_disk_full): it is waited out however long it lasts, never counted as a failed try.
"""

from __future__ import annotations

import errno
import sqlite3

from core.errors import SohoaError, is_transient_code

# OSError numbers that say "not now" rather than "never": a file locked by an SMB client,
# a full disk, memory or a network share briefly unavailable.
_TRANSIENT_ERRNOS = {
    errno.EBUSY, errno.EAGAIN, errno.ETXTBSY, errno.ENOSPC, errno.EDQUOT, errno.ENOMEM,
    errno.ESTALE, errno.EACCES, errno.EPERM, errno.ETIMEDOUT, errno.EINTR, errno.EIO,
    errno.ECONNRESET, errno.EHOSTDOWN,
}
# Pipeline errors that a later attempt may not meet (a timestamp service down, a signing
# token unplugged, the index held by another writer) say so by their code: core.errors.CODES.


# How a full disk reads when it comes from outside Python's OSError: tantivy's ValueError
# ("... kind: StorageFull ... No space left on device"), SQLite's SQLITE_FULL, a tool's
# message, an error carried back from another process as text.
_DISK_FULL_WORDS = ("no space left on device", "database or disk is full", "disk quota exceeded",
                    "storagefull", "os error 28", "errno 28")


def _causes(error: BaseException):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def is_disk_full(error: BaseException) -> bool:
    """The home's disk (or the user's quota) is full: not the file's fault, and not a
    matter of a few tries either; the job waits as long as the disk stays full."""
    for cause in _causes(error):
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(cause, sqlite3.DatabaseError) and getattr(cause, "sqlite_errorname", None) == "SQLITE_FULL":
            return True
        text = str(cause).lower()
        if any(words in text for words in _DISK_FULL_WORDS):
            return True
    return False


def pin_rejection(error: BaseException):
    """The token's refusal of the PIN (signing.errors.PinRejected) behind error, if any:
    never transient, since every try spends one of the few the token allows."""
    from signing.errors import PinRejected

    for cause in _causes(error):
        if isinstance(cause, PinRejected):
            return cause
    return None


def is_transient(error: BaseException) -> bool:
    if pin_rejection(error) is not None:
        return False

    if is_disk_full(error):
        return True
    for cause in _causes(error):
        if isinstance(cause, OSError) and cause.errno in _TRANSIENT_ERRNOS:
            return True
        if isinstance(cause, MemoryError):
            return True
        if isinstance(cause, sqlite3.OperationalError) and any(
                word in str(cause) for word in ("locked", "busy", "full", "disk I/O")):
            return True
        if isinstance(cause, SohoaError) and is_transient_code(cause.code):
            return True
    return False


DISK_FULL_REASON = "đĩa đầy, chưa ghi được; sẽ làm tiếp khi kho có chỗ trống"


def describe_transient(error: BaseException) -> str:
    from index import SearchIndexError

    if is_disk_full(error):
        return DISK_FULL_REASON
    for cause in _causes(error):
        if isinstance(cause, SearchIndexError):  # its own words are English, for the log
            return "chỉ mục tìm kiếm đang bị tiến trình khác giữ"
        if isinstance(cause, SohoaError) and is_transient_code(cause.code):
            return cause.reason
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
    return f"lỗi tạm thời ({type(error).__name__}: {error})"
