"""The watch service under attack (issue 11, points 1, 2, 3's clear-time check and 7's linked
inbox): nothing read that was not dropped, nothing written outside the home, and a file
leaves the inbox only if it is still what the job took.

The swap race is played twice: at the desk, swapping the file right after the steadiness
check said it was ready (deterministic), and against the running service, swapping at the
very close event of the service's own completeness check while filler files hold the
desk busy (the way the adversarial run won 6 times out of 6)."""

from __future__ import annotations

import hashlib
import io
import os
import queue
import re
import shutil
import stat
import uuid
from pathlib import Path

import pytest

from core.home import Home
from tests.conftest import run_sohoa
from tests.test_watch_support import (
    Service, pause_at, wait_paused, big_pdf, jobs, jobs_for, jpeg_bytes, make_home, query, tiny_scan, wait_for, wait_settled,
    tmpfs_mounted,
)
from watch_folders.desk import Desk
from watch_folders.eventlog import EventLog
from watch_folders.jobs import JobStore
from watch_folders.paths import prepare_folders
from watch_folders.settings import load_watch_settings
from watch_folders.steadiness import SteadinessTracker

MTIME = 1_700_000_000_123_456_789  # one modification time for a decoy and the link that replaces it


# -- helpers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template_home(tmp_path_factory) -> Path:
    return make_home(tmp_path_factory.mktemp("attacks") / "sohoa-data")


@pytest.fixture
def fresh_home(template_home, tmp_path) -> Path:
    """A new home for each test, copied (`sohoa init` takes seconds)."""
    return Path(shutil.copytree(template_home, tmp_path / "sohoa-data", symlinks=True))


def secret_file(tmp_path: Path, variant: int = 33) -> Path:
    """A small real image outside the home, readable by its owner only (the adversarial run
    archived a 782-byte one): small enough that a link's target can be padded to its size."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (48, 48), (250, 250, 245))
    ImageDraw.Draw(image).text((4, 18), f"MAT {variant}", fill=(variant * 5 % 256, 0, 0))
    secret = tmp_path / "ngoai-kho" / f"bi-mat-{variant}.jpg"
    secret.parent.mkdir(parents=True, exist_ok=True)
    image.save(secret, "JPEG", quality=85)
    assert len(secret.read_bytes()) < 4000
    secret.chmod(0o600)
    return secret


def jpeg_shaped(size: int) -> bytes:
    """Bytes that pass the completeness check of a .jpg (start and end markers)."""
    return b"\xff\xd8\xff\xe0" + bytes(size - 6) + b"\xff\xd9"


def link_for(decoy: Path, target: Path) -> Path:
    """A symbolic link to target, hidden beside decoy, that lstat cannot tell from the decoy:
    its target path padded ("/./") to the decoy's size, its time set to the decoy's. Swapping
    it in (os.replace) is atomic."""
    size = decoy.stat().st_size
    text = str(target)
    padded = "/" + "./" * ((size - len(text)) // 2) + text.lstrip("/")
    padded = "/" * (size - len(padded)) + padded
    assert len(os.fsencode(padded)) == size
    link = decoy.with_name(f".link-{uuid.uuid4().hex[:8]}")
    os.symlink(padded, link)
    os.utime(link, ns=(MTIME, MTIME), follow_symlinks=False)
    return link


def plant_decoy(path: Path, size: int) -> Path:
    """A whole-looking decoy, written under a hidden name and renamed in (as scanners do)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    hidden = path.with_name("." + path.name)
    hidden.write_bytes(jpeg_shaped(size))
    os.utime(hidden, ns=(MTIME, MTIME))
    os.rename(hidden, path)
    return path


def assert_nowhere_under(root: Path, data: bytes) -> None:
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert data not in path.read_bytes(), f"the secret's bytes are in {path}"


def all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() or p.is_symlink()]


class SwapAfterCheck(SteadinessTracker):
    """The steadiness tracker on a clock of its own; `swap` runs the moment poll() has said
    a file is ready, before the desk takes it."""

    def __init__(self, swap):
        self.now = 0.0
        super().__init__(quiet_seconds=0.5, incomplete_seconds=3, clock=lambda: self.now)
        self.swap = swap
        self.ready: list[Path] = []

    def poll(self):
        ready, vanished = super().poll()
        if ready:
            self.ready += [r.path for r in ready]
            if self.swap is not None:
                self.swap()
        return ready, vanished


