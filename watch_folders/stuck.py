"""Files that stay in the inbox when they should have left it, for `sohoa status`.

A file is taken within seconds of its copy ending, or after the incomplete period at most,
and leaves the inbox when its job ends. One still there long after that was not taken (the
service is not running, or cannot read it), or its job ended but it could not be moved
out (its outcome folder refused it). Either way a person must look: the clerk thinks the
scan is archived. How long it has been there is told by its inode's change time, which a
copy sets on arrival (the modification time is the scanner's, often kept from elsewhere).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from watch_folders.finder import walk_files
from core.names import is_ignored, printable

SHOWN = 5  # names listed by `sohoa status`; the rest counted


@dataclass(frozen=True)
class StuckFile:
    file: str  # relative to inbox/, printable (NFC)
    seconds: float  # in the inbox for at least this long
    job: int | None  # the job that ended with it, when it could not leave
    state: str | None

    def as_json(self) -> dict:
        return {"file": self.file, "seconds": round(self.seconds), "job": self.job, "state": self.state}


def overdue_after(settings) -> float:
    """Seconds after which a file still in the inbox, and in no queued or running job, is
    overdue: the incomplete period (the longest a file is watched before it is taken), two
    walks of the inbox (a share sends no events) and the quiet period; about 2 minutes with
    the default settings."""
    return settings.incomplete_seconds + 2 * settings.rescan_seconds + settings.quiet_seconds


def stuck_in_inbox(inbox: Path, catalog, older_than: float, *, clock=time.time) -> list[StuckFile]:
    """Inbox files there for more than `older_than` seconds that no queued or running job
    holds, oldest first."""
    if not inbox.is_dir():
        return []
    uncleared = {bytes(row["source_raw"]): (row["id"], row["state"]) for row in catalog.read(
        "SELECT id, state, source_raw FROM watch_jobs WHERE NOT source_cleared")}  # a boolean on PostgreSQL
    moment = clock()
    found = []
    for path in walk_files(inbox):
        relative = path.relative_to(inbox)
        if not relative.parts or is_ignored(relative):
            continue
        try:
            status = os.lstat(path)
        except OSError:
            continue
        age = moment - status.st_ctime
        if age <= older_than:
            continue
        job, state = uncleared.get(os.fsencode(str(relative)), (None, None))
        if state in ("received", "processing"):
            continue  # waiting its turn, or for a retry: `sohoa status` counts it already
        found.append(StuckFile(printable(relative), age, job, state))
    return sorted(found, key=lambda stuck: -stuck.seconds)


# A job's end state as `sohoa status` names it (the watch_jobs code stays in --json).
_STATE_WORDS = {"done": "đã lưu", "failed": "lỗi", "duplicate": "trùng"}


def describe_stuck(stuck: list[StuckFile], running: bool) -> list[str]:
    if not stuck:
        return []
    lines = [f"  Tệp nằm lâu trong thư mục nhận: {len(stuck)}"
             + ("" if running else " (dịch vụ không chạy: chạy `sohoa watch` để nhận)")]
    for item in stuck[:SHOWN]:
        if item.job is not None:
            why = (f"công việc số {item.job} đã xong ({_STATE_WORDS.get(item.state, item.state)}) nhưng tệp chưa chuyển ra được; "
                   f"xem logs/sohoa.log, tìm «job={item.job}»")
        elif running:
            why = "chưa nhận được; xem logs/sohoa.log, tìm tên tệp"
        else:
            why = "chưa được nhận"
        lines.append(f"    {item.file} ({duration_text(item.seconds)}): {why}")
    if len(stuck) > SHOWN:
        lines.append(f"    ... và {len(stuck) - SHOWN} tệp khác")
    return lines


def duration_text(seconds: float) -> str:
    """A waiting time as a person says it (also used by status.py)."""
    if seconds < 120:
        return f"{seconds:.0f} giây"
    if seconds < 7200:
        return f"{seconds / 60:.0f} phút"
    return f"{seconds / 3600:.1f} giờ"
