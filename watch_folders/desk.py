"""The desk: takes files in, and writes down how each job ended. One thread, one order.

Taking a file in: a path seen by an event or a walk is watched until it is steady
(steadiness.py); then it is opened once, never through a symbolic link (safe_fs.py), and
what that descriptor holds is copied into tmp/watch/received/, hashed, and the job is
committed as `received` (or at once as `duplicate`, or `failed` when it is in no profile's
folder) and handed to the dispatcher.

Writing down the end: the job's end state is committed first, then the inbox file is
moved or deleted (outcomes.py), then that is committed too. Every step is safe to redo,
so a crash anywhere is finished at the next start (recover()).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import shutil
import sqlite3
import threading
import time
import uuid
from pathlib import Path, PurePath

from django.db import OperationalError as DatabaseOperationalError  # the catalog busy or its disk full

from core.durable import copy_fd_and_hash, fsync_dir
from core.home import Home
from watch_folders.eventlog import EventLog, quoted
from watch_folders.finder import walk_files
from watch_folders.jobs import FINAL, JobRow, JobStore, now, stamp
from core.names import fit_name, is_ignored, is_utf8, printable
from core.testpoints import pause_point
from watch_folders import safe_fs
from watch_folders.outcomes import clear_source, duplicate_note, failure_note, looks_taken
from watch_folders.paths import received_dir
from watch_folders.settings import WatchSettings
from watch_folders.steadiness import SteadinessTracker, SteadyFile
from watch_folders.messages import WorkDone
from watch_folders.transient import is_disk_full, is_transient

log = logging.getLogger("sohoa.watch")

_MAX_BACKOFF_SECONDS = 3600


class Desk(threading.Thread):
    def __init__(self, home: Home, settings: WatchSettings, events: EventLog, to_dispatcher: queue.SimpleQueue):
        super().__init__(name="sohoa-desk", daemon=True)
        self.home = home
        self.inbox = home.inbox_dir
        self.settings = settings
        self.emit = events
        self.to_dispatcher = to_dispatcher
        self.requests: queue.Queue = queue.Queue()  # ("seen", path) ("start", id) ("finish", id, WorkDone)
        self.tracker = SteadinessTracker(settings.quiet_seconds, settings.incomplete_seconds)
        self.claims: dict[Path, JobRow] = {}  # inbox file -> the job that took it (not yet cleared)
        self.taking = True  # False once the service stops: no new jobs
        self._closing = threading.Event()
        self._later: list[tuple[float, tuple]] = []  # (monotonic time, request) to redo then
        self._next_walk = 0.0
        self._take_tries: dict[Path, int] = {}  # files that could not be read yet, and how often
        self._clear_tries: dict[int, int] = {}  # jobs whose outcome folder was a link, and how often
        self.store: JobStore | None = None
        self.failure: BaseException | None = None

    # -- called from other threads --

    def seen(self, path: Path) -> None:
        self.requests.put(("seen", path))

    def close(self) -> None:
        """Finish what was asked, then end the thread."""
        self._closing.set()

    # -- the thread --

    def run(self) -> None:
        try:
            self.store = JobStore(self.home.catalog_path)  # a SQLite connection serves one thread
            while True:
                self._handle_requests()
                if self._closing.is_set() and self.requests.empty():
                    return
                if self.taking:
                    self._walk_when_due()
                    self._take_steady_files()
                self._redo_due()
        except BaseException as error:  # the service must know, and stop cleanly
            log.exception("event=desk-crashed")
            self.failure = error
        finally:
            if self.store is not None:
                self.store.close()

    def _handle_requests(self) -> None:
        deadline = time.monotonic() + 0.2
        while True:
            try:
                request = self.requests.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            try:
                self._handle(request)
            except (OSError, sqlite3.OperationalError, DatabaseOperationalError) as error:
                if not is_transient(error):
                    raise
                # The catalog's disk is full, or the catalog busy: every step here is safe
                # to redo, so do it again a little later rather than stop the service.
                self.emit("desk-postponed", level=logging.WARNING, request=request[0],
                          job=request[1] if isinstance(request[1], int) else None, error=str(error))
                self._later.append((time.monotonic() + self.settings.retry_seconds, request))

    def _handle(self, request: tuple) -> None:
        kind = request[0]
        if kind == "seen":
            self._on_seen(request[1])
        elif kind == "start":
            self.store.start(request[1])
        elif kind == "finish":
            self._finish(request[1], request[2])
        elif kind == "clear":
            self._clear(request[1])

    # -- start-up --

    def recover(self) -> list[JobRow]:
        """Before anything runs: finish what a crash or a stop left half done. Returns the
        jobs to run (in the order they came)."""
        self.store = JobStore(self.home.catalog_path)
        for job_id in self.store.resume_interrupted():
            self.emit("resumed", job=job_id)
        active_ids = set()
        runnable = []
        for job in self.store.uncleared():
            self.claims[job.source(self.inbox)] = job
            if job.state in FINAL:
                self._clear(job.id)
                continue
            ready = self._ensure_received_copy(job)
            if ready:
                active_ids.add(job.id)
                runnable.append(job)
        self._sweep_received(active_ids)
        self.store.close()
        self.store = None
        return runnable

    def _ensure_received_copy(self, job: JobRow) -> bool:
        """A job to resume needs its copy of the bytes; the inbox file gives it again if it
        is still the same file. Otherwise the job ends here."""
        if received_file(self.home.root, job).is_file():
            return True
        source = job.source(self.inbox)
        if looks_taken(source, job):
            try:
                fd, status = self._open_inbox_file(source.relative_to(self.inbox))
            except OSError:  # gone, or a link or not a plain file now: not what was taken
                fd = None
            if fd is not None:
                try:
                    if job.source_dev is None or (status.st_dev, status.st_ino) == (job.source_dev, job.source_ino):
                        staged = received_file(self.home.root, job)
                        staged.parent.mkdir(parents=True, exist_ok=True)
                        sha256, _ = copy_fd_and_hash(fd, staged)
                        if sha256 == job.sha256:
                            return True
                        shutil.rmtree(staged.parent, ignore_errors=True)
                finally:
                    os.close(fd)
        document_id = self.store.document_for(job.sha256)
        if document_id is not None:
            # Its bytes are archived; this job or another did it: nothing is lost either way.
            self.store.finish(job.id, "done", document_id=document_id, page_count=None)
            self.emit("done", job=job.id, file=job.source_path, document=document_id, recovered=True)
        else:
            self.store.finish(job.id, "failed", error_code="gone",
                              reason="tệp đã bị lấy ra khỏi thư mục nhận trước khi lưu xong")
            self.emit("failed", f"✗ {job.source_path}: tệp đã bị lấy ra khỏi thư mục trước khi lưu xong",
                      level=logging.WARNING, job=job.id, file=job.source_path, code="gone")
        self._clear(job.id)
        return False

    def _open_inbox_file(self, relative: PurePath) -> tuple[int, os.stat_result]:
        """The inbox file opened for reading, never through a symbolic link (not at its
        name, not at a folder on the way), and only if it is a plain file."""
        root = safe_fs.open_root(self.home.root)
        try:
            with safe_fs.opened_dir(root, self.inbox.relative_to(self.home.root).parts, verb="đọc") as inbox:
                return safe_fs.open_beneath(inbox, relative, prefix="inbox")
        finally:
            os.close(root)

    def _sweep_received(self, keep: set[int]) -> None:
        folder = received_dir(self.home.root)
        folder.mkdir(parents=True, exist_ok=True)
        for entry in folder.iterdir():
            if not (entry.name.isdigit() and int(entry.name) in keep):
                shutil.rmtree(entry, ignore_errors=True)

    # -- taking files in --

    def _walk_when_due(self) -> None:
        if time.monotonic() < self._next_walk:
            return
        self._next_walk = time.monotonic() + self.settings.rescan_seconds
        for path in walk_files(self.inbox):
            self._on_seen(path)

    def _on_seen(self, path: Path) -> None:
        if not self.taking:
            return
        try:
            relative = path.relative_to(self.inbox)
        except ValueError:
            return
        if not relative.parts or is_ignored(relative):
            return
        claim = self.claims.get(path)
        if claim is not None and looks_taken(path, claim):
            return  # the very file a job already took
        self.tracker.note(path)

    def _take_steady_files(self) -> None:
        ready, vanished = self.tracker.poll()
        for path in vanished:
            self.emit("forgotten", f"- {printable(path.relative_to(self.inbox))}: đã bị xóa hoặc chuyển đi "
                      "trước khi chép xong, bỏ qua", file=printable(path.relative_to(self.inbox)))
        for steady in ready:
            try:
                self._take(steady)
            except (safe_fs.SymlinkRefused, safe_fs.NotRegularFile) as refused:
                # Swapped for a link (or a FIFO...) since it was checked: never read. If a
                # plain file is saved there again, the next walk finds it.
                self._take_tries.pop(steady.path, None)
                shown = printable(steady.path.relative_to(self.inbox))
                self.emit("not-taken", f"! {shown}: bỏ qua, vì {refused.strerror}", level=logging.WARNING,
                          file=shown, reason=refused.strerror)
            except (OSError, sqlite3.OperationalError, DatabaseOperationalError) as error:
                # Unreadable for now (locked by an SMB client, disk full): look again later,
                # waiting longer each time. It stays in the inbox meanwhile: nothing is lost.
                tries = self._take_tries[steady.path] = self._take_tries.get(steady.path, 0) + 1
                if tries >= self.settings.max_attempts and isinstance(error, OSError) \
                        and not _readable(steady.path):
                    # Still unreadable after every try: a failure the clerk must see, not a
                    # file left in the inbox to be retried for ever. (Our own disk being
                    # full is not the file's fault: that is retried as long as it lasts.)
                    self._fail_unreadable(steady, error, tries)
                    continue
                wait = min(self.settings.retry_seconds * 2 ** (tries - 1), _MAX_BACKOFF_SECONDS)
                if is_disk_full(error):
                    wait = self.settings.retry_seconds  # taken soon after space is freed, not an hour later
                relative = printable(steady.path.relative_to(self.inbox))
                self.emit("take-postponed", level=logging.WARNING, file=relative, error=str(error),
                          attempt=tries, wait=wait)
                self._later.append((time.monotonic() + wait, ("seen", steady.path)))
            else:
                self._take_tries.pop(steady.path, None)

    def _fail_unreadable(self, steady: SteadyFile, error: OSError, tries: int) -> None:
        """A failed job for a file that cannot be read (its content unknown: no SHA-256);
        it leaves the inbox for failed/ with its reason like any failed file."""
        self._take_tries.pop(steady.path, None)
        relative = steady.path.relative_to(self.inbox)
        profile = self.settings.profile(relative.parts[0]) if len(relative.parts) > 1 else None
        reason = f"không đọc được tệp ({error.strerror or error}; đã thử {tries} lần)"
        job_id = self.store.create(sha256="", profile=profile.name if profile else "",
                                   source_path=printable(relative), source_raw=os.fsencode(str(relative)),
                                   size=steady.size, mtime_ns=steady.mtime_ns, dev=steady.dev, ino=steady.ino,
                                   state="failed", error_code="unreadable", reason=reason)
        self.emit("failed", f"✗ {printable(relative)}: {reason}", level=logging.WARNING, job=job_id,
                  file=printable(relative), code="unreadable", reason=reason)
        self._clear(job_id)

    def _take(self, steady: SteadyFile) -> None:
        """Open the file once (never through a link: safe_fs.py), and copy and hash what
        that descriptor holds: the job is of those bytes, and of that inode."""
        pause_point(f"take-{steady.path.name}")  # tests swap the file here, after its check
        fd, status = self._open_inbox_file(steady.path.relative_to(self.inbox))
        try:
            self._take_open(steady, fd, status)
        finally:
            os.close(fd)

    def _take_open(self, steady: SteadyFile, fd: int, status: os.stat_result) -> None:
        relative = steady.path.relative_to(self.inbox)
        shown = printable(relative)
        profile = self.settings.profile(relative.parts[0]) if len(relative.parts) > 1 else None
        if (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns) != \
                (steady.dev, steady.ino, steady.size, steady.mtime_ns):
            # Not the file that stayed steady (written to, or another saved over it): watch again.
            self.tracker.note(steady.path)
            return
        incoming = received_dir(self.home.root) / f"incoming-{uuid.uuid4().hex}"
        incoming.mkdir(parents=True)
        try:
            # A name not in UTF-8 grows when decoded (one byte to up to three): fitted to NAME_MAX.
            copy = incoming / fit_name(printable(relative.name))
            sha256, size = copy_fd_and_hash(fd, copy)
            after = os.fstat(fd)
            if size != status.st_size or (after.st_size, after.st_mtime_ns) != (status.st_size, status.st_mtime_ns):
                # Still being written after all: watch it again.
                shutil.rmtree(incoming, ignore_errors=True)
                self.tracker.note(steady.path)
                return
            common = dict(sha256=sha256, profile=profile.name if profile else "", source_path=shown,
                          source_raw=os.fsencode(str(relative)), size=size, mtime_ns=status.st_mtime_ns,
                          dev=status.st_dev, ino=status.st_ino)
            if not is_utf8(relative):
                self.emit("name-not-utf8", level=logging.WARNING, file=shown,
                          raw=os.fsencode(str(relative)).hex(), decoded_as="cp1258")
            if profile is None:
                names = ", ".join(p.name for p in self.settings.profiles)
                reason = f"tệp không nằm trong thư mục hồ sơ nào (các thư mục hồ sơ: {names})"
                job_id = self.store.create(**common, state="failed", error_code="no-profile", reason=reason)
                self._end_taken(job_id, "failed", reason=reason)
                return
            document_id = self.store.document_for(sha256)
            if document_id is not None and not self._same_sha_active(sha256):
                job_id = self.store.create(**common, state="duplicate", document_id=document_id)
                self._end_taken(job_id, "duplicate", document_id=document_id)
                return
            job_id = self.store.create(**common)
            self.claims[steady.path] = self.store.get(job_id)
            final = received_dir(self.home.root) / str(job_id)
            os.rename(incoming, final)
            fsync_dir(final.parent)
        finally:
            shutil.rmtree(incoming, ignore_errors=True)
        job = self.store.get(job_id)
        self.claims[steady.path] = job
        self.emit("received", f"→ {shown}: đã nhận, chờ xử lý", job=job_id, file=shown, profile=job.profile,
                  size=size, sha256=sha256, opened=steady.opens)
        self.to_dispatcher.put(("queue", job, 0.0))

    def _same_sha_active(self, sha256: str) -> bool:
        return any(job.sha256 == sha256 and job.state not in FINAL for job in self.claims.values())

    def _end_taken(self, job_id: int, state: str, *, document_id: int | None = None, reason: str | None = None) -> None:
        job = self.store.get(job_id)
        self.claims[job.source(self.inbox)] = job
        if state == "duplicate":
            self.emit("duplicate", f"= {job.source_path}: đã có trong kho (mã {document_id}), chuyển vào duplicate/",
                      job=job_id, file=job.source_path, document=document_id)
        else:
            self.emit("failed", f"✗ {job.source_path}: {reason}", level=logging.WARNING, job=job_id,
                      file=job.source_path, code=job.error_code, reason=reason)
        self._clear(job_id)

    # -- writing down the end --

    def _finish(self, job_id: int, done: WorkDone) -> None:
        job = self.store.get(job_id)
        if done.details:  # the traceback, for the technician: the clerk gets the reason
            level = logging.ERROR if done.error_code in ("unexpected", "internal", "worker-lost") else logging.INFO
            log.log(level, "event=traceback job=%d file=%s code=%s\n%s", job_id, _quoted(job.source_path),
                    done.error_code, done.details.rstrip())
        if done.outcome in ("archived", "recovered"):
            self.store.finish(job_id, "done", document_id=done.document_id, page_count=done.page_count)
            self.emit("done", f"{'⚠' if done.damaged or done.needs_review else '✓'} {job.source_path} → mã {done.document_id}, "
                      f"{done.page_count} trang" + (" (đã lưu; chỉ mục đang chờ, chưa tìm được)" if done.index_pending
                                                    else ""), job=job_id, file=job.source_path,
                      document=done.document_id, index_pending=done.index_pending or None,
                      pages=done.page_count, recovered=done.outcome == "recovered" or None,
                      seconds=_seconds_since(job.started_at))
            if done.damaged:  # archived as far as it could be read (the profile accepts damage)
                self.emit("damaged", f"  ⚠ {job.source_path}: PDF bị hỏng, khai báo {done.damaged['declared_pages']} "
                          f"trang, lưu {done.damaged['read_pages']} trang đọc được; cần kiểm tra lại với bản giấy",
                          level=logging.WARNING, job=job_id, file=job.source_path, document=done.document_id)
            if done.needs_review:  # a blank scan, a thumbnail: archived, never silently
                self.emit("needs-review", f"  ⚠ {job.source_path}: cần kiểm tra: {'; '.join(done.needs_review)} "
                          f"(xem `sohoa review`)", level=logging.WARNING, job=job_id, file=job.source_path,
                          document=done.document_id, reasons=done.needs_review)
            verdict = done.input_signature or {}
            if verdict.get("status", "none") != "none":  # a PDF that arrived signed: its verdict
                broken = verdict["status"] in ("modified", "invalid")
                self.emit("input-signature", f"  {'✓' if verdict['status'] == 'valid' else '⚠'} {job.source_path}: "
                          f"{verdict['message']}", level=logging.WARNING if broken else logging.INFO, job=job_id,
                          file=job.source_path, document=done.document_id, status=verdict["status"])
        elif done.outcome == "duplicate":
            self.store.finish(job_id, "duplicate", document_id=done.document_id)
            self.emit("duplicate", f"= {job.source_path}: đã có trong kho (mã {done.document_id}), chuyển vào duplicate/",
                      job=job_id, file=job.source_path, document=done.document_id)
        elif done.outcome == "failed":
            self.store.finish(job_id, "failed", error_code=done.error_code, reason=done.reason)
            self.emit("failed", f"✗ {job.source_path}: {done.reason}", level=logging.WARNING, job=job_id,
                      file=job.source_path, code=done.error_code, reason=done.reason)
        elif done.outcome == "retry":
            # A full disk is not the file's fault, however long it lasts: the try is not
            # counted, the wait does not grow (the job goes on soon after space is freed),
            # and the console hears of it once, not at every try.
            disk_full = done.error_code == "disk-full"
            if job.attempts >= self.settings.max_attempts and not disk_full:
                reason = f"{done.reason} (đã thử {job.attempts} lần)"
                self.store.finish(job_id, "failed", error_code=done.error_code, reason=reason)
                self.emit("failed", f"✗ {job.source_path}: {reason}", level=logging.WARNING, job=job_id,
                          file=job.source_path, code=done.error_code, reason=reason)
            else:
                wait = min(self.settings.retry_seconds * 2 ** max(job.attempts - 1, 0), _MAX_BACKOFF_SECONDS)
                if disk_full:
                    wait = self.settings.retry_seconds
                self.store.postpone(job_id, now() + dt.timedelta(seconds=wait), error_code=done.error_code or "transient",
                                    reason=done.reason or "", counted=not disk_full)
                said = None if disk_full and job.error_code == "disk-full" else \
                    f"… {job.source_path}: {done.reason}; thử lại sau {wait:.0f} giây"
                self.emit("retry", said, level=logging.WARNING, job=job_id, file=job.source_path,
                          code=done.error_code, attempt=job.attempts, wait=wait)
                self.to_dispatcher.put(("queue", self.store.get(job_id), time.monotonic() + wait))
                return
        elif done.outcome == "interrupted":
            self.store.requeue(job_id)
            self.emit("interrupted", job=job_id, file=job.source_path)
            return
        elif done.outcome == "signing-paused":
            # The token refused the PIN: not this file's fault, and no try of it counted;
            # it waits in the inbox (the dispatcher holds it) until the PIN is fixed.
            self.store.requeue(job_id)
            self.emit("requeued-for-pin", job=job_id, file=job.source_path, code=done.error_code)
            return
        self._clear(job_id)

    def _clear(self, job_id: int) -> None:
        job = self.store.get(job_id)
        if job is None or job.source_cleared:
            return
        profile = self.settings.profile(job.profile)
        note = None
        at = job.finished_at or stamp()
        if job.state == "failed":
            note = failure_note(job, job.reason or "", job.error_code or "unexpected", at)
        elif job.state == "duplicate":
            row = self.store.catalog.get(job.document_id) if job.document_id is not None else None
            note = duplicate_note(job, job.document_id, row.original_name if row else "?",
                                  row.received_at if row else "?", at)
        try:
            cleared = clear_source(job, inbox=self.inbox, home_root=self.home.root,
                                   after_done=profile.after_done if profile else "delete", note=note,
                                   fallback_copy=received_file(self.home.root, job))
        except safe_fs.SymlinkRefused as refused:
            # A link planted on the way to failed/, done/ or duplicate/: nothing written through
            # it, the file waits in the inbox until the link is replaced by a real folder.
            tries = self._clear_tries[job_id] = self._clear_tries.get(job_id, 0) + 1
            wait = min(self.settings.retry_seconds * 2 ** (tries - 1), _MAX_BACKOFF_SECONDS)
            self.emit("clear-refused", f"! {job.source_path}: để lại trong thư mục nhận vì {refused.strerror}"
                      if tries == 1 else None, level=logging.WARNING, job=job.id, file=job.source_path,
                      link=refused.where, reason=refused.strerror, attempt=tries, wait=wait)
            self._later.append((time.monotonic() + wait, ("clear", job_id)))
            return
        except OSError as error:
            self.emit("clear-postponed", level=logging.WARNING, job=job.id, file=job.source_path, error=str(error))
            self._later.append((time.monotonic() + self.settings.retry_seconds, ("clear", job_id)))
            return
        self.store.mark_cleared(job_id)
        self._clear_tries.pop(job_id, None)
        shutil.rmtree(received_dir(self.home.root) / str(job_id), ignore_errors=True)
        claim = self.claims.get(job.source(self.inbox))
        if claim is not None and claim.id == job_id:  # not a newer job's, of a file saved over it
            del self.claims[job.source(self.inbox)]
        destination = None
        if cleared.destination is not None:
            destination = printable(cleared.destination.relative_to(self.home.root))
        self.emit("cleared", job=job_id, file=job.source_path, action=cleared.action, to=destination)

    def _redo_due(self) -> None:
        moment = time.monotonic()
        due = [request for at, request in self._later if at <= moment]
        self._later = [(at, request) for at, request in self._later if at > moment]
        for request in due:
            self.requests.put(request)


def _readable(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        os.pread(fd, 1, 0)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def received_file(root: Path, job: JobRow) -> Path:
    return received_dir(root) / str(job.id) / fit_name(printable(PurePath(os.fsdecode(job.source_raw)).name))


def _quoted(text: str) -> str:
    return quoted(text)


def _seconds_since(started_at: str | None) -> float | None:
    if not started_at:
        return None
    return round((now() - dt.datetime.fromisoformat(started_at)).total_seconds(), 1)