def desk_for(home: Path, swap=None) -> tuple[Desk, io.StringIO, queue.SimpleQueue]:
    settings = load_watch_settings(home / "config.toml")
    prepare_folders(Home(home), [p.name for p in settings.profiles])
    console = io.StringIO()
    handed = queue.SimpleQueue()
    desk = Desk(Home(home), settings, EventLog(console), handed)
    desk.store = JobStore(home / "catalog.sqlite")
    desk.tracker = SwapAfterCheck(swap)
    return desk, console, handed


def take_now(desk: Desk, path: Path) -> None:
    """Have the desk see path, then let the quiet period pass and take what is ready."""
    desk._on_seen(path)
    desk.tracker.now += 1.0
    desk._take_steady_files()


# -- point 1, at the desk: the swap between the check and the open --------------------------------


@pytest.mark.parametrize("swap_kind", ["symlink", "folder-symlink", "fifo"])
def test_a_file_swapped_right_after_its_check_is_never_read(tmp_path, fresh_home, swap_kind):
    home = fresh_home
    secret = secret_file(tmp_path)
    secret_bytes = secret.read_bytes()
    inbox = home / "inbox" / "van-ban-den"
    if swap_kind == "folder-symlink":
        # The decoy has the secret's size and time: through the swapped folder, lstat of
        # the same path shows the secret itself.
        os.utime(secret, ns=(MTIME, MTIME))
        decoy = plant_decoy(inbox / "hộp-1" / secret.name, len(secret_bytes))

        def swap():
            os.rename(inbox / "hộp-1", inbox / ".hộp-1-cũ")
            os.symlink(secret.parent, inbox / "hộp-1")
    else:
        # The decoy, the secret and the link all the same size, the link's time the decoy's:
        # size and time, by name or through the link, cannot tell them apart.
        decoy = plant_decoy(inbox / "công-văn.jpg", len(secret_bytes))
        if swap_kind == "symlink":
            link = link_for(decoy, secret)
            assert (os.lstat(link).st_size, os.lstat(link).st_mtime_ns) == (len(secret_bytes), MTIME)

            def swap():
                os.replace(link, decoy)
        else:
            def swap():
                os.mkfifo(inbox / ".pipe")
                os.replace(inbox / ".pipe", decoy)

    desk, console, handed = desk_for(home, swap)
    try:
        take_now(desk, decoy)  # a FIFO would block a plain open here for ever
        assert desk.tracker.ready == [decoy]  # it was checked, found whole, and swapped then
        assert jobs(home) == []
        assert handed.empty()
        said = console.getvalue()
        assert f"! van-ban-den/{decoy.relative_to(inbox)}: bỏ qua, vì inbox/van-ban-den/" in said
        assert "là liên kết tượng trưng; sohoa không đọc qua đó" in said or "không phải tệp thường" in said
        assert "event=not-taken" not in console.getvalue()  # the console gets the sentence only
        assert not [p for p in (home / "tmp" / "watch" / "received").rglob("*") if p.is_file()]
        assert_nowhere_under(home, secret_bytes)
        assert secret.read_bytes() == secret_bytes and os.path.lexists(decoy)  # nothing moved either
    finally:
        desk.store.close()


def test_a_job_resumed_after_a_crash_does_not_copy_through_a_link(tmp_path, fresh_home):
    """recover(): a job committed but without its copy (a crash in between) gets the bytes
    again from the inbox only if the very file is still there, opened without following."""
    home = fresh_home
    secret = secret_file(tmp_path)
    decoy = plant_decoy(home / "inbox" / "van-ban-den" / "công-văn.jpg", len(secret.read_bytes()))
    link = link_for(decoy, secret)
    desk, _, handed = desk_for(home)
    try:
        take_now(desk, decoy)
        (job,) = jobs(home)
        assert job["state"] == "received" and (job["source_dev"], job["source_ino"]) == \
            (os.stat(decoy).st_dev, os.stat(decoy).st_ino)
    finally:
        desk.store.close()
    for copy in (home / "tmp" / "watch" / "received").rglob("*"):
        if copy.is_file():
            copy.unlink()  # as if the service died before its copy was in place
    os.replace(link, decoy)
    desk, _, _ = desk_for(home)
    assert desk.recover() == []  # nothing to run: what was taken is not there any more
    (job,) = jobs(home)
    assert job["state"] == "failed" and job["error_code"] == "gone"
    assert_nowhere_under(home, secret.read_bytes())
    assert os.path.islink(decoy)


