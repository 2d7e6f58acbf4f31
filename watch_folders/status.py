"""`sohoa status`: what the watch service has, from the catalog (works with it stopped)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipeline.catalog import Catalog
from watch_folders.jobs import STATES, now, stamp


@dataclass(frozen=True)
class WaitingFile:
    job: int
    file: str
    profile: str
    since: str
    waiting_seconds: float


@dataclass(frozen=True)
class StatusReport:
    running_pid: int | None
    counts: dict[str, int]  # received (queued), processing, done, failed, duplicate
    pages_last_hour: int
    pages_per_minute: float | None  # while working, over the last hour
    oldest_waiting: WaitingFile | None
    retrying: int  # queued jobs waiting for another try after a transient error

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
        }


def status_report(catalog: Catalog, running_pid: int | None) -> StatusReport:
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
    return StatusReport(running_pid, counts, pages, rate, waiting, int(retrying[0]["n"]))


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
        lines.append(f"  Tệp chờ lâu nhất: {w.file} (từ {w.since[11:19]}, {_duration(w.waiting_seconds)})")
    return lines


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} giây"
    if seconds < 7200:
        return f"{seconds / 60:.0f} phút"
    return f"{seconds / 3600:.1f} giờ"
