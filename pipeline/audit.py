"""`sohoa audit`: re-hash the archive's files, record a PREMIS "fixity check" event per
document in the audit trail, and write a report (JSON, and CSV in UTF-8 with BOM so that
Excel in a Vietnamese office opens it as columns).

A large archive is covered over a cycle: each run takes the documents least recently
checked first (never checked before all others), so repeated runs of a sample reach every
document in turn. The watch service runs it on the schedule of config.toml's [audit]
(AuditSchedule); the run's own event (document_id NULL, step "audit") says when the last
one ran, so a restart of the service does not run it again at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path

from core.clock import now as vietnam_now
from core.config_file import read_config
from core.events import Step
from pipeline import __version__
from core.catalog import Catalog, Event
from core.config import ConfigError
from core.durable import write_bytes_durably
from pipeline.fixity import FixityResult, check_record

log = logging.getLogger("sohoa.audit")

EVENT_TYPE = Step.FIXITY_CHECK  # its PREMIS eventType is its name
RUN_STEP = Step.AUDIT_RUN
AGENT = f"sohoa {__version__}"

CSV_HEADERS = ("Mã tài liệu", "Tên tệp gốc", "Kết quả", "Vấn đề", "Số byte đã đọc", "Thời điểm kiểm tra")


def now() -> dt.datetime:
    return vietnam_now().replace(microsecond=0)


@dataclass(frozen=True)
class AuditSettings:
    interval_hours: float = 24.0  # how often the watch service audits; 0 = never
    cycle_days: float = 30.0  # the service's runs together cover every document within this


def load_audit_settings(config_path: Path) -> AuditSettings:
    """[audit] of config.toml (defaults when absent); a bad value is named in one line."""
    try:
        table = (read_config(config_path) or {}).get("audit", {})
    except (OSError, ConfigError):
        return AuditSettings()  # load_config reports a broken config itself
    defaults = AuditSettings()
    try:
        settings = AuditSettings(float(table.get("interval_hours", defaults.interval_hours)),
                                 float(table.get("cycle_days", defaults.cycle_days)))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{config_path}: giá trị trong [audit] không hợp lệ ({error})") from None
    if settings.interval_hours < 0 or settings.cycle_days < 0:
        raise ConfigError(f"{config_path}: [audit] interval_hours và cycle_days không được âm")
    return settings


def scheduled_sample(total: int, settings: AuditSettings) -> int | None:
    """Documents one scheduled run checks so that the runs of one cycle cover all of them
    (None: all, when cycle_days is 0 or not longer than the interval)."""
    runs = settings.cycle_days * 24 / settings.interval_hours if settings.interval_hours else 0
    if runs <= 1:
        return None
    return max(1, math.ceil(total / runs))


@dataclass(frozen=True)
class AuditRun:
    started_at: str
    finished_at: str
    results: tuple[FixityResult, ...]
    total_documents: int
    seconds: float

    @property
    def failed(self) -> int:
        return sum(not r.ok for r in self.results)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    @property
    def bytes_read(self) -> int:
        return sum(r.bytes_read for r in self.results)

    def summary(self) -> dict:
        return {"started_at": self.started_at, "finished_at": self.finished_at, "agent": AGENT,
                "checked": len(self.results), "passed": len(self.results) - self.failed, "failed": self.failed,
                "archive_documents": self.total_documents, "bytes_read": self.bytes_read,
                "seconds": round(self.seconds, 3), "outcome": "pass" if self.ok else "fail"}


def least_recently_checked(catalog: Catalog, limit: int | None) -> list[int]:
    rows = catalog.read(
        "SELECT d.id, (SELECT max(e.id) FROM events AS e WHERE e.document_id = d.id AND e.step = ?) AS last"
        " FROM documents AS d ORDER BY last IS NOT NULL, last, d.id" + (" LIMIT ?" if limit else ""),
        (EVENT_TYPE, limit) if limit else (EVENT_TYPE,),
    )
    return [int(row["id"]) for row in rows]


def run_audit(catalog: Catalog, archive_root: Path, *, sample: int | None = None,
              on_result=None) -> AuditRun:
    """Check `sample` documents (all when None), least recently checked first; each one's
    event is committed as soon as it is checked, so a run stopped half-way keeps its work."""
    started = now()
    clock = dt.datetime.now().timestamp()
    results = []
    for document_id in least_recently_checked(catalog, sample):
        row = catalog.get(document_id)
        if row is None:
            continue
        result = check_record(row, archive_root)
        event = Event(EVENT_TYPE, "pass" if result.ok else "fail", now().isoformat(), {
            "event_type": EVENT_TYPE, "agent": AGENT, "algorithm": "SHA-256",
            "files": {f.role: f.actual_sha256 for f in result.files},
            **({"problems": list(result.problems)} if not result.ok else {}),
        })
        with catalog.transaction() as db:
            Catalog.insert_events(db, document_id, [event])
        results.append(result)
        if on_result is not None:
            on_result(result)
    run = AuditRun(started.isoformat(), now().isoformat(), tuple(results), catalog.count_documents(),
                   dt.datetime.now().timestamp() - clock)
    return run


def record_run(catalog: Catalog, run: AuditRun, reports: list[Path]) -> None:
    detail = {**run.summary(), "reports": [str(p) for p in reports]}
    with catalog.transaction() as db:
        Catalog.insert_events(db, None, [Event(RUN_STEP, detail["outcome"], run.finished_at, detail)])


def last_run(catalog: Catalog) -> dict | None:
    """The last audit's summary (as record_run stored it), or None."""
    rows = catalog.read("SELECT at, outcome, detail FROM events WHERE document_id IS NULL AND step = ?"
                        " ORDER BY id DESC LIMIT 1", (RUN_STEP,))
    if not rows:
        return None
    return {"at": rows[0]["at"], "outcome": rows[0]["outcome"], **json.loads(rows[0]["detail"] or "{}")}


