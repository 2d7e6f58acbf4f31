"""`sohoa status`: what the watch service has, from the catalog (works with it stopped)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from core.catalog import Catalog
from signing.pin_pause import SigningPause, read_pause
from watch_folders.jobs import STATES, now, stamp
from watch_folders.stuck import duration_text


@dataclass(frozen=True)
class WaitingFile:
    job: int
    file: str
    profile: str
    since: str
    waiting_seconds: float


@dataclass(frozen=True)
class DiskSpace:
    """Room left on the home's file system, and the jobs waiting for more."""

    free_bytes: int
    total_bytes: int
    waiting_for_space: int  # queued jobs whose last try met a full disk

    @property
    def full(self) -> bool:
        # Nearly nothing left (2 % of the disk, at most 100 MB: a scan's PDF/A is a few
        # MB), or a job that found no room for what it had to write.
        low = min(100 * 1024 * 1024, self.total_bytes // 50)
        return self.free_bytes < low or self.waiting_for_space > 0

    def as_json(self) -> dict:
        return {"full": self.full, "free_bytes": self.free_bytes, "total_bytes": self.total_bytes,
                "waiting_for_space": self.waiting_for_space}


@dataclass(frozen=True)
class StatusReport:
    running_pid: int | None
    counts: dict[str, int]  # received (queued), processing, done, failed, duplicate
    pages_last_hour: int
    pages_per_minute: float | None  # while working, over the last hour
    oldest_waiting: WaitingFile | None
    retrying: int  # queued jobs waiting for another try after a transient error
    disk: DiskSpace | None = None  # None when the home's file system cannot be asked
    signing_paused: SigningPause | None = None  # the token refused the PIN: nothing is signed

    def as_json(self) -> dict:
        return {
            "running": self.running_pid is not None,
            "pid": self.running_pid,
            "queued": self.counts["received"],
            "in_progress": self.counts["processing"],
            "done": self.counts["done"],
            "failed": self.counts["failed"],
            "duplicate": self.counts["duplicate"],
            "retrying": self.retrying,
            "pages_last_hour": self.pages_last_hour,
            "pages_per_minute": self.pages_per_minute,
            "oldest_waiting": None if self.oldest_waiting is None else {
                "job": self.oldest_waiting.job,
                "file": self.oldest_waiting.file,
                "profile": self.oldest_waiting.profile,
                "since": self.oldest_waiting.since,
                "waiting_seconds": self.oldest_waiting.waiting_seconds,
            },
            "disk": None if self.disk is None else self.disk.as_json(),
            "signing_paused": None if self.signing_paused is None else {
                "since": self.signing_paused.since, "reason": self.signing_paused.reason,
                "advice": self.signing_paused.advice,
            },
        }


@contextlib.contextmanager
def catalog_for_status(path: Path):
    """The catalog, to read. On a full disk SQLite may not open it the usual way (a WAL
    database wants its shared-memory file, which takes room): the database file is then
    read as it stands. That is the whole catalog when no service runs (its last close
    folded the WAL in); when one runs, its shared-memory file exists and the usual way works."""
    from django.db import OperationalError as DatabaseOperationalError  # sqlite3's, wrapped by Django

    try:
        catalog = Catalog(path)
    except (sqlite3.OperationalError, DatabaseOperationalError) as error:
        try:
            db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?immutable=1", uri=True)
        except sqlite3.Error:
            raise error from None
        db.row_factory = sqlite3.Row
        try:
            yield _FileOnly(Path(path), db)
        finally:
            db.close()
        return
    with catalog:
        yield catalog


@dataclass(frozen=True)
class _FileOnly:
    path: Path
    db: sqlite3.Connection

    def read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        return self.db.execute(sql, params).fetchall()


def status_report(catalog: Catalog, running_pid: int | None, home_root: Path | None = None) -> StatusReport:
    counts = dict.fromkeys(STATES, 0)
    for row in catalog.read("SELECT state, count(*) AS n FROM watch_jobs GROUP BY state"):
        counts[row["state"]] = row["n"]
    moment = now()
    hour_ago = stamp(moment - dt.timedelta(hours=1))
    window = catalog.read(
        "SELECT sum(page_count) AS pages, min(started_at) AS first, max(finished_at) AS last FROM watch_jobs"
        " WHERE state = 'done' AND finished_at >= ?", (hour_ago,))[0]
    pages = int(window["pages"] or 0)
    rate = None
    if pages and window["first"] and window["last"]:
        # Over the time the service was working in that hour, not the hour's idle minutes.
        first = max(dt.datetime.fromisoformat(window["first"]), moment - dt.timedelta(hours=1))
        minutes = (dt.datetime.fromisoformat(window["last"]) - first).total_seconds() / 60
        rate = round(pages / max(minutes, 1 / 60), 1)
    oldest = catalog.read(
        "SELECT id, source_path, profile, received_at FROM watch_jobs WHERE state = 'received'"
        " ORDER BY received_at, id LIMIT 1")
    waiting = None
    if oldest:
        row = oldest[0]
        waiting = WaitingFile(row["id"], row["source_path"], row["profile"], row["received_at"],
                              round((moment - dt.datetime.fromisoformat(row["received_at"])).total_seconds(), 1))
    retrying = catalog.read("SELECT count(*) AS n FROM watch_jobs WHERE state = 'received' AND retry_at IS NOT NULL")
    disk = _disk_space(catalog, home_root or Path(catalog.path).parent)
    pause = read_pause(home_root or Path(catalog.path).parent)
    return StatusReport(running_pid, counts, pages, rate, waiting, int(retrying[0]["n"]), disk, pause)


def _disk_space(catalog: Catalog, root: Path) -> DiskSpace | None:
    try:
        fs = os.statvfs(root)
    except OSError:
        return None
    waiting = catalog.read("SELECT count(*) AS n FROM watch_jobs WHERE state IN ('received', 'processing')"
                           " AND error_code = 'disk-full'")
    return DiskSpace(fs.f_bavail * fs.f_frsize, fs.f_blocks * fs.f_frsize, int(waiting[0]["n"]))


def describe(report: StatusReport) -> list[str]:
    """The report in plain Vietnamese, one fact a line."""
    if report.running_pid is None:
        head = "Dịch vụ theo dõi thư mục: không chạy"
    else:
        head = f"Dịch vụ theo dõi thư mục: đang chạy (tiến trình {report.running_pid})"
    c = report.counts
    lines = [
        head,
        f"  Đang chờ:     {c['received']}" + (f" (trong đó {report.retrying} chờ thử lại)" if report.retrying else ""),
        f"  Đang xử lý:   {c['processing']}",
        f"  Đã lưu:       {c['done']}",
        f"  Lỗi:          {c['failed']}" + ("  (xem thư mục failed/)" if c["failed"] else ""),
        f"  Trùng:        {c['duplicate']}" + ("  (xem thư mục duplicate/)" if c["duplicate"] else ""),
    ]
    if report.pages_per_minute is None:
        lines.append("  Tốc độ:       chưa có trang nào xong trong 1 giờ qua")
    else:
        lines.append(f"  Tốc độ:       {report.pages_per_minute:.1f} trang/phút "
                     f"({report.pages_last_hour} trang trong 1 giờ qua)")
    if report.oldest_waiting is None:
        lines.append("  Tệp chờ lâu nhất: không có")
    else:
        w = report.oldest_waiting
        lines.append(f"  Tệp chờ lâu nhất: {w.file} (từ {w.since[11:19]}, {duration_text(w.waiting_seconds)})")
    disk = report.disk
    if disk is not None and disk.full:
        waiting = f" ({disk.waiting_for_space} tệp đang chờ vì đĩa đầy)" if disk.waiting_for_space else ""
        lines.append(f"  Đĩa của kho đầy: còn {_size(disk.free_bytes)}; các tệp đang chờ sẽ được xử lý "
                     f"khi có chỗ{waiting}. Hãy giải phóng dung lượng đĩa.")
    if report.signing_paused is not None:
        lines.append(f"  Ký số ĐANG DỪNG (từ {report.signing_paused.since[11:16]}): {report.signing_paused.advice} "
                     "Các tệp cần ký chờ trong thư mục nhận.")
    return lines


def free_space(root: Path) -> str:
    """How much room the home's file system has left, for a message."""
    try:
        fs = os.statvfs(root)
    except OSError:
        return "không rõ"
    return _size(fs.f_bavail * fs.f_frsize)


def _size(count: int) -> str:
    if count < 1024 * 1024:
        return f"{count / 1024:.0f} KB"
    if count < 1024 ** 3:
        return f"{count / 1024 ** 2:.1f} MB"
    return f"{count / 1024 ** 3:.1f} GB"
