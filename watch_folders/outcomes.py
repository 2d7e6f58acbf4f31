"""Where a file goes once its job has ended, and the note that goes with it.

    done       deleted, or moved to done/<profile>/      (per profile)
    failed     moved to failed/<profile>/ beside <name>.reason.txt
    duplicate  moved to duplicate/<profile>/ beside <name>.note.txt

The note is written (fsynced) before the file moves, so a crash in between leaves the file
in the inbox with its note already waiting, and the next start finishes the move.

A file leaves the inbox only if it is still the very file the job took: the same device and
inode, the same size and the same SHA-256, read through a descriptor opened without
following links. Anything else there under that name (a new scan saved over it, the rest of
a copy that paused, a symbolic link) is new content: it stays, and the next walk takes it as
a new job. Nothing here follows a symbolic link (safe_fs.py): a link planted in failed/,
done/ or duplicate/ is refused with SymlinkRefused (the file waits in the inbox), never
written through.
"""

from __future__ import annotations

import errno
import os
import stat
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path, PurePath

from core.errors import ASK_TECHNICIAN, CODES, advice
from core.durable import copy_fd_and_hash, sha256_fd
from watch_folders import safe_fs
from watch_folders.jobs import JobRow
from core.names import fit_name

_ADVICE_OTHER = ("Hãy báo kỹ thuật viên. Chi tiết kỹ thuật nằm trong logs/sohoa.log "
                 "(tìm «job={job}»).")


@dataclass(frozen=True)
class Cleared:
    """What happened to the inbox file."""

    action: str  # deleted, moved, gone (not there any more), replaced (another file has its name now)
    destination: Path | None = None


def failure_note(job: JobRow, reason: str, code: str, at: str) -> str:
    said = advice(code) if code in CODES else ASK_TECHNICIAN
    # What to do is said once per code (core.errors), the same as the CLI and the web say it.
    said = _ADVICE_OTHER.format(job=job.id) if said == ASK_TECHNICIAN else said
    return (
        f"Tệp: {job.source_path}\n"
        f"Lúc: {at}\n"
        f"Không lưu vào kho được vì: {reason}\n"
        f"Cách xử lý: {said}\n"
        f"(mã lỗi {code}, công việc số {job.id})\n"
    )


def duplicate_note(job: JobRow, document_id: int, original_name: str, archived_at: str, at: str) -> str:
    return (
        f"Tệp: {job.source_path}\n"
        f"Lúc: {at}\n"
        f"Bản quét này đã có trong kho (giống từng byte): tài liệu mã {document_id}, "
        f"«{original_name}», lưu lúc {archived_at}.\n"
        f"Không lưu lại lần nữa. Xem tài liệu: sohoa show {document_id}\n"
        f"(SHA-256 {job.sha256}, công việc số {job.id})\n"
    )


def looks_taken(path: Path, job: JobRow) -> bool:
    """A cheap look (no reading) at whether path still seems the file the job took: a plain
    file, not a link, with the same device, inode, size and modification time."""
    try:
        status = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(status.st_mode) and _same_identity(status, job) \
        and status.st_mtime_ns == job.source_mtime_ns


def clear_source(job: JobRow, *, inbox: Path, home_root: Path, after_done: str, note: str | None,
                 fallback_copy: Path | None = None) -> Cleared:
    """Take the job's file out of the inbox as its end state says.

    Raises SymlinkRefused when the way to the outcome folder is a symbolic link: nothing is
    written and the file stays in the inbox."""
    relative = PurePath(job.source_raw.decode("utf-8", "surrogateescape"))
    with ExitStack() as stack:
        home_fd = _opened(stack, safe_fs.open_root(home_root))
        inbox_fd = _opened(stack, safe_fs.open_dir(home_fd, inbox.relative_to(home_root).parts, verb="đọc"))
        try:
            source_dir = _opened(stack, safe_fs.open_dir(inbox_fd, relative.parts[:-1], verb="đọc"))
        except (FileNotFoundError, safe_fs.SymlinkRefused):
            source_dir = None  # its folder is gone, or is a link now: what was taken is not there
        taken = _open_if_still_taken(source_dir, relative.name, job) if source_dir is not None else None
        if taken is None:
            gone = source_dir is None or not safe_fs.exists_at(source_dir, relative.name)
            if job.state == "failed" and fallback_copy is not None and fallback_copy.is_file():
                # The clerk took the file away (or put another there), but it failed: they
                # get our copy of what was taken back in failed/.
                copy_dir = _opened(stack, safe_fs.open_dir(home_fd, fallback_copy.parent.relative_to(home_root).parts))
                destination = _place(home_fd, home_root, ("failed", *relative.parts), copy_dir,
                                     fallback_copy.name, None, note, ".reason.txt")
                return Cleared("moved", destination)
            return Cleared("gone" if gone else "replaced")
        if taken.fd is not None:
            stack.callback(os.close, taken.fd)
        if job.state == "done":
            if after_done == "move":
                return Cleared("moved", _place(home_fd, home_root, ("done", *relative.parts), source_dir,
                                               relative.name, taken, None, ""))
            _check_still(source_dir, relative.name, taken)
            os.unlink(relative.name, dir_fd=source_dir)
            os.fsync(source_dir)
            return Cleared("deleted")
        folder, suffix = ("failed", ".reason.txt") if job.state == "failed" else ("duplicate", ".note.txt")
        return Cleared("moved", _place(home_fd, home_root, (folder, *relative.parts), source_dir, relative.name,
                                       taken, note, suffix))