# -- point 3 at clear time: only the very file the job took leaves the inbox ---------------------


@pytest.mark.parametrize("profile, how", [("luu-tru", "new-inode"), ("van-ban-den", "same-inode")])
def test_a_file_changed_after_it_was_taken_stays_in_the_inbox(tmp_path, fresh_home, profile, how):
    """Same size, same modification time (set back with os.utime): a new file saved over the
    taken one (luu-tru deletes what it archived), or the taken one rewritten in place (van-ban-den
    moves it to done/). Only the inode, or the content hash, tells; the file must stay."""
    home = fresh_home
    path = home / "inbox" / profile / "công-văn.jpg"
    original = tiny_scan(path).read_bytes()
    desk, console, handed = desk_for(home)
    try:
        take_now(desk, path)
        (job,) = jobs(home)
        assert job["state"] == "received" and not handed.empty()
        before = os.stat(path)
        changed = original[:200] + bytes([original[200] ^ 0xFF]) + original[201:]
        if how == "new-inode":
            path.with_name(".mới").write_bytes(changed)
            os.replace(path.with_name(".mới"), path)
        else:
            with open(path, "r+b") as handle:
                handle.write(changed)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        after = os.stat(path)
        assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
        assert (after.st_ino == before.st_ino) == (how == "same-inode")
        desk.store.start(job["id"])
        desk.store.finish(job["id"], "done", document_id=None, page_count=1)
        desk._clear(job["id"])
        (job,) = jobs(home)
        assert job["source_cleared"]  # the job is over: what it took is not there
        assert path.read_bytes() == changed  # the new content stays, not deleted nor moved
        assert not all_files(home / "done")
        desk._on_seen(path)
        assert desk.tracker.is_tracked(path)  # the next look takes it as a new job
    finally:
        desk.store.close()


def test_a_scan_saved_over_one_in_progress_is_archived_as_a_new_job(tmp_path, fresh_home):
    home = fresh_home
    name = "van-ban-den/kế-hoạch.pdf"
    path = home / "inbox" / name
    first = big_pdf(path, pages=5).read_bytes()  # seconds of OCR: time to save over it
    second = first[:10] + bytes(reversed(first[10:14])) + first[14:]  # the binary comment line
    assert second != first and len(second) == len(first)
    with Service(home) as service:
        wait_for(lambda: any(j["state"] == "processing" for j in jobs_for(home, name)), 60, "the job in progress")
        mtime = os.stat(path).st_mtime_ns
        path.with_name(".lưu-đè").write_bytes(second)
        os.utime(path.with_name(".lưu-đè"), ns=(mtime, mtime))
        os.replace(path.with_name(".lưu-đè"), path)
        assert not jobs_for(home, name)[0]["source_cleared"]  # saved over before the first job ended
        first_job, second_job = wait_settled(home, 2)
        log = service.log()
    assert first_job["sha256"] == hashlib.sha256(first).hexdigest() and first_job["state"] == "done"
    assert second_job["sha256"] == hashlib.sha256(second).hexdigest() and second_job["state"] == "done"
    # The new file was a new job at once; whichever ended first, the old job never moved it.
    assert re.search(rf"event=cleared job={first_job['id']} file={name} action=(replaced|gone)\n", log)
    assert f"event=cleared job={second_job['id']} file={name} action=moved to={'done/' + name}\n" in log
    assert {r["original_sha256"] for r in query(home, "SELECT original_sha256 FROM documents")} == \
        {first_job["sha256"], second_job["sha256"]}
    assert (home / "done" / name).read_bytes() == second  # the one that was there when its job ended
    assert not all_files(home / "inbox" / "van-ban-den")


# -- point 1 against the running service ----------------------------------------------------------


