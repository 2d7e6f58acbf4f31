"""A full disk under the watch service: jobs wait for space (never failed/), nothing half
written is left, the log does not flood the console, and `sohoa status` says so.

The disk is a real small tmpfs filled with a real file; the errors are the real ones of
Python, SQLite and tantivy."""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from index import IndexedDocument, open_index
from core.archive import ArchiveStore
from pipeline.logfile import LogFile
from tests.conftest import run_sohoa
from tests.fixtures import scans
from tests.test_watch_support import (
    Service, jobs, make_home, pause_at, tiny_scan, wait_for, wait_paused, wait_settled, tmpfs_mounted,
)
from watch_folders.transient import DISK_FULL_REASON, describe_transient, is_disk_full, is_transient
from watch_folders.workers import _failure

DISK_FULL_LINE = "không ghi được nhật ký"


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MB file system of its own (tmpfs), so that it can be filled up."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    with tmpfs_mounted(mount_point, "64m"):
        yield mount_point


def free_bytes(path: Path) -> int:
    fs = os.statvfs(path)
    return fs.f_bavail * fs.f_frsize


def fill(disk: Path, leave: int = 0) -> Path:
    """One file that takes every free byte but about `leave` (so that freeing is one
    truncate or unlink). Others write meanwhile: tried until it fits."""
    filler = disk / "đầy-đĩa.bin"
    filler.touch()
    for _ in range(50):
        take = free_bytes(disk) - leave
        if take <= 0:
            break
        try:
            with open(filler, "r+b") as handle:
                os.posix_fallocate(handle.fileno(), filler.stat().st_size, take)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    assert free_bytes(disk) <= leave + 64 * 1024
    return filler


def leave_free(filler: Path, room: int) -> None:
    """Give back space from the filler until about `room` bytes are free."""
    disk = filler.parent
    give = room - free_bytes(disk)
    if give > 0:
        os.truncate(filler, max(filler.stat().st_size - give, 0))


def reserve(path: Path, size: int) -> None:
    """Blocks for `path` to grow into (appends then need no free space): keeps a file
    writable on a full disk, for what the test reads from it."""
    path.touch()
    subprocess.run(["fallocate", "--keep-size", "-o", str(path.stat().st_size), "-l", str(size), str(path)],
                   check=True)


def fill_last_page(path: Path) -> None:
    """On a full disk a file still has the rest of its last block to grow into: take it,
    with a line of its own, so that the next append meets the full disk."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, b"\n")
        while True:
            os.write(fd, b"# (test: the rest of the block taken)\n")
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)


def record_folders(home: Path) -> list[Path]:
    """Record folders in the archive, complete or half-assembled (hidden)."""
    return [p for p in (home / "archive").glob("*/*/*") if p.is_dir()]


def leftovers(home: Path) -> list[Path]:
    """Work files a job leaves while it runs: none may stay once it ended."""
    work = home / "tmp"
    found = [p for p in work.glob("ingest-*")]
    found += [p for p in (work / "watch").glob("worker-*/*")]
    found += [p for p in (work / "watch" / "received").glob("*")]
    return found


def big_scan(path: Path) -> Path:
    """A 300 dpi colour scan of an A5 page, some 800 KB: bigger than the room left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return scans.write_jpeg(path, scans.render_page("cong_van_268", 0, dpi=300, colour=True), quality=95)


def disk_full_retries(log: str, job_id: int) -> int:
    return sum(1 for line in log.splitlines()
               if f"event=retry job={job_id} " in line and "code=disk-full" in line)


# -- the service ----------------------------------------------------------------------------


