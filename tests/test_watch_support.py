"""The watch service's parts that need no running service, and the helpers the service
tests share: a real `sohoa watch` process on a temporary home with short delays."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import unicodedata
import uuid
from pathlib import Path, PurePath

import pytest

from core.config import ConfigError
from tests.conftest import run_sohoa
from tests.fixtures import scans
from watch_folders.completeness import opens_as_claimed
from core.names import is_ignored, printable
from watch_folders.page_queue import PageQueue
from watch_folders.settings import parse_watch_settings
from watch_folders.steadiness import SteadinessTracker
from watch_folders.messages import PageTask

SOHOA = Path(sys.executable).parent / "sohoa"

# Seconds, short so the tests run quickly; the real defaults are in the config template.
FAST = {
    "quiet_seconds": 0.5,
    "incomplete_seconds": 3,
    "rescan_seconds": 1.5,
    "retry_seconds": 0.5,
    "stop_grace_seconds": 20,
    "documents_in_flight": 2,  # fewer processes to start: the service tests start many services
}


# -- helpers for the service tests ----------------------------------------------------------


def make_home(path: Path, *, signing: bool = False, extra_config: str = "", **watch) -> Path:
    """`sohoa init`, then the [watch] delays of FAST (or watch=...), signing per profile off
    unless asked (it costs time and has its own tests)."""
    assert run_sohoa(path, "init").returncode == 0
    config = path / "config.toml"
    text = config.read_text(encoding="utf-8")
    for key, value in {**FAST, **watch}.items():
        text, count = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.M)
        assert count == 1, key
    if not signing:
        text = re.sub(r"^sign = true$", "sign = false", text, flags=re.M)
    config.write_text(text + extra_config, encoding="utf-8")
    return path


class Service:
    """`sohoa --home HOME watch` as a separate process, as an operator runs it."""

    def __init__(self, home: Path, prefix: tuple[str, ...] = (), env: dict | None = None):
        self.home = home
        self.prefix = prefix  # e.g. setpriv, to run the service with fewer privileges
        self.env = env or {}  # e.g. pause_at(...): stop the service's workers at a named step
        self.tag = uuid.uuid4().hex  # in the environment of the service and all its children
        self.process: subprocess.Popen | None = None
        self.stdout_path = home / f"watch-{self.tag[:8]}.out"

    def start(self) -> Service:
        env = {k: v for k, v in os.environ.items() if k != "SOHOA_HOME"}
        env.update(self.env, SOHOA_TEST_TAG=self.tag)
        self.stdout = open(self.stdout_path, "ab")
        self.process = subprocess.Popen([*self.prefix, str(SOHOA), "--home", str(self.home), "watch"], stdout=self.stdout,
                                        stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_the_tests)
        wait_for(lambda: "event=started pid=%d" % self.process.pid in self.log() or self.process.poll() is not None,
                 60, "the service to start")
        assert self.process.poll() is None, self.output()
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self.stdout.close()
        wait_for(lambda: not self.processes(), 20, "the service's children to end")
        return code

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.stdout.close()
        # The workers die with the service (parent-death signal), nothing left to hold locks.
        wait_for(lambda: not self.processes(), 20, "the service's children to die with it")

    def processes(self) -> list[int]:
        """Every live process carrying this service's tag (the service and its workers)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if f"SOHOA_TEST_TAG={self.tag}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                    status = (entry / "stat").read_text()
                    if status.rsplit(")", 1)[1].split()[0] != "Z":
                        found.append(int(entry.name))
            except OSError:
                continue
        return found

    def output(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def log(self) -> str:
        path = self.home / "logs" / "sohoa.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.stop()


def _die_with_the_tests() -> None:
    """A service left behind by an interrupted test run would go on using the CPUs."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG



@contextlib.contextmanager
def tmpfs_mounted(mount_point: Path, size: str):
    """A small file system of its own at mount_point (tmpfs; the tests run as root), so that
    it can be filled up or stand for a share; the test is skipped where it cannot be mounted."""
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)

def wait_for(condition, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def pause_at(folder: Path, *steps: str) -> dict:
    """The environment that stops the product at these steps (core/testpoints.py), once
    per folder; wait_paused then says which process is holding there."""
    folder.mkdir(parents=True, exist_ok=True)
    return {"SOHOA_TEST_PAUSE_AT": ",".join(steps), "SOHOA_TEST_PAUSE_DIR": str(folder)}


def wait_paused(folder: Path, step: str, timeout: float = 120, process: subprocess.Popen | None = None) -> int:
    """The pid of the process paused at step, once it is there (the test may then kill it,
    or let it go on by removing the marker); fails at once if process ended without it."""
    marker = folder / f"{step}.reached"

    def paused():
        if process is not None and process.poll() is not None and not marker.exists():
            raise AssertionError(f"the process ended (code {process.returncode}) before reaching {step}")
        return marker.exists() and int(marker.read_text())
    return wait_for(paused, timeout, f"the product to pause at {step}", interval=0.05)


def query(home: Path, sql: str, params: tuple = ()) -> list[dict]:
    with sqlite3.connect(f"file:{home / 'catalog.sqlite'}?mode=ro", uri=True, timeout=30) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(sql, params)]


def jobs(home: Path) -> list[dict]:
    return query(home, "SELECT * FROM watch_jobs ORDER BY id")


def jobs_for(home: Path, source_path: str) -> list[dict]:
    return [job for job in jobs(home) if job["source_path"] == unicodedata.normalize("NFC", source_path)]


def settled(home: Path, count: int) -> bool:
    """At least `count` jobs, every one ended and its file out of the inbox."""
    rows = jobs(home)
    return len(rows) >= count and all(r["state"] in ("done", "failed", "duplicate") and r["source_cleared"]
                                      for r in rows)


def wait_settled(home: Path, count: int, timeout: float = 120) -> list[dict]:
    wait_for(lambda: settled(home, count), timeout, f"{count} jobs to end")
    return jobs(home)


def inbox_files(home: Path) -> list[Path]:
    return sorted(p for p in (home / "inbox").rglob("*") if p.is_file())


@functools.cache
def _page(doc: str, page: int = 0) -> scans.SamplePage:
    # 100 dpi A5: Tesseract reads one in a few tenths of a second
    return scans.render_page(doc, page, dpi=100, colour=True)


def tiny_scan(path: Path, variant: int = 0, doc: str = "giay_moi_17") -> Path:
    """A small real scan (JPEG); each variant has other bytes, so none is a duplicate."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return scans.write_jpeg(path, _page(doc), quality=90 - variant % 60)


def jpeg_bytes(variant: int = 0, doc: str = "giay_moi_17") -> bytes:
    import io

    buffer = io.BytesIO()
    _page(doc).image.copy().save(buffer, "JPEG", quality=90 - variant % 60, dpi=(100, 100))
    return buffer.getvalue()


def big_pdf(path: Path, pages: int) -> Path:
    sheets = [_page(name, index) for name in ("ke_hoach_42",) for index in range(3)]
    return scans.write_image_pdf(path, [sheets[i % len(sheets)] for i in range(pages)])


# -- the parts, without a service -------------------------------------------------------------


@pytest.mark.parametrize("name, ignored", [
    ("van-ban-den/cong-van.pdf", False),
    ("van-ban-den/phòng hành chính/quyết định.tif", False),
    ("van-ban-den/.cong-van.pdf", True),  # hidden (also rsync's temporary name)
    ("van-ban-den/.an/cong-van.pdf", True),  # inside a hidden folder
    ("van-ban-den/~scan0001.pdf", True),
    ("van-ban-den/scan0001.pdf.part", True),
    ("van-ban-den/scan0001.PDF.TMP", True),
    ("van-ban-den/download.crdownload", True),
    ("van-ban-den/Thumbs.db", True),
    ("van-ban-den/desktop.ini", True),
    ("van-ban-den/bản-sao~", True),
])
def test_hidden_and_temporary_names_are_ignored(name, ignored):
    assert is_ignored(PurePath(name)) is ignored


def test_names_are_printed_in_nfc_and_non_utf8_names_decoded_as_windows_1258():
    nfd = unicodedata.normalize("NFD", "công văn số 5.pdf")
    assert printable(nfd) == unicodedata.normalize("NFC", "công văn số 5.pdf")
    windows = os.fsdecode("công-văn.pdf".encode("cp1258"))  # b"c\xf4ng-v\xe3n.pdf": not UTF-8
    assert printable(windows) == "công-văn.pdf"


def test_pages_are_served_one_document_at_a_time_in_turn():
    queue = PageQueue()
    queue.add([PageTask(1, 1, i, None, "") for i in range(300)])  # a 300-page PDF first
    queue.add([PageTask(2, 1, 0, None, "")])  # then a one-page scan
    queue.add([PageTask(3, 1, i, None, "") for i in range(2)])
    order = [(t.job_id, t.index) for t in (queue.next() for _ in range(6))]
    assert order == [(1, 0), (2, 0), (3, 0), (1, 1), (3, 1), (1, 2)]
    queue.drop(1)
    assert queue.next() is None


def test_a_page_put_back_goes_first():
    queue = PageQueue()
    queue.add([PageTask(1, 1, i, None, "") for i in range(3)] + [PageTask(2, 1, 0, None, "")])
    first = queue.next()
    queue.put_back(first)
    assert queue.next() == first


def test_files_open_as_their_names_claim_only_when_whole(tmp_path):
    whole_pdf = big_pdf(tmp_path / "a.pdf", 1).read_bytes()
    whole_jpeg = jpeg_bytes()
    tiff = scans.write_tiff(tmp_path / "t.tif", [_page("giay_moi_17")], "tiff_lzw").read_bytes()
    png = scans.write_png(tmp_path / "p.png", _page("giay_moi_17")).read_bytes()
    for name, data in (("a.pdf", whole_pdf), ("b.jpg", whole_jpeg), ("t.tif", tiff), ("p.png", png)):
        path = tmp_path / name
        path.write_bytes(data)
        assert opens_as_claimed(path), name
        path.write_bytes(data[: len(data) * 2 // 3])
        assert not opens_as_claimed(path), name
        path.write_bytes(b"")
        assert not opens_as_claimed(path), name
    unknown = tmp_path / "ghi-chu.docx"
    unknown.write_bytes(b"PK\x03\x04")
    # Nothing in it can show it whole: the incomplete period decides (completeness.py)
    assert not opens_as_claimed(unknown)


def test_steadiness_waits_for_quiet_and_forgets_deleted_files(tmp_path):
    clock = [0.0]
    tracker = SteadinessTracker(quiet_seconds=2, incomplete_seconds=10, clock=lambda: clock[0])
    growing = tmp_path / "dang-chep.jpg"
    data = jpeg_bytes()
    growing.write_bytes(data[:1000])
    gone = tmp_path / "bi-xoa.jpg"
    gone.write_bytes(data)
    tracker.note(growing)
    tracker.note(gone)
    clock[0] = 1.5
    assert tracker.poll() == ([], [])
    gone.unlink()
    with open(growing, "ab") as handle:
        handle.write(data[1000:2000])
    os.utime(growing, ns=(1, 1))  # a changed modification time counts, whatever its value
    clock[0] = 3.0
    ready, vanished = tracker.poll()
    assert ready == [] and vanished == [gone]
    clock[0] = 6.0  # steady for 3 s, but not a whole JPEG yet: wait
    assert tracker.poll() == ([], [])
    growing.write_bytes(data)
    tracker.note(growing)  # the event of that write
    clock[0] = 6.5
    tracker.poll()
    clock[0] = 9.0
    ready, _ = tracker.poll()
    assert [r.path for r in ready] == [growing] and ready[0].opens and ready[0].size == len(data)


def test_a_file_that_never_opens_is_taken_after_the_incomplete_period(tmp_path):
    clock = [0.0]
    tracker = SteadinessTracker(quiet_seconds=1, incomplete_seconds=5, clock=lambda: clock[0])
    text = tmp_path / "thu.pdf"
    text.write_text("không phải PDF", encoding="utf-8")
    tracker.note(text)
    for moment in (1.5, 3.0, 4.9):
        clock[0] = moment
        assert tracker.poll() == ([], [])
    clock[0] = 5.1
    ready, _ = tracker.poll()
    assert [r.path for r in ready] == [text] and not ready[0].opens


def test_profiles_are_read_from_the_config_and_mistakes_named():
    settings = parse_watch_settings({
        "watch": {"quiet_seconds": 2},
        "profiles": {"tieng-anh": {"ocr_language": "eng", "sign": False, "after_done": "move",
                                   "metadata": {"register": "Sổ"}}},
    })
    assert settings.quiet_seconds == 2.0
    (profile,) = settings.profiles
    assert (profile.name, profile.ocr_language, profile.sign, profile.after_done) == ("tieng-anh", "eng", False, "move")
    assert profile.metadata_defaults() == {"register": "Sổ"}
    defaults = parse_watch_settings({})
    assert [p.name for p in defaults.profiles] == ["van-ban-den", "van-ban-di", "luu-tru"]
    with pytest.raises(ConfigError, match="after_done"):
        parse_watch_settings({"profiles": {"x": {"after_done": "archive"}}})
    with pytest.raises(ConfigError, match="quiet_seconds"):
        parse_watch_settings({"watch": {"quiet_seconds": -1}})
    with pytest.raises(ConfigError, match="thư mục"):
        parse_watch_settings({"profiles": {".an": {}}})


def test_init_creates_the_profile_inboxes_and_the_watch_config(tmp_path):
    home = tmp_path / "sohoa-data"
    done = run_sohoa(home, "init")
    assert done.returncode == 0, done.stderr
    config = (home / "config.toml").read_text(encoding="utf-8")
    assert "[watch]" in config and "quiet_seconds = 5" in config
    for profile in ("van-ban-den", "van-ban-di", "luu-tru"):
        assert f"[profiles.{profile}]" in config
        assert (home / "inbox" / profile).is_dir() and f"inbox/{profile}/" in done.stdout
    assert all((home / folder).is_dir() for folder in ("done", "failed", "duplicate"))