def test_a_decoy_swapped_for_a_link_between_its_check_and_its_take_is_never_read(tmp_path, fresh_home):
    home = fresh_home
    secrets = [secret_file(tmp_path, variant) for variant in (31, 32, 33)]
    folder = home / "inbox" / "van-ban-den"
    folder.mkdir(parents=True, exist_ok=True)
    # Links planted openly too: a file, a folder, and a FIFO. None is ever read.
    os.symlink(secrets[0], folder / "liên-kết.jpg")
    os.symlink(secrets[0].parent, folder / "thư-mục-liên-kết")
    os.symlink(secrets[0], home / "inbox" / "ngoài-hồ-sơ.jpg")
    os.mkfifo(folder / "ống.jpg")
    control = tiny_scan(folder / "thật.jpg", variant=3).read_bytes()
    won = 0
    # The service holds each decoy between its check and its take (a pause point), so the
    # swap lands in that window on a machine of any speed.
    pauses = tmp_path / "pauses"
    decoy_names = [f"mồi-{attempt}.jpg" for attempt in range(len(secrets))]
    with Service(home, env=pause_at(pauses, *(f"take-{name}" for name in decoy_names))) as service:
        wait_settled(home, 1)
        for attempt, secret in enumerate(secrets):
            # Filler files outside any profile are walked and taken before the decoy in
            # the same round: between the decoy's check and its take, the desk is busy.
            decoy_name = f"mồi-{attempt}.jpg"
            fillers = []
            for number in range(40):
                filler = home / "inbox" / f".độn-{attempt}-{number}.bin"
                filler.write_bytes(os.urandom(64))
                fillers.append(filler)
            decoy = folder / f".{decoy_name}"
            decoy.write_bytes(jpeg_shaped(len(secret.read_bytes())))
            os.utime(decoy, ns=(MTIME, MTIME))
            link = link_for(decoy, secret)
            for filler in fillers:
                os.rename(filler, filler.with_name(filler.name[1:]))
            os.rename(decoy, folder / decoy_name)
            wait_paused(pauses, f"take-{decoy_name}", process=service.process)
            os.replace(link, folder / decoy_name)  # the swap, after the check, before the take
            (pauses / f"take-{decoy_name}.reached").unlink()
            wait_for(lambda: f"event=not-taken file=van-ban-den/{decoy_name}" in service.log()
                     or jobs_for(home, f"van-ban-den/{decoy_name}"), 60, "the decoy to be looked at")
            if f"event=not-taken file=van-ban-den/{decoy_name}" in service.log():
                won += 1  # the swap came between the check and the take: the attack was real
                assert os.path.islink(folder / decoy_name)
            wait_for(lambda: len(jobs(home)) >= 1 + 40 * (attempt + 1), 60, "the fillers to be taken")
            wait_settled(home, len(jobs(home)))
        assert service.process.poll() is None
        output = service.output()
    print("swaps that landed:", won)
    assert won == len(secrets), "a swap did not land between the check and the take"
    assert ": bỏ qua, vì inbox/van-ban-den/mồi-" in output and "là liên kết tượng trưng; sohoa không đọc qua đó" in output
    for secret in secrets:
        assert_nowhere_under(home, secret.read_bytes())
        sha = hashlib.sha256(secret.read_bytes()).hexdigest()
        assert not [j for j in jobs(home) if j["sha256"] == sha]
        assert secret.stat().st_mode & 0o777 == 0o600
    assert not query(home, "SELECT id FROM documents WHERE original_sha256 IN (?, ?, ?)",
                     tuple(hashlib.sha256(s.read_bytes()).hexdigest() for s in secrets))
    assert [r["state"] for r in jobs_for(home, "van-ban-den/thật.jpg")] == ["done"]
    assert (home / "done" / "van-ban-den" / "thật.jpg").read_bytes() == control
    for planted in ("liên-kết.jpg", "thư-mục-liên-kết", "ống.jpg"):
        assert os.path.lexists(folder / planted)  # left alone: not taken, not moved
        assert not jobs_for(home, f"van-ban-den/{planted}")
    assert not [p for p in all_files(home / "failed") if p.name.startswith(("liên-kết", "ngoài-hồ-sơ", "ống"))]


# -- point 2: outcome folders that are links --------------------------------------------------------