def test_a_job_meeting_a_full_disk_waits_for_space_however_many_tries(small_disk, tmp_path):
    home = make_home(small_disk / "sohoa-data", max_attempts=2)
    pauses = tmp_path / "pauses"
    service = Service(home, env=pause_at(pauses, "text-recognised"))
    service.stdout_path = tmp_path / "console.out"  # the operator's terminal, not the full disk
    with service:
        # The job stops once its pages are read, and goes on to write its PDF/A, sign and
        # archive once the disk is full. (A full disk at the index write fails nothing: the
        # archived record waits for the index, pipeline/index_queue.py.)
        original = big_scan(home / "inbox" / "van-ban-den" / "công-văn-lớn.jpg")
        size = original.stat().st_size
        wait_paused(pauses, "text-recognised")
        (job,) = jobs(home)
        reserve(home / "logs" / "sohoa.log", 4 << 20)  # kept writable to see what happens (the next test fills it)
        filler = fill(small_disk)
        (pauses / "text-recognised.reached").unlink()

        wait_for(lambda: disk_full_retries(service.log(), job["id"]) >= 1 or "event=desk-postponed" in service.log(),
                 60, "a write to meet the full disk")
        assert "No space left on device" in service.log()
        wait_for(lambda: not record_folders(home), 30, "no half-made record folder")

        # Some room, less than the job needs: it is tried again and again (the catalog and
        # the log have room now), each try meets the full disk, none counts.
        leave_free(filler, size // 2)
        wait_for(lambda: disk_full_retries(service.log(), job["id"]) >= 4, 120,
                 "tries beyond max_attempts (2), each meeting the full disk")
        assert service.process.poll() is None
        (row,) = jobs(home)
        assert row["state"] in ("received", "processing") and row["error_code"] == "disk-full"
        assert row["attempts"] <= 1  # the tries that met the full disk were not counted
        assert not record_folders(home) and not [p for p in (home / "failed").rglob("*") if p.is_file()]
        status = run_sohoa(home, "status", "--json")
        assert status.returncode == 0, status.stderr
        disk = json.loads(status.stdout)["disk"]
        assert disk["full"] and disk["waiting_for_space"] == 1

        filler.unlink()  # the technician frees space
        (row,) = wait_settled(home, 1, timeout=180)
    (tmp_path / "sohoa.log").write_text(service.log(), encoding="utf-8")  # the tmpfs goes with the test
    assert row["state"] == "done" and row["source_path"] == "van-ban-den/công-văn-lớn.jpg"
    assert not list((home / "inbox").rglob("*.jpg"))
    (folder,) = record_folders(home)  # the record, complete, and nothing half-made beside it
    assert not folder.name.startswith(".") and sorted(p.name for p in folder.iterdir()) == [
        "document.pdf", "metadata.json", "original.jpg"]
    assert leftovers(home) == []
    with open_index(home / "index") as index:
        assert index.doc_ids() == {row["document_id"]}
    console = service.output()
    assert "Traceback" not in console
    # The console heard of the full disk once, not at every try.
    assert console.count(DISK_FULL_REASON) == 1, console


def test_the_log_on_a_full_disk_is_said_once_not_a_traceback_per_line(small_disk, tmp_path):
    home = make_home(small_disk / "sohoa-data")
    inbox = home / "inbox" / "van-ban-den"
    scans_ = [tiny_scan(inbox / f".đang-chép-{n}.jpg", variant=7 + n) for n in range(3)]  # hidden: not taken yet
    service = Service(home)
    service.stdout_path = tmp_path / "console.out"
    with service:
        filler = fill(small_disk)
        fill_last_page(home / "logs" / "sohoa.log")  # the next line logged finds no room
        for number, scan in enumerate(scans_):
            os.rename(scan, inbox / f"giấy-mời-{number}.jpg")
        # Every try to take a file is logged, and fails to be (the copy has no room): three
        # lines lost at once, and more at each later try.
        wait_for(lambda: DISK_FULL_LINE in service.output(), 60, "the console to hear the log is not written")
        assert service.process.poll() is None
        filler.unlink()
        wait_settled(home, len(scans_))
        wait_for(lambda: "event=log-resumed" in service.log(), 30, "the log to say lines were lost")
    console = service.output()
    assert "Traceback" not in console and "Exception" not in console, console
    assert console.count(DISK_FULL_LINE) == 1, console
    (line,) = [l for l in console.splitlines() if DISK_FULL_LINE in l]
    assert "vì đĩa đầy" in line and "logs/sohoa.log" in line
    assert "ghi lại được" in console  # and when it can write again
    resumed = [l for l in service.log().splitlines() if "event=log-resumed" in l]
    assert resumed and sum(int(l.rsplit("dropped=", 1)[1]) for l in resumed) >= 3  # lost lines, said once
    assert [job["state"] for job in jobs(home)] == ["done"] * len(scans_)
    assert leftovers(home) == []  # the copies that met the full disk were removed


def test_status_says_the_disk_is_full(small_disk):
    home = make_home(small_disk / "sohoa-data")
    before = run_sohoa(home, "status", "--json")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["disk"]["full"] is False
    assert "Đĩa của kho đầy" not in run_sohoa(home, "status").stdout
    fill(small_disk, leave=8 * 1024)
    said = run_sohoa(home, "status")
    assert said.returncode == 0, said.stderr
    (line,) = [l for l in said.stdout.splitlines() if "Đĩa của kho đầy" in l]
    assert "còn " in line and "KB" in line and "khi có chỗ" in line
    assert "Traceback" not in said.stderr
    as_json = run_sohoa(home, "status", "--json")
    assert as_json.returncode == 0, as_json.stderr
    disk = json.loads(as_json.stdout)["disk"]
    assert disk["full"] is True and disk["free_bytes"] < 100 * 1024 and disk["total_bytes"] == 64 << 20
    assert disk["waiting_for_space"] == 0
    # Started on a full disk, the service cannot even take its lock: one line, not a traceback.
    started = run_sohoa(home, "watch")
    assert started.returncode == 1 and "Traceback" not in started.stderr, started.stderr
    assert "dịch vụ theo dõi thư mục không chạy được" in started.stderr and "đầy" in started.stderr


# -- the parts --------------------------------------------------------------------------------


def test_disk_full_errors_of_python_sqlite_and_tantivy_are_told_apart(small_disk):
    """The real errors, met on a real full disk."""
    index = open_index(small_disk / "index")
    index.add(IndexedDocument.from_record(1, {"title": "công văn"}, ["xin chào"]))
    db = sqlite3.connect(small_disk / "catalog.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (x BLOB)")
    fill(small_disk)

    met = {}
    try:
        index.add(IndexedDocument.from_record(2, {"title": "quyết định"}, ["văn bản " * 50000]))
    except Exception as error:
        met["tantivy"] = error
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (?)", (b"x" * (1 << 20),))
        db.execute("COMMIT")
    except sqlite3.Error as error:
        met["sqlite"] = error
    try:
        (small_disk / "document.pdf").write_bytes(b"%PDF-1.7" * 100000)
    except OSError as error:
        met["python"] = error
    index.close()
    db.close()

    assert type(met["tantivy"]) is ValueError and "No space left on device" in str(met["tantivy"])
    assert isinstance(met["sqlite"], sqlite3.OperationalError) and "database or disk is full" in str(met["sqlite"])
    assert met["python"].errno == errno.ENOSPC
    made_up = [sqlite3.OperationalError("database or disk is full"),
               ValueError("Failed to write: IoError { kind: StorageFull, message: \"No space left on device\" }"),
               RuntimeError("OSError: [Errno 28] No space left on device"),  # carried back from a worker
               OSError(errno.EDQUOT, "Disk quota exceeded")]
    wrapped = RuntimeError("không ghi được chỉ mục")
    wrapped.__cause__ = met["tantivy"]
    for error in [*met.values(), *made_up, wrapped]:
        assert is_disk_full(error) and is_transient(error), error
        assert describe_transient(error) == DISK_FULL_REASON
        done = _failure(7, error)
        assert (done.outcome, done.error_code, done.reason) == ("retry", "disk-full", DISK_FULL_REASON)
    for other in (ValueError("invalid literal for int()"), sqlite3.OperationalError("database is locked"),
                  OSError(errno.EACCES, "Permission denied"), sqlite3.IntegrityError("UNIQUE constraint failed")):
        assert not is_disk_full(other), other
    assert _failure(7, sqlite3.OperationalError("database is locked")).error_code == "transient"


def test_a_record_folder_half_assembled_on_a_full_disk_is_removed(small_disk):
    staging = small_disk / "staging"
    staging.mkdir()
    original = staging / "original.jpg"
    original.write_bytes(b"\xff\xd8" + os.urandom(100_000))
    pdfa = staging / "document.pdf"
    pdfa.write_bytes(b"%PDF-1.7\n" + os.urandom(100_000))
    store = ArchiveStore(small_disk / "archive")
    files = ArchiveStore.layout("ab" * 32, ".jpg")
    fill(small_disk)
    # The original and the PDF/A are moved in (no room needed); the sidecar finds none.
    with pytest.raises(OSError) as raised:
        store.store(files, original=original, pdfa=pdfa, sidecar=b"{}" * 200_000)
    assert raised.value.errno == errno.ENOSPC
    assert list((small_disk / "archive").rglob("*")) == [small_disk / "archive" / "ab", small_disk / "archive" / "ab" / "ab"]


def test_the_log_file_handler_counts_what_it_drops_and_says_so_once(small_disk, capsys):
    path = small_disk / "sohoa.log"
    handler = LogFile(path, console=sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log = logging.getLogger("test-disk-full")
    log.propagate = False
    log.addHandler(handler)
    try:
        log.warning("trước")
        filler = fill(small_disk)
        for number in range(300):
            log.warning("dòng %d %s", number, "x" * 500)
        assert handler.dropped >= 290
        filler.unlink()
        log.warning("sau")
    finally:
        log.removeHandler(handler)
        handler.close()
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count(DISK_FULL_LINE) == 1 and "vì đĩa đầy" in err
    assert err.count("ghi lại được") == 1
    text = path.read_text(encoding="utf-8")
    assert text.startswith("WARNING trước\n") and text.endswith("WARNING sau\n")
    (note,) = [l for l in text.splitlines() if "event=log-resumed" in l]
    assert int(note.rsplit("dropped=", 1)[1]) >= 290
