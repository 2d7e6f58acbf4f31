"""`sohoa watch`: the service that takes scans from the inbox folders and archives them.

    finder (events + walks) -> desk (steady? copy, hash, job received)
        -> dispatcher: document workers (ingest_file) <-> fair page queue <-> OCR processes
        -> desk (end state committed, then the file leaves the inbox)

This module is the dispatcher, in the main thread: it starts the worker processes, hands
jobs to idle document workers (never two jobs with the same bytes at once), serves their
pages to the OCR processes in turn, replaces a worker that dies and decides what happens
to its job, and stops cleanly on SIGTERM or SIGINT: no new files, the documents in hand
get `stop_grace_seconds` to finish, then are rolled back and run again at the next start.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path

from ocr.cpus import available_cpus
from pipeline.audit import AuditSchedule
from pipeline.index_queue import ServiceDrainer
from core.home import Home
from watch_folders.desk import Desk, received_file
from watch_folders.eventlog import EventLog
from watch_folders.finder import start_observer
from watch_folders.jobs import JobRow
from watch_folders.lock import ServiceAlreadyRunning, acquire_service_lock, running_service_pid  # noqa: F401 (the CLI imports them from here)
from watch_folders.page_queue import PageQueue
from watch_folders.paths import prepare_folders
from watch_folders.settings import Profile, WatchSettings
from watch_folders.signing_gate import SigningGate
from watch_folders.messages import PageDone, PagesAbandoned, PagesWanted, PageTask, WorkDone, WorkOrder
from watch_folders.workers import PageLost, document_worker, ocr_process

log = logging.getLogger("sohoa.watch")

_TICK = 0.1  # seconds between looks at the desk's news when no worker has spoken
_KILL_AFTER = 15.0  # seconds an interrupted worker gets to roll back before it is killed


@dataclass
class _Child:
    kind: str  # "ocr" or "document"
    number: int
    process: multiprocessing.Process
    conn: Connection
    job: JobRow | None = None  # document worker: the job in hand
    task: PageTask | None = None  # OCR process: the page in hand
    interrupted_at: float | None = None
    closing: bool = False  # told to exit
    alive: bool = True


@dataclass
class _Runnable:
    job: JobRow
    not_before: float = 0.0


@dataclass
class Dispatcher:
    home: Home
    settings: WatchSettings
    events: EventLog
    log_file: str | None = None
    ocr_count: int = 0
    document_count: int = 0
    memory_limit_mb: int = 0  # [limits] memory_limit_mb, for every child
    _ctx: multiprocessing.context.BaseContext = field(default_factory=lambda: multiprocessing.get_context("spawn"))
    _children: list[_Child] = field(default_factory=list)
    _runnable: list[_Runnable] = field(default_factory=list)
    _active_sha256: set[str] = field(default_factory=set)
    _pages: PageQueue = field(default_factory=PageQueue)
    _batches: dict[tuple[int, int], _Child] = field(default_factory=dict)
    _lost_pages: set[tuple[int, int, int]] = field(default_factory=set)
    _from_desk: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    _stop_requested: bool = False
    _stop_deadline: float | None = None
    _desk: Desk | None = None
    _gate: SigningGate | None = None  # documents to sign wait while the token refuses the PIN

    # Jobs whose document worker died under them once: a second death fails the job, so a
    # file that kills its worker (past the memory limit, or a crash) costs one retry only.
    _lost_once: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.memory_limit_mb = self.home.config().limits.memory_limit_mb
        self.ocr_count = self.settings.workers or available_cpus()
        self.document_count = self.settings.documents_in_flight or self.ocr_count + 2

    # -- the whole run --

    def run(self) -> int:
        lock = acquire_service_lock(self.home.root)
        try:
            return self._run()
        finally:
            lock.close()

    def _run(self) -> int:
        inboxes = prepare_folders(self.home, [p.name for p in self.settings.profiles])
        self._gate = SigningGate(self.home, self.settings, self.events)
        self._gate.check_at_start()  # before any file is taken
        # [audit] interval_hours (pipeline/audit.py): a bad value is refused before anything starts
        audits = AuditSchedule(self.home, self.events)
        desk = self._desk = Desk(self.home, self.settings, self.events, self._from_desk)
        for job in desk.recover():
            self._runnable.append(_Runnable(job))
        # OpenBLAS's buffers, one per thread and a thread per CPU, count against each child's
        # memory limit (297 MB of data at start on 2 CPUs, 115 MB with one thread); every child
        # works on one thread anyway. Set before they start: they import numpy on the way in.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        # Children first, threads after: nothing is forked from a process with threads.
        for number in range(self.ocr_count):
            self._start_child("ocr", number)
        for number in range(self.document_count):
            self._start_child("document", number)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        desk.start()
        audits.start()
        # Documents archived while another process held the index writer: indexed within seconds.
        drainer = ServiceDrainer(self.home.catalog_path, self.home.index_dir, self.home.config().index_engine)
        drainer.start()
        observer = start_observer(self.home.inbox_dir, desk.seen)
        self.events("started", self._started_message(inboxes), pid=os.getpid(), ocr_processes=self.ocr_count,
                    documents_in_flight=self.document_count, resumed=len(self._runnable) or None,
                    quiet_seconds=self.settings.quiet_seconds, rescan_seconds=self.settings.rescan_seconds)
        try:
            self._loop(desk, observer)
        finally:
            if observer is not None:
                observer.stop()
            audits.stop()
            drainer.stop()
            self._stop_children()
            desk.close()
            desk.join()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if desk.failure is not None:
            raise desk.failure
        self.events("stopped", "Đã dừng dịch vụ theo dõi thư mục; tài liệu còn dở sẽ được làm tiếp ở lần chạy sau.")
        return 0

    def _started_message(self, inboxes: list[Path]) -> str:
        lines = ["Dịch vụ theo dõi thư mục đã chạy. Thả bản quét vào:"]
        for profile, folder in zip(self.settings.profiles, inboxes):
            lines.append(f"  {folder}/   ({profile.title})")
        lines.append(f"Xem tình hình: sohoa --home {self.home.root} status   ·   Dừng: Ctrl-C")
        return "\n".join(lines)

    def _on_signal(self, signum, frame) -> None:
        if self._stop_requested:
            self._stop_deadline = 0.0  # asked twice: do not wait for the documents in hand
        self._stop_requested = True

    def _loop(self, desk: Desk, observer) -> None:
        stopping = False
        while True:
            self._take_news()
            if desk.failure is not None:
                return
            if self._stop_requested and not stopping:
                stopping = True
                desk.taking = False
                if observer is not None:
                    observer.stop()
                self._stop_deadline = time.monotonic() + self.settings.stop_grace_seconds \
                    if self._stop_deadline is None else self._stop_deadline
                busy = sum(1 for c in self._documents() if c.job is not None)
                self.events("stopping", f"Đang dừng: chờ {busy} tài liệu đang làm dở (tối đa "
                            f"{self.settings.stop_grace_seconds:.0f} giây)…" if busy else None, busy=busy)
            if stopping:
                if not any(c.job is not None for c in self._documents()):
                    return
                if time.monotonic() >= self._stop_deadline:
                    self._interrupt_busy()
            else:
                self._give_jobs()
            self._give_pages()
            self._listen()

    # -- children --

    def _start_child(self, kind: str, number: int) -> _Child:
        ours, theirs = self._ctx.Pipe(duplex=True)
        if kind == "ocr":
            target, args = ocr_process, (theirs, self.log_file, self.memory_limit_mb)
        else:
            target, args = document_worker, (theirs, number, str(self.home.root), self.log_file, self.memory_limit_mb)
        process = self._ctx.Process(target=target, args=args, name=f"sohoa-{kind}-{number}", daemon=True)
        process.start()
        theirs.close()
        child = _Child(kind, number, process, ours)
        self._children.append(child)
        return child

    def _documents(self) -> list[_Child]:
        return [c for c in self._children if c.kind == "document" and c.alive]

    def _ocrs(self) -> list[_Child]:
        return [c for c in self._children if c.kind == "ocr" and c.alive]

    def _listen(self) -> None:
        by_handle = {}
        for child in self._children:
            if child.alive:
                by_handle[child.conn] = child
                by_handle[child.process.sentinel] = child
        for handle in wait(list(by_handle), timeout=_TICK):
            child = by_handle[handle]
            if not child.alive:
                continue
            if handle is child.conn:
                try:
                    message = child.conn.recv()
                except (EOFError, OSError):
                    self._on_death(child)
                    continue
                self._on_message(child, message)
            elif not child.process.is_alive():
                while _poll(child.conn):  # what it said before it went
                    try:
                        message = child.conn.recv()
                    except (EOFError, OSError):
                        break  # the end of its pipe
                    self._on_message(child, message)
                self._on_death(child)

    def _on_message(self, child: _Child, message) -> None:
        if isinstance(message, PagesWanted):
            self._batches[(message.job_id, message.batch)] = child
            self._pages.add([
                PageTask(message.job_id, message.batch, index, page, str(Path(message.results_dir) / f"{index}.pickle"))
                for index, page in enumerate(message.pages)
            ])
        elif isinstance(message, PagesAbandoned):
            self._pages.drop(message.job_id, message.batch)
            self._batches.pop((message.job_id, message.batch), None)
        elif isinstance(message, PageDone):
            child.task = None
            owner = self._batches.get((message.job_id, message.batch))
            if owner is not None and owner.alive and owner.job is not None and owner.job.id == message.job_id:
                _send(owner.conn, message)
        elif isinstance(message, WorkDone):
            self._job_ended(child, message)

    def _job_ended(self, child: _Child, done: WorkDone) -> None:
        job = child.job
        child.job = None
        child.interrupted_at = None
        if job is None or job.id != done.job_id:
            return
        self._active_sha256.discard(job.sha256)
        self._forget_pages(job.id)
        if done.outcome == "signing-paused":  # waits, uncounted, until the PIN is fixed
            self._gate.pause(done.reason, job)
            self._runnable.append(_Runnable(job))
        self._to_desk(("finish", job.id, done))
        if self._stop_requested:
            self._close(child)

    def _on_death(self, child: _Child) -> None:
        child.alive = False
        with contextlib.suppress(OSError):
            child.conn.close()
        child.process.join(timeout=1)
        if child.process.is_alive():  # its pipe broke but it lives on: it can no longer be used
            child.process.kill()
            child.process.join(timeout=5)
        self._children.remove(child)
        if child.kind == "ocr":
            replacement = None if child.closing else self._start_child("ocr", child.number)
            if child.task is not None:
                self._page_lost(child.task, child.process.exitcode)
            if replacement is not None:
                self.events("worker-restarted", level=logging.WARNING, kind="ocr", exitcode=child.process.exitcode)
            return
        job = child.job
        if job is not None:
            self._active_sha256.discard(job.sha256)
            self._forget_pages(job.id)
            if self._stop_requested:
                done = WorkDone(job.id, "interrupted")
            else:
                done = self._worker_lost(job, child.process.exitcode)
            self._to_desk(("finish", job.id, done))
        if not child.closing and not self._stop_requested:
            self.events("worker-restarted", level=logging.WARNING, kind="document", job=job.id if job else None,
                        exitcode=child.process.exitcode)
            self._start_child("document", child.number)

    def _worker_lost(self, job: JobRow, exitcode) -> WorkDone:
        limit = f", giới hạn bộ nhớ {self.memory_limit_mb} MB" if self.memory_limit_mb else ""
        if job.id in self._lost_once:
            self._lost_once.discard(job.id)
            return WorkDone(job.id, "failed", error_code="worker-lost",
                            reason=f"tiến trình xử lý bị dừng đột ngột hai lần (mã thoát {exitcode}{limit}); "
                                   "tệp có thể quá lớn, hỏng hoặc cố ý gây hại")
        self._lost_once.add(job.id)
        return WorkDone(job.id, "retry", error_code="worker-lost",
                        reason=f"tiến trình xử lý bị dừng đột ngột (mã thoát {exitcode}{limit}); "
                               "tệp có thể quá lớn hoặc hỏng")

    def _forget_pages(self, job_id: int) -> None:
        self._pages.drop(job_id)
        for key in [k for k in self._batches if k[0] == job_id]:
            del self._batches[key]

    def _page_lost(self, task: PageTask, exitcode) -> None:
        if (task.job_id, task.batch) not in self._batches:
            return  # its document has ended meanwhile
        key = (task.job_id, task.batch, task.index)
        if key not in self._lost_pages:
            self._lost_pages.add(key)
            self._pages.put_back(task)
            return
        owner = self._batches.get((task.job_id, task.batch))
        if owner is not None and owner.alive:
            _send(owner.conn, PageDone(task.job_id, task.batch, task.index, PageLost(
                f"trang {task.index + 1}: tiến trình nhận dạng chữ bị dừng đột ngột hai lần "
                f"(mã thoát {exitcode}); trang có thể quá lớn hoặc hỏng")))

    def _close(self, child: _Child) -> None:
        if not child.closing:
            child.closing = True
            _send(child.conn, None)

    def _interrupt_busy(self) -> None:
        now = time.monotonic()
        for child in self._documents():
            if child.job is None:
                continue
            if child.interrupted_at is None:
                child.interrupted_at = now
                self.events("interrupting", job=child.job.id, file=child.job.source_path)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.process.pid, signal.SIGTERM)
            elif now - child.interrupted_at > _KILL_AFTER:
                child.process.kill()

    def _stop_children(self) -> None:
        for child in list(self._children):
            self._close(child)
        deadline = time.monotonic() + 10
        for child in list(self._children):
            child.process.join(timeout=max(0.1, deadline - time.monotonic()))
            if child.process.is_alive():
                child.process.kill()
                child.process.join(timeout=2)
            if child.job is not None:  # killed with a job in hand: it runs again next time
                self._to_desk(("finish", child.job.id, WorkDone(child.job.id, "interrupted")))
                child.job = None
        self._children.clear()

    # -- jobs and pages --

    def _take_news(self) -> None:
        while True:
            try:
                kind, job, not_before = self._from_desk.get_nowait()
            except queue.Empty:
                return
            if kind == "queue":
                self._runnable.append(_Runnable(job, not_before))

    def _give_jobs(self) -> None:
        idle = [c for c in self._documents() if c.job is None and not c.closing]
        while idle:
            runnable = self._next_runnable()
            if runnable is None:
                return
            child = idle.pop(0)
            job = runnable.job
            profile = self.settings.profile(job.profile) or Profile(job.profile, job.profile)
            order = WorkOrder(
                job_id=job.id,
                file=str(received_file(self.home.root, job)),
                profile=profile,
                metadata_defaults={
                    **profile.metadata_defaults(),
                    "profile": profile.name,
                    "intake": {"job": job.id, "path": job.source_path, "received_at": job.received_at},
                },
            )
            self._to_desk(("start", job.id))
            if not _send(child.conn, order):
                self._runnable.insert(0, runnable)
                continue
            child.job = job
            self._active_sha256.add(job.sha256)
            self.events("processing", job=job.id, file=job.source_path, worker=child.number, attempt=job.attempts + 1)

    def _next_runnable(self) -> _Runnable | None:
        now = time.monotonic()
        candidates = [r for r in self._runnable if r.not_before <= now and r.job.sha256 not in self._active_sha256
                      and not self._gate.holds(r.job)]
        if not candidates:
            return None
        chosen = min(candidates, key=lambda r: r.job.id)
        self._runnable.remove(chosen)
        return chosen

    def _give_pages(self) -> None:
        for child in self._ocrs():
            if child.task is not None or child.closing:
                continue
            task = self._pages.next()
            if task is None:
                return
            child.task = task
            if not _send(child.conn, task):
                child.task = None
                self._pages.put_back(task)

    def _to_desk(self, request: tuple) -> None:
        self._desk.requests.put(request)


def _send(conn: Connection, message) -> bool:
    try:
        conn.send(message)
    except (BrokenPipeError, OSError, EOFError):
        return False
    return True


def _poll(conn: Connection) -> bool:
    try:
        return conn.poll()
    except (EOFError, OSError):
        return False


def run_service(home: Home, settings: WatchSettings, *, events: EventLog, log_file: str | None) -> int:
    from pipeline.startup_checks import check_watch_configuration

    # A setting that cannot work is refused in one line before any folder or file is touched.
    check_watch_configuration(home.config_path, home.config(), settings)
    return Dispatcher(home, settings, events, log_file).run()