def test_links_planted_in_the_outcome_folders_are_never_written_through(tmp_path, fresh_home):
    home = fresh_home
    elsewhere_failed = tmp_path / "ngoai-kho" / "failed"
    elsewhere_done = tmp_path / "ngoai-kho" / "done"
    elsewhere_failed.mkdir(parents=True)
    elsewhere_done.mkdir(parents=True)
    (home / "failed").mkdir(exist_ok=True)
    os.symlink(elsewhere_failed, home / "failed" / "van-ban-den")
    (home / "done" / "van-ban-den").mkdir(parents=True)
    os.symlink(elsewhere_done, home / "done" / "van-ban-den" / "hộp-2")
    failing = home / "inbox" / "van-ban-den" / "ghi-chú.docx"  # a format sohoa does not take
    failing.parent.mkdir(parents=True, exist_ok=True)
    failing.write_bytes(b"PK\x03\x04 not a scan")
    good = tiny_scan(home / "inbox" / "van-ban-den" / "hộp-2" / "công-văn.jpg", variant=5)
    with Service(home) as service:
        refused = [f"file=van-ban-den/{name} link=" for name in ("ghi-chú.docx", "hộp-2/công-văn.jpg")]
        wait_for(lambda: all(line in service.log() for line in refused), 90,
                 "both files to end and be kept from the links")
        states = {j["source_path"]: j for j in jobs(home)}
        assert states["van-ban-den/ghi-chú.docx"]["state"] == "failed"
        assert states["van-ban-den/hộp-2/công-văn.jpg"]["state"] == "done"
        assert not any(j["source_cleared"] for j in jobs(home))
        assert failing.is_file() and good.is_file()  # both wait in the inbox
        assert all_files(elsewhere_failed) == [] and all_files(elsewhere_done) == []
        log, output = service.log(), service.output()
        assert "failed/van-ban-den là liên kết tượng trưng; sohoa không ghi qua đó" in output
        assert "done/van-ban-den/hộp-2 là liên kết tượng trưng; sohoa không ghi qua đó" in output
        assert 'link=failed/van-ban-den' in log
        # The technician puts real folders in place of the links: the files go where they belong.
        (home / "failed" / "van-ban-den").unlink()
        (home / "done" / "van-ban-den" / "hộp-2").unlink()
        wait_settled(home, 2, timeout=60)
    assert (home / "failed" / "van-ban-den" / "ghi-chú.docx").read_bytes() == b"PK\x03\x04 not a scan"
    assert (home / "failed" / "van-ban-den" / "ghi-chú.docx.reason.txt").is_file()
    assert (home / "done" / "van-ban-den" / "hộp-2" / "công-văn.jpg").is_file()
    assert all_files(elsewhere_failed) == [] and all_files(elsewhere_done) == []


# -- point 7: an inbox that is a link, and one that is a mount --------------------------------------


def test_a_profile_inbox_that_is_a_link_is_refused_at_start(tmp_path, fresh_home):
    home = fresh_home
    share = tmp_path / "chia-se"
    share.mkdir()
    tiny_scan(share / "công-văn.jpg")
    os.rmdir(home / "inbox" / "van-ban-di")
    os.symlink(share, home / "inbox" / "van-ban-di")
    done = run_sohoa(home, "watch")
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert f"{home / 'inbox' / 'van-ban-di'} là liên kết tượng trưng" in lines[0] and "mount --bind" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert (share / "công-văn.jpg").is_file() and jobs(home) == []


@pytest.fixture
def mounted_inbox(fresh_home):
    """inbox/van-ban-den as a file system of its own, the way a share is mounted there."""
    home = fresh_home
    mount_point = home / "inbox" / "van-ban-den"
    with tmpfs_mounted(mount_point, "16m"):
        yield home


def test_an_inbox_on_another_file_system_is_moved_by_a_copy_no_more_readable(mounted_inbox):
    home = mounted_inbox
    scan = tiny_scan(home / "inbox" / "van-ban-den" / ".riêng.jpg", variant=9)
    scan.chmod(0o600)
    os.rename(scan, home / "inbox" / "van-ban-den" / "riêng.jpg")
    broken = home / "inbox" / "van-ban-den" / "hỏng.docx"
    broken.write_bytes(b"not a scan")
    with Service(home):
        wait_settled(home, 2)
    done = home / "done" / "van-ban-den" / "riêng.jpg"
    assert done.read_bytes() == jpeg_bytes(9)
    assert stat.S_IMODE(done.stat().st_mode) & 0o077 == 0  # never more readable than what was dropped
    assert (home / "failed" / "van-ban-den" / "hỏng.docx").read_bytes() == b"not a scan"
    assert not all_files(home / "inbox" / "van-ban-den")
    assert os.stat(done).st_dev != os.stat(home / "inbox" / "van-ban-den").st_dev
