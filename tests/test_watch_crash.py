"""Killed, stopped and started again: no file lost, none archived twice, nothing stuck."""

from __future__ import annotations

import hashlib
import json
import os
import signal

import pytest

from index import open_index
from tests.conftest import run_sohoa
from tests.fixtures import scans
from tests.test_watch_support import (
    Service, big_pdf, inbox_files, jobs, jobs_for, jpeg_bytes, make_home, pause_at, query, tiny_scan, wait_for,
    wait_paused, wait_settled, tmpfs_mounted,
)


def count(home, state: str) -> int:
    return sum(1 for j in jobs(home) if j["state"] == state)


def test_kill_9_in_the_middle_and_restart_accounts_for_every_input_exactly_once(tmp_path):
    home = make_home(tmp_path / "sohoa-data")
    inbox = home / "inbox"
    good = {}
    for number in range(8):
        profile = ("van-ban-den", "van-ban-di", "luu-tru")[number % 3]
        data = jpeg_bytes(variant=number, doc=("giay_moi_17", "cong_van_268")[number % 2])
        path = inbox / profile / f"văn-bản-{number:02d}.jpg"
        path.write_bytes(data)
        good[f"{profile}/{path.name}"] = data
    for name, pages in (("luu-tru/hồ-sơ-a.pdf", 6),):
        data = big_pdf(tmp_path / "x.pdf", pages).read_bytes() + name.encode()  # distinct bytes
        (inbox / name).write_bytes(data)
        good[name] = data
    copies = {"van-ban-den/bản-sao-00.jpg": good["van-ban-den/văn-bản-00.jpg"],
              "luu-tru/bản-sao-a.pdf": good["luu-tru/hồ-sơ-a.pdf"]}
    for name, data in copies.items():
        (inbox / name).write_bytes(data)
    bad = {"van-ban-den/rỗng.pdf": scans.write_zero_bytes, "luu-tru/thư.pdf": scans.write_text_named_pdf}
    for name, writer in bad.items():
        writer(inbox / name)
    inputs = len(good) + len(copies) + len(bad)

    for round_ in range(2):
        # One document held with its pages read (the catalog not locked: the others go
        # on): the kill is sure to land mid-document, whatever the speed of the machine.
        pauses = tmp_path / f"pauses-{round_}"
        service = Service(home, env=pause_at(pauses, "text-recognised")).start()
        done_before = count(home, "done")
        wait_paused(pauses, "text-recognised")
        wait_for(lambda: count(home, "done") >= done_before + 1, 120, "some files done beside the one held")
        service.kill9()  # the service and its workers, mid-work
        assert count(home, "processing") >= 1  # left as the crash left it: resumed at the next start

    with Service(home):
        rows = wait_settled(home, inputs, timeout=240)
    assert len(rows) == inputs
    for name in [*good, *copies, *bad]:
        assert len(jobs_for(home, name)) == 1, name  # one job per input, none repeated
    states = {row["source_path"]: row["state"] for row in rows}
    unexpected = [(r["source_path"], r["error_code"], r["reason"]) for r in rows
                  if r["state"] == "failed" and r["source_path"] not in bad]
    assert not unexpected, unexpected
    documents = query(home, "SELECT id, original_sha256 FROM documents")
    archived = {d["original_sha256"]: d["id"] for d in documents}
    # every distinct good scan archived exactly once; copies found as duplicates of it
    assert sorted(archived) == sorted({hashlib.sha256(d).hexdigest() for d in good.values()})
    assert len(documents) == len(good)
    # the same bytes under two names: whichever came first is archived, the other is a duplicate
    by_content = {}
    for name, data in [*good.items(), *copies.items()]:
        by_content.setdefault(hashlib.sha256(data).hexdigest(), []).append(name)
    for sha256, names in by_content.items():
        assert sorted(states[n] for n in names) == ["done"] + ["duplicate"] * (len(names) - 1), names
        for name in names:
            assert jobs_for(home, name)[0]["document_id"] == archived[sha256]
            if states[name] == "duplicate":
                assert (home / "duplicate" / name).is_file() and (home / "duplicate" / f"{name}.note.txt").is_file()
    for name in bad:
        assert states[name] == "failed", name
        assert (home / "failed" / name).is_file() and (home / "failed" / f"{name}.reason.txt").is_file()
    # nothing left in the inbox, nothing half-written anywhere
    assert inbox_files(home) == []
    assert not [p for p in (home / "tmp" / "watch").rglob("*") if p.is_file() and p.name != "index-writer.lock"]
    archive_dirs = [p for p in (home / "archive").glob("*/*/*") if p.is_dir()]
    assert sorted(p.name for p in archive_dirs) == sorted(archived)
    with open_index(home / "index") as index:
        assert index.doc_ids() == {d["id"] for d in documents}
    kept = [p for p in (home / "done").rglob("*") if p.is_file()]  # van-ban-den and van-ban-di keep theirs
    assert sorted(p.relative_to(home / "done").as_posix() for p in kept) == sorted(
        n for n, state in states.items() if state == "done" and not n.startswith("luu-tru/"))