@dataclass(frozen=True)
class _Taken:
    """The inbox file, checked to be what the job took; fd open on it (None when the job
    could not read it: then only its identity was compared)."""

    fd: int | None
    dev: int
    ino: int


class _Moved(OSError):
    """The name changed hands between the check and the move: nothing moved."""


def _open_if_still_taken(folder: int, name: str, job: JobRow) -> _Taken | None:
    if not job.sha256:
        # A job that could not read its file (unreadable): its identity is all there is.
        status = safe_fs.lstat_at(folder, name)
        if status is None or not stat.S_ISREG(status.st_mode) or not _same_identity(status, job) \
                or status.st_mtime_ns != job.source_mtime_ns:
            return None
        return _Taken(None, status.st_dev, status.st_ino)
    try:
        fd, status = safe_fs.open_regular(folder, name, name)
    except (FileNotFoundError, safe_fs.SymlinkRefused, safe_fs.NotRegularFile):
        return None
    try:
        if _same_identity(status, job) and sha256_fd(fd) == (job.sha256, job.source_size):
            return _Taken(fd, status.st_dev, status.st_ino)
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return None


def _same_identity(status: os.stat_result, job: JobRow) -> bool:
    if job.source_dev is not None and (status.st_dev, status.st_ino) != (job.source_dev, job.source_ino):
        return False
    return status.st_size == job.source_size


def _check_still(folder: int, name: str, taken: _Taken) -> None:
    """Right before the name is moved or unlinked: is it still the inode checked? (What
    remains is the instant between this look and the rename or unlink: no call does both.)"""
    status = safe_fs.lstat_at(folder, name)
    if status is None or (status.st_dev, status.st_ino) != (taken.dev, taken.ino):
        raise _Moved(errno.ESTALE, f"{name} đã được thay bằng tệp khác ngay lúc chuyển đi")


def _opened(stack: ExitStack, fd: int) -> int:
    stack.callback(os.close, fd)
    return fd


def _place(home_fd: int, home_root: Path, wanted: tuple[str, ...], source_dir: int, source_name: str,
           taken: _Taken | None, note: str | None, note_suffix: str) -> Path:
    """Move source to home/wanted (or "name (2).ext" beside it if taken), note first;
    every folder on the way created and opened without following a link."""
    folder = safe_fs.open_dir(home_fd, wanted[:-1], create=True)
    try:
        # fit_name: the note's name adds its suffix to the file's, which may be near NAME_MAX.
        name = _free_name(folder, fit_name(wanted[-1], note_suffix), note_suffix)
        if note is not None:
            _write_note(folder, name + note_suffix, note)
        _move(source_dir, source_name, folder, name, taken)
    finally:
        os.close(folder)
    return home_root.joinpath(*wanted[:-1], name)


def _write_note(folder: int, name: str, text: str) -> None:
    # A short temporary name: the note's own name may be near the longest a name can be.
    temporary = f".sohoa-{uuid.uuid4().hex[:12]}.tmp"
    safe_fs.write_new_file(folder, temporary, text.encode("utf-8"))
    os.rename(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    os.fsync(folder)


def _free_name(folder: int, wanted: str, note_suffix: str) -> str:
    stem, suffix = os.path.splitext(wanted)
    candidate, number = wanted, 1
    while safe_fs.exists_at(folder, candidate) or (note_suffix and safe_fs.exists_at(folder, candidate + note_suffix)):
        number += 1
        # " (2)" makes a name that just fitted too long again: fitted anew (its own hash).
        candidate = fit_name(f"{stem} ({number}){suffix}", note_suffix)
    return candidate


def _move(source_dir: int, source_name: str, folder: int, name: str, taken: _Taken | None) -> None:
    if taken is not None:
        _check_still(source_dir, source_name, taken)
    try:
        os.rename(source_name, name, src_dir_fd=source_dir, dst_dir_fd=folder)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        # The inbox is another file system (a mounted share): copy what was checked (the
        # open descriptor, never the name again), make it durable, then unlink the source.
        fd = taken.fd if taken is not None and taken.fd is not None else \
            safe_fs.open_regular(source_dir, source_name, source_name)[0]
        try:
            partial = f".sohoa-{uuid.uuid4().hex[:12]}.partial"
            mode = stat.S_IMODE(os.fstat(fd).st_mode) & 0o666  # never more readable than the original
            copy_fd_and_hash(fd, partial, mode, dir_fd=folder)
        finally:
            if taken is None or fd != taken.fd:
                os.close(fd)
        os.rename(partial, name, src_dir_fd=folder, dst_dir_fd=folder)
        os.fsync(folder)
        try:
            if taken is not None:
                _check_still(source_dir, source_name, taken)
        except _Moved:
            pass  # what was checked is copied; the name holds new content now, which stays
        else:
            os.unlink(source_name, dir_fd=source_dir)
    else:
        os.fsync(folder)
    os.fsync(source_dir)
