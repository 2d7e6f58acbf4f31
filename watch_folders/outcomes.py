"""Where a file goes once its job has ended, and the note that goes with it.

    done       deleted, or moved to done/<profile>/      (per profile)
    failed     moved to failed/<profile>/ beside <name>.reason.txt
    duplicate  moved to duplicate/<profile>/ beside <name>.note.txt

The note is written (fsynced) before the file moves, so a crash in between leaves the file
in the inbox with its note already waiting, and the next start finishes the move. A file
is only touched if it is still the very file the job took (same size and modification
time): a new scan saved under the same name is a new job, never deleted by an old one.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.durable import fsync_dir, write_bytes_durably
from watch_folders.jobs import JobRow

_ADVICE = {
    "empty": "Tệp rỗng (0 byte). Hãy quét lại hoặc chép lại tệp từ máy quét.",
    "corrupt": "Tệp hỏng hoặc chép chưa hết. Hãy chép lại hoặc quét lại rồi thả lại vào thư mục.",
    "encrypted": "Hãy gỡ mật khẩu của tệp PDF (hoặc xuất lại không đặt mật khẩu) rồi thả lại vào thư mục.",
    "unsupported-format": "sohoa nhận bản quét PDF, TIFF, JPEG và PNG. Hãy lưu bản quét ở một trong các "
                          "định dạng đó rồi thả lại vào thư mục.",
    "too-many-pixels": "Hãy quét lại ở độ phân giải 200–300 dpi.",
    "page-size": "Khổ trang ghi trong tệp PDF không phải khổ giấy thật. Hãy xuất lại tệp PDF (khổ A4, A3 ...) "
                 "rồi thả lại vào thư mục.",
    "page-size": "Khổ trang ghi trong tệp PDF không phải khổ giấy thật. Hãy xuất lại tệp PDF (khổ A4, A3 ...) "
                 "rồi thả lại vào thư mục.",
    "too-large-content": "Đừng mở tệp này nếu không rõ nguồn gốc; hãy xin lại bản gốc hoặc quét lại văn bản giấy.",
    "too-many-pages": "Hãy tách tệp thành nhiều tệp nhỏ hơn rồi thả lại vào thư mục.",
    "too-much-memory": "Hãy quét lại ở độ phân giải 200–300 dpi, hoặc báo kỹ thuật viên tăng [limits] "
                       "memory_limit_mb trong config.toml nếu tệp đúng là cần lưu.",
    "no-profile": "Hãy đặt tệp vào thư mục của một hồ sơ (inbox/<hồ sơ>/).",
    "unreadable": "Kiểm tra quyền đọc của tệp (hoặc chép lại tệp từ máy quét), rồi thả lại vào thư mục.",
    "gone": "Không còn gì để làm: tệp đã được lấy ra khỏi thư mục trước khi lưu xong.",
}
_ADVICE_OTHER = ("Hãy báo kỹ thuật viên. Chi tiết kỹ thuật nằm trong logs/sohoa.log "
                 "(tìm «job={job}»).")


@dataclass(frozen=True)
class Cleared:
    """What happened to the inbox file."""

    action: str  # deleted, moved, gone (not there any more), replaced (another file has its name now)
    destination: Path | None = None


def failure_note(job: JobRow, reason: str, code: str, at: str) -> str:
    advice = _ADVICE.get(code, _ADVICE_OTHER.format(job=job.id))
    return (
        f"Tệp: {job.source_path}\n"
        f"Lúc: {at}\n"
        f"Không lưu vào kho được vì: {reason}\n"
        f"Cách xử lý: {advice}\n"
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


def is_same_file(path: Path, size: int, mtime_ns: int) -> bool:
    """Is path still the file that was taken (same size and modification time)?"""
    try:
        status = os.lstat(path)
    except OSError:
        return False
    return (status.st_size, status.st_mtime_ns) == (size, mtime_ns)


def clear_source(job: JobRow, *, inbox: Path, home_root: Path, after_done: str, note: str | None,
                 fallback_copy: Path | None = None) -> Cleared:
    """Take the job's file out of the inbox as its end state says."""
    source = job.source(inbox)
    relative = Path(job.source_raw.decode("utf-8", "surrogateescape"))
    if not is_same_file(source, job.source_size, job.source_mtime_ns):
        gone = not os.path.lexists(source)
        if job.state == "failed" and fallback_copy is not None and fallback_copy.is_file():
            # The clerk took the file away, but it failed: they get our copy back in failed/.
            destination = _place(fallback_copy, home_root / "failed" / relative, note, ".reason.txt")
            return Cleared("moved", destination)
        return Cleared("gone" if gone else "replaced")
    if job.state == "done":
        if after_done == "move":
            return Cleared("moved", _place(source, home_root / "done" / relative, None, ""))
        os.unlink(source)
        fsync_dir(source.parent)
        return Cleared("deleted")
    folder, suffix = ("failed", ".reason.txt") if job.state == "failed" else ("duplicate", ".note.txt")
    return Cleared("moved", _place(source, home_root / folder / relative, note, suffix))


def _place(source: Path, wanted: Path, note: str | None, note_suffix: str) -> Path:
    """Move source to wanted (or "name (2).ext" beside it if taken), note first."""
    wanted.parent.mkdir(parents=True, exist_ok=True)
    destination = _free_name(wanted, note_suffix)
    if note is not None:
        write_bytes_durably(destination.with_name(destination.name + note_suffix), note.encode("utf-8"))
    _move(source, destination)
    return destination


def _free_name(wanted: Path, note_suffix: str) -> Path:
    candidate, number = wanted, 1
    while os.path.lexists(candidate) or (note_suffix and os.path.lexists(
            candidate.with_name(candidate.name + note_suffix))):
        number += 1
        candidate = wanted.with_name(f"{wanted.stem} ({number}){wanted.suffix}")
    return candidate


def _move(source: Path, destination: Path) -> None:
    try:
        os.rename(source, destination)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        # The inbox is another file system (a mounted share): copy, make it durable, then unlink.
        partial = destination.with_name(f".{destination.name}.partial")
        shutil.copy2(source, partial)
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.rename(partial, destination)
        fsync_dir(destination.parent)
        os.unlink(source)
    else:
        fsync_dir(destination.parent)
    fsync_dir(source.parent)