def test_workers_killed_mid_document_are_replaced_and_the_document_done(tmp_path):
    home = make_home(tmp_path / "sohoa-data")
    name = "luu-tru/hồ-sơ.pdf"
    big_pdf(home / "inbox" / name, pages=4)
    pauses = tmp_path / "pauses"
    with Service(home, env=pause_at(pauses, "page-read")) as service:
        # an OCR process holds its first page read: the document is surely mid-way
        reader = wait_paused(pauses, "page-read")
        workers = [pid for pid in service.processes() if parent_of(pid) == service.process.pid]
        assert reader in workers
        assert len(workers) >= 3  # OCR processes and document workers
        for pid in workers:  # as the kernel's out-of-memory killer would
            os.kill(pid, signal.SIGKILL)
        (job,) = wait_settled(home, 1)
        assert service.process.poll() is None
    assert job["state"] == "done" and job["page_count"] == 4 and job["attempts"] == 2
    assert "event=worker-restarted" in service.log()


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


def test_sigterm_rolls_back_what_cannot_finish_in_time_and_the_next_start_does_it(tmp_path):
    home = make_home(tmp_path / "sohoa-data", stop_grace_seconds=0.5)
    name = "luu-tru/hồ-sơ-dài.pdf"
    big_pdf(home / "inbox" / name, pages=3)
    pauses = tmp_path / "pauses"
    # held after its pages are read: it cannot finish within the grace, whatever the speed
    service = Service(home, env=pause_at(pauses, "text-recognised")).start()
    wait_paused(pauses, "text-recognised")
    assert service.stop(signal.SIGTERM, timeout=60) == 0
    (job,) = jobs_for(home, name)
    assert job["state"] == "received"  # rolled back, waiting for the next start
    assert query(home, "SELECT count(*) AS n FROM documents")[0]["n"] == 0
    assert not [p for p in (home / "archive").rglob("*") if p.is_file()]
    assert not [p for p in (home / "tmp" / "watch").glob("worker-*/*")]  # staging removed
    assert (home / "inbox" / name).is_file()
    status = json.loads(run_sohoa(home, "status", "--json").stdout)
    assert not status["running"] and status["queued"] == 1 and status["oldest_waiting"]["file"] == name
    assert "Tệp chờ lâu nhất: " + name in run_sohoa(home, "status").stdout
    with Service(home):
        (job,) = wait_settled(home, 1)
    assert job["state"] == "done" and job["page_count"] == 3 and job["id"] == status["oldest_waiting"]["job"]


def test_ctrl_c_lets_the_document_in_hand_finish(tmp_path):
    home = make_home(tmp_path / "sohoa-data", stop_grace_seconds=120)
    name = "van-ban-den/công-văn-4-trang.pdf"
    big_pdf(home / "inbox" / name, pages=4)
    service = Service(home).start()
    wait_for(lambda: any(j["state"] == "processing" for j in jobs_for(home, name)), 60, "the document in progress")
    assert service.stop(signal.SIGINT, timeout=120) == 0
    (job,) = jobs_for(home, name)
    assert job["state"] == "done" and job["source_cleared"]
    log = service.log()
    assert log.index("event=stopping busy=1") < log.index(f"event=done job={job['id']}")
    assert "Đang dừng" in service.output() and "Đã dừng" in service.output()


def full_disk_lines(log: str) -> int:
    return sum(1 for line in log.splitlines() if "No space left" in line or "đĩa đầy" in line)


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MB file system of its own (tmpfs), so that it can be filled up."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    with tmpfs_mounted(mount_point, "64m"):
        yield mount_point


def test_a_full_disk_is_waited_out_not_failed(small_disk):
    home = make_home(small_disk / "sohoa-data", max_attempts=50)
    scan = tiny_scan(home / "inbox" / "van-ban-den" / ".đang-chép.jpg", variant=50)  # hidden: not taken yet
    with Service(home) as service:
        free = os.statvfs(home).f_bavail * os.statvfs(home).f_frsize
        filler = home / "đầy-đĩa.bin"
        with open(filler, "wb") as handle:
            os.posix_fallocate(handle.fileno(), 0, free - 16 * 1024)  # room for less than the scan
        os.rename(scan, home / "inbox" / "van-ban-den" / "công-văn.jpg")
        # met the full disk, and went back to it twice more: waiting, not giving up
        wait_for(lambda: full_disk_lines(service.log()) >= 3, 60, "the service to meet the full disk three times")
        assert service.process.poll() is None  # still running
        assert not [j for j in jobs(home) if j["state"] in ("failed", "done")]
        filler.unlink()  # the technician frees some space
        (job,) = wait_settled(home, 1)
    assert job["state"] == "done" and job["source_path"] == "van-ban-den/công-văn.jpg"