def csv_text(run: AuditRun) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for r in run.results:
        writer.writerow((r.id, r.name, "đạt" if r.ok else "không đạt", " | ".join(r.problems), r.bytes_read,
                         run.finished_at))
    return out.getvalue()


def write_reports(run: AuditRun, folders: list[Path]) -> list[Path]:
    """audit-<timestamp>.json and .csv into each folder; returns the files written."""
    stamp = dt.datetime.fromisoformat(run.finished_at).strftime("%Y%m%d-%H%M%S")
    document = json.dumps({"summary": run.summary(), "documents": [r.as_dict() for r in run.results]},
                          ensure_ascii=False, indent=2).encode("utf-8")
    table = csv_text(run).encode("utf-8-sig")  # BOM: Excel reads UTF-8
    written = []
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        for suffix, data in ((".json", document), (".csv", table)):
            path = folder / f"audit-{stamp}{suffix}"
            write_bytes_durably(path, data)
            written.append(path)
    return written


def audit_home(home, *, sample: int | None = None, out: Path | None = None, on_result=None) -> tuple[AuditRun, list[Path]]:
    """One whole audit of a home: check, write the reports, record the run."""
    with Catalog(home.catalog_path) as catalog:
        run = run_audit(catalog, home.archive_dir, sample=sample, on_result=on_result)
        reports = write_reports(run, [home.root / "reports", *([out] if out else [])])
        record_run(catalog, run, reports)
    return run, reports


class AuditSchedule(threading.Thread):
    """The watch service's audit: at most once per [audit] interval_hours, measured from the
    last run recorded in the catalog (by the service or by `sohoa audit`)."""

    def __init__(self, home, events):
        super().__init__(name="sohoa-audit", daemon=True)
        self.home = home
        self.events = events
        self.settings = load_audit_settings(home.config_path)
        self._halt = threading.Event()
        self._since = now()

    def stop(self) -> None:
        self._halt.set()

    def due_in(self) -> float:
        with Catalog(self.home.catalog_path) as catalog:
            last = last_run(catalog)
        # Never audited: one interval after the service first started, not at once (a new
        # home has nothing to check, and a restart then finds the run it made).
        since = self._since if last is None else dt.datetime.fromisoformat(last["at"])
        elapsed = (now() - since).total_seconds()
        return max(0.0, self.settings.interval_hours * 3600 - elapsed)

    def run(self) -> None:
        if not self.settings.interval_hours:
            return
        while not self._halt.is_set():
            try:
                wait = self.due_in()
                if wait > 0:
                    self._halt.wait(min(wait, 600))
                    continue
                self._run_once()
            except Exception as error:  # the service goes on; the next interval tries again
                log.exception("scheduled audit failed")
                self.events("audit_error", f"kiểm tra toàn vẹn định kỳ lỗi: {error}", level=logging.WARNING)
                self._halt.wait(max(60.0, self.settings.interval_hours * 3600))

    def _run_once(self) -> None:
        with Catalog(self.home.catalog_path) as catalog:
            total = catalog.count_documents()
        run, reports = audit_home(self.home, sample=scheduled_sample(total, self.settings))
        summary = run.summary()
        say = (f"kiểm tra toàn vẹn định kỳ: {summary['checked']} tài liệu, {summary['passed']} đạt, "
               f"{summary['failed']} không đạt; báo cáo {reports[0].with_suffix('.csv')}")
        self.events("audit", say, level=logging.INFO if run.ok else logging.WARNING, checked=summary["checked"],
                    failed=summary["failed"], outcome=summary["outcome"])
        for result in run.results:
            if not result.ok:
                self.events("audit_failed", result.line(), level=logging.WARNING, document=result.id)
