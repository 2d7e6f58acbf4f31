"""The service's worker processes and what they say to the service.

Two kinds, each talking to the service over its own pipe (a child killed mid-message can
only break its own pipe, never a queue the others share):

* document workers take one job at a time through pipeline.ingest.ingest_file — receive,
  load, OCR, PDF/A, sign, record — with the OCR of the pages handed back to the service;
* OCR processes, one per usable CPU, each running single-threaded Tesseract on one page at
  a time, given to them by the service, which picks the pages of all documents in hand in
  turn: a 300-page PDF gets its share of the OCR processes, not all of them for its whole
  run.

Page results travel as files in the document's work folder; the pipes carry only small
messages, so neither side ever waits on a full pipe.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import pickle
import shutil
import signal
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

from core.errors import SohoaError, describe
from core.testpoints import pause_point
from watch_folders.messages import PageDone, PagesAbandoned, PagesWanted, WorkDone, WorkOrder
from watch_folders.transient import describe_transient, is_disk_full, is_transient, pin_rejection

log = logging.getLogger("sohoa.watch.worker")

_PR_SET_PDEATHSIG = 1


class Interrupted(BaseException):
    """The service is stopping and asked this worker to roll back what it holds."""


class PageLost(SohoaError):
    """An OCR process died with this page in hand, twice."""

    code = "page-lost"


# -- both kinds ------------------------------------------------------------------------------


def _end_child() -> None:
    """Leave at once: everything is written and closed; the interpreter's tear-down of
    numpy, OpenCV, pikepdf ... takes seconds on a busy machine and would hold up a stop."""
    logging.shutdown()
    os._exit(0)


def _become_child(log_file: str | None) -> None:
    """Die with the service, leave Ctrl-C to it, log to the same file."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the service died before prctl took effect
        os._exit(1)
    # Our own process group: a Ctrl-C at the terminal reaches the service only, which
    # decides what to finish; Tesseract children are not killed under a page.
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if log_file:
        from pipeline.logfile import LogFile

        handler = LogFile(log_file)  # the service tells the console if the log cannot be written
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.WARNING)  # libraries' chatter (fontTools subsetting ...) stays out
        # Libraries' warnings (pikepdf's PageCopyWarning ...) are for the log, not the
        # clerk's console, which a spawned worker shares with the service.
        logging.captureWarnings(True)
        for ours in ("sohoa", "pipeline", "ocr", "index", "signing", "watch_folders"):
            logging.getLogger(ours).setLevel(logging.INFO)
    # Spawned: the parent's patches are not inherited (core/patches.py); after the log, which
    # records a skipped one.
    from core.patches import apply_all

    apply_all()


def _limit_memory(megabytes: int) -> None:
    """[limits] memory_limit_mb for this process and what it starts (ocr/memory.py): a file
    that needs more fails alone, with its reason, instead of starving the machine."""
    from ocr.memory import limit_memory

    limit_memory(megabytes)


def portable(error: BaseException) -> BaseException:
    """The error itself if it survives pickling, else a RuntimeError saying the same."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")


# -- OCR processes ---------------------------------------------------------------------------


def ocr_process(conn: Connection, log_file: str | None, memory_limit_mb: int = 0) -> None:
    _become_child(log_file)
    _limit_memory(memory_limit_mb)
    _read_pages(conn)
    _end_child()


def _read_pages(conn: Connection) -> None:
    from ocr.pages import ocr_page

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            result = ocr_page(task.page)
            partial = f"{task.result_file}.partial"
            with open(partial, "wb") as handle:
                pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(partial, task.result_file)
            pause_point("page-read")  # crash tests: a page read, its answer not yet sent
            reply = PageDone(task.job_id, task.batch, task.index)
        except Exception as error:
            from ocr.memory import is_out_of_memory, too_much_memory

            if is_out_of_memory(error):  # the page's fault, not this process's: say so plainly
                error = too_much_memory()
            reply = PageDone(task.job_id, task.batch, task.index, portable(error))
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


# -- document workers ------------------------------------------------------------------------


class PageRunner:
    """ingest's OCR step, done by the service's OCR processes instead of a private pool."""

    def __init__(self, conn: Connection, job_id: int, work_dir: Path):
        self.conn = conn
        self.job_id = job_id
        self.work_dir = work_dir
        self.batch = 0

    def __call__(self, pages: list) -> list:
        self.batch += 1
        results_dir = self.work_dir / f"pages-{self.job_id}-{self.batch}"
        results_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.conn.send(PagesWanted(self.job_id, self.batch, list(pages), str(results_dir)))
            results: dict[int, object] = {}
            while len(results) < len(pages):
                message = self.conn.recv()
                if not isinstance(message, PageDone) or (message.job_id, message.batch) != (self.job_id, self.batch):
                    continue  # a late answer for an abandoned batch
                if message.error is not None:
                    self.conn.send(PagesAbandoned(self.job_id, self.batch))
                    raise message.error
                with open(results_dir / f"{message.index}.pickle", "rb") as handle:
                    results[message.index] = pickle.load(handle)
            return [results[i] for i in range(len(pages))]
        except Interrupted:
            with contextlib.suppress(OSError):
                self.conn.send(PagesAbandoned(self.job_id, self.batch))
            raise
        finally:
            shutil.rmtree(results_dir, ignore_errors=True)


def _raise_interrupted(signum, frame) -> None:
    raise Interrupted()


def document_worker(conn: Connection, worker_id: int, home_root: str, log_file: str | None,
                    memory_limit_mb: int = 0) -> None:
    _become_child(log_file)
    _limit_memory(memory_limit_mb)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        _serve(conn, worker_id, Path(home_root))
    except Interrupted:
        pass  # asked to stop while holding nothing
    _end_child()


def _serve(conn: Connection, worker_id: int, home_root: Path) -> None:
    from pipeline import ingest  # noqa: F401  imported now, while the first files settle
    from core.archive import ArchiveStore
    from index import open_index
    from core.catalog import Catalog
    from watch_folders.paths import ServiceHome

    home = ServiceHome.for_worker(home_root, worker_id)
    shutil.rmtree(home.staging_dir, ignore_errors=True)  # what a killed predecessor left
    home.staging_dir.mkdir(parents=True, exist_ok=True)
    config = home.config()
    # Each write takes the index writer and lets it go (index.store.ManagedIndex): the
    # other workers, the service's drainer and `sohoa ingest` write between ours.
    index = open_index(home.index_dir, config.index_engine)
    with Catalog(home.catalog_path) as catalog, contextlib.ExitStack() as keep_open, index:
        archive = ArchiveStore(home.archive_dir)
        signer = _SignerOnDemand(config, keep_open, home_root)
        while True:
            try:
                order = conn.recv()
            except (EOFError, OSError):
                return
            if order is None:
                return
            try:
                done = _work(order, conn, home, config, catalog, archive, index, signer)
            except Interrupted:
                done = WorkDone(order.job_id, "interrupted")
            # A stop signal must not cut the answer in half on the pipe.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            try:
                conn.send(done)
            except OSError:
                return
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


class _SignerOnDemand:
    """The agency's signing identity, opened (PIN entered, token logged in) at the first
    document to sign and kept open for every later one. The token login is taken in turn
    with the other workers and never tried while signing is paused (signing.pin_pause):
    one wrong PIN costs the token one try, not one per worker."""

    def __init__(self, config, keep_open: contextlib.ExitStack, home_root: Path):
        self.config = config
        self.keep_open = keep_open
        self.home_root = home_root
        self.signer = None

    def get(self, profile_wants: bool | None):
        wanted = self.config.signing.enabled if profile_wants is None else profile_wants
        if not wanted:
            return None
        if self.signer is None:
            from signing.pin_pause import LoginGuard
            from signing.sign import open_agency_signer

            self.signer = self.keep_open.enter_context(open_agency_signer(
                self.config.signing, self.config.verify.trust_roots, LoginGuard(self.home_root)))
        return self.signer


def _work(order: WorkOrder, conn: Connection, home, config, catalog, archive, index, signer) -> WorkDone:
    from pipeline.ingest import IngestOptions, ingest_file
    from watch_folders.settings import profile_config

    runner = PageRunner(conn, order.job_id, home.staging_dir)
    try:
        options = IngestOptions(page_reader=runner, metadata_defaults=order.metadata_defaults,
                                sign=order.profile.sign, signer=signer.get(order.profile.sign),
                                accept_damaged=getattr(order.profile, "accept_damaged", False))
        result = ingest_file(Path(order.file), home=home, config=profile_config(config, order.profile),
                             catalog=catalog, archive=archive, index=index, options=options)
    except Interrupted:
        raise
    except BaseException as error:  # everything is reported: the worker itself must go on
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise
        return _failure(order.job_id, error)
    if not result.duplicate:
        return WorkDone(order.job_id, "archived", result.id, result.page_count,
                        input_signature=result.input_signature, damaged=result.metadata.get("damaged"),
                        needs_review=result.metadata.get("needs_review"), index_pending=result.index_pending)
    intake = result.metadata.get("intake") if isinstance(result.metadata, dict) else None
    if isinstance(intake, dict) and intake.get("job") == order.job_id:
        # Our own earlier attempt committed its record before the service died.
        return WorkDone(order.job_id, "recovered", result.id, result.page_count,
                        input_signature=result.input_signature)
    return WorkDone(order.job_id, "duplicate", result.id, result.page_count)


def _failure(job_id: int, error: BaseException) -> WorkDone:
    details = "".join(traceback.format_exception(error))
    from ocr.memory import is_out_of_memory, too_much_memory

    if is_out_of_memory(error) and not is_disk_full(error):
        # Past this process's memory limit: the file's own need, the same at every try.
        error = too_much_memory()
    if isinstance(error, PageLost):
        # An OCR process died under this page twice: a second try would kill two more.
        return WorkDone(job_id, "failed", error_code=error.code, reason=error.reason, details=details)
    refusal = pin_rejection(error)
    if refusal is not None:
        # The token refused the PIN: the service stops signing; this job waits, uncounted.
        return WorkDone(job_id, "signing-paused", error_code=refusal.code, reason=refusal.advice, details=details)
    if is_disk_full(error):
        # Whatever step met it (the PDF/A, the catalog, the index): the job waits for space.
        return WorkDone(job_id, "retry", error_code="disk-full", reason=describe_transient(error), details=details)
    if is_transient(error):
        return WorkDone(job_id, "retry", error_code=error.code if isinstance(error, SohoaError) else "transient",
                        reason=describe_transient(error), details=details)
    # The same code and words as `sohoa ingest` gives for the same failure (core.errors).
    code, reason = describe(error)
    return WorkDone(job_id, "failed", error_code=code, reason=reason, details=details)
