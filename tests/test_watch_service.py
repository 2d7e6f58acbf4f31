"""`sohoa watch` on real folders: one real service for the module, files dropped the ways
clerks and scanners drop them."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

import pytest

from index import open_index
from ocr.cpus import available_cpus
from tests.conftest import run_sohoa
from tests.test_watch_support import (
    Service, big_pdf, jobs, jobs_for, jpeg_bytes, make_home, query, tiny_scan, wait_for, wait_settled,
)

ENGLISH_PROFILE = """
[profiles.tieng-anh]
title = "Tài liệu tiếng Anh"
ocr_language = "eng"
sign = false
after_done = "delete"
[profiles.tieng-anh.metadata]
register = "Hồ sơ dự án ODA"
"""

PRESENT_AT_START = "van-ban-den/phòng-hành-chính/công-văn-có-sẵn.jpg"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = make_home(tmp_path_factory.mktemp("watch") / "sohoa-data", extra_config=ENGLISH_PROFILE,
                     documents_in_flight=0)  # the default: OCR processes + 2
    tiny_scan(home / "inbox" / PRESENT_AT_START, variant=1)
    return home


@pytest.fixture(scope="module")
def service(home):
    with Service(home) as running:
        yield running


def ended(home, path: str, timeout: float = 90) -> dict:
    """The one job for path, once it has ended and its file has left the inbox."""
    def check():
        found = jobs_for(home, path)
        if found and found[-1]["state"] in ("done", "failed", "duplicate") and found[-1]["source_cleared"]:
            return found
        return None
    found = wait_for(check, timeout, f"the job of {path}")
    assert len(found) == 1, found
    return found[0]


def waiting_incomplete(service, name: str) -> bool:
    """The service has looked at the file, found it steady but not whole, and waits."""
    return any("event=waiting-incomplete" in line and name in line for line in service.log().splitlines())


def marker_taken(home, path: str, variant: int) -> None:
    """A scan dropped after what a test expects to be left alone, and its job ended: what
    came before it was seen (events and walks go through the same filter, desk.py)."""
    tiny_scan(home / "inbox" / path, variant=variant)
    assert_done(ended(home, path))


def assert_done(job: dict) -> None:
    assert job["state"] == "done", f"{job['source_path']}: {job['state']}, {job['error_code']}: {job['reason']}"


def document(home, document_id: int) -> dict:
    (row,) = query(home, "SELECT * FROM documents WHERE id = ?", (document_id,))
    row["metadata"] = json.loads(row["metadata_json"])
    return row


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_file_present_at_start_is_archived_with_its_profile(service, home):
    job = ended(home, PRESENT_AT_START)
    assert job["state"] == "done" and job["profile"] == "van-ban-den"
    doc = document(home, job["document_id"])
    assert doc["original_sha256"] == job["sha256"]
    assert doc["original_name"] == "công-văn-có-sẵn.jpg"
    meta = doc["metadata"]
    assert meta["profile"] == "van-ban-den" and meta["register"] == "Sổ văn bản đến" and meta["reliability"] == "02"
    assert meta["intake"]["job"] == job["id"] and meta["intake"]["path"] == PRESENT_AT_START
    # van-ban-den keeps its files: moved to done/, subfolder and all
    kept = home / "done" / PRESENT_AT_START
    assert sha256(kept.read_bytes()) == job["sha256"]
    assert not (home / "inbox" / PRESENT_AT_START).exists()


def test_each_profile_reads_in_its_own_language_and_deletes_or_keeps(service, home):
    path = "tieng-anh/project-report.jpg"
    tiny_scan(home / "inbox" / path, variant=2)
    job = ended(home, path)
    assert job["state"] == "done"
    (ocr,) = query(home, "SELECT detail FROM events WHERE document_id = ? AND step = 'ocr'", (job["document_id"],))
    assert "-l eng" in json.loads(ocr["detail"])["engine"]
    assert document(home, job["document_id"])["metadata"]["register"] == "Hồ sơ dự án ODA"
    assert not (home / "inbox" / path).exists() and not (home / "done" / path).exists()  # after_done = delete


def test_a_slowly_written_file_is_taken_once_whole(service, home):
    path = "van-ban-den/máy-quét-chậm.jpg"
    data = jpeg_bytes(variant=3)
    target = home / "inbox" / path
    chunks = [data[i:i + len(data) // 12 + 1] for i in range(0, len(data), len(data) // 12 + 1)]
    with open(target, "wb") as handle:
        for number, chunk in enumerate(chunks):
            handle.write(chunk)
            handle.flush()
            if number == len(chunks) // 2:
                # a scanner pausing longer than the quiet period halfway: the service finds
                # the file steady but not yet a whole JPEG, and waits instead of taking it
                wait_for(lambda: waiting_incomplete(service, "máy-quét-chậm.jpg"), 30, "the half file to be looked at")
            else:
                time.sleep(0.25)  # the scanner's pace, shorter than the quiet period
            assert not jobs_for(home, path), "taken while still being written"
    job = ended(home, path)
    assert job["state"] == "done" and job["sha256"] == sha256(data) and job["source_size"] == len(data)


def test_files_renamed_into_the_inbox_are_taken_and_temporary_names_are_not(service, home):
    # written under a hidden name inside the inbox, then renamed: the usual scanner and rsync way
    hidden = home / "inbox" / "luu-tru" / ".đang-quét.jpg"
    tiny_scan(hidden, variant=4)
    # prepared elsewhere on the same disk and moved in
    outside = home.parent / "ngoài" / "chuyển-vào.jpg"
    tiny_scan(outside, variant=5)
    marker_taken(home, "luu-tru/mốc-đổi-tên.jpg", variant=50)
    assert not [j for j in jobs(home) if "đang-quét" in j["source_path"]]
    os.rename(hidden, home / "inbox" / "luu-tru" / "quét-xong.jpg")
    os.rename(outside, home / "inbox" / "van-ban-di" / "chuyển-vào.jpg")
    assert_done(ended(home, "luu-tru/quét-xong.jpg"))
    assert_done(ended(home, "van-ban-di/chuyển-vào.jpg"))


def test_a_folder_of_files_moved_in_is_taken_whole(service, home):
    folder = home.parent / "lô-3"
    tiny_scan(folder / "a.jpg", variant=6)
    tiny_scan(folder / "b.jpg", variant=7)
    tiny_scan(folder / "hộp 2" / "c.jpg", variant=8)
    os.rename(folder, home / "inbox" / "luu-tru" / "lô-3")
    for name in ("a.jpg", "b.jpg", "hộp 2/c.jpg"):
        assert_done(ended(home, f"luu-tru/lô-3/{name}"))
    assert not [p for p in (home / "inbox" / "luu-tru" / "lô-3").rglob("*") if p.is_file()]


def test_the_same_scan_dropped_twice_is_archived_once(service, home):
    data = jpeg_bytes(variant=9)
    (home / "inbox" / "van-ban-di" / "tờ-trình.jpg").write_bytes(data)
    first = ended(home, "van-ban-di/tờ-trình.jpg")
    assert first["state"] == "done"
    (home / "inbox" / "van-ban-den" / "bản-sao.jpg").write_bytes(data)
    second = ended(home, "van-ban-den/bản-sao.jpg")
    assert second["state"] == "duplicate" and second["document_id"] == first["document_id"]
    moved = home / "duplicate" / "van-ban-den" / "bản-sao.jpg"
    assert moved.read_bytes() == data
    note = (moved.parent / "bản-sao.jpg.note.txt").read_text(encoding="utf-8")
    assert f"mã {first['document_id']}" in note and "tờ-trình.jpg" in note and "đã có trong kho" in note
    assert query(home, "SELECT count(*) AS n FROM documents WHERE original_sha256 = ?", (first["sha256"],))[0]["n"] == 1


def test_two_copies_dropped_at_once_give_one_record_and_one_duplicate(service, home):
    data = jpeg_bytes(variant=10)
    for name in ("cùng-lúc-1.jpg", "cùng-lúc-2.jpg"):
        (home / "inbox" / "van-ban-den" / name).write_bytes(data)
    states = sorted(ended(home, f"van-ban-den/{name}")["state"] for name in ("cùng-lúc-1.jpg", "cùng-lúc-2.jpg"))
    assert states == ["done", "duplicate"]


def test_a_file_deleted_before_it_is_steady_is_forgotten(service, home):
    path = home / "inbox" / "van-ban-den" / "sẽ-xóa.jpg"
    path.write_bytes(jpeg_bytes(variant=11)[:5000])  # half written: not whole, not taken
    # seen, steady, not whole; not yet given up on (incomplete_seconds)
    wait_for(lambda: waiting_incomplete(service, "sẽ-xóa.jpg"), 30, "the half file to be looked at")
    path.unlink()
    wait_for(lambda: 'event=forgotten file=van-ban-den/sẽ-xóa.jpg' in service.log(), 20, "the file to be forgotten")
    marker_taken(home, "van-ban-den/mốc-sau-xóa.jpg", variant=51)
    assert not jobs_for(home, "van-ban-den/sẽ-xóa.jpg")
    assert not list(home.glob("*/van-ban-den/sẽ-xóa.jpg*"))


def test_hidden_and_temporary_files_are_left_alone(service, home):
    folder = home / "inbox" / "van-ban-den"
    litter = [".ẩn.jpg", "~scan0001.jpg", "scan0002.jpg.part", "Thumbs.db", "scan0003.pdf.tmp"]
    for name in litter:
        (folder / name).write_bytes(jpeg_bytes(variant=12))
    tiny_scan(folder / "thật.jpg", variant=13)
    assert_done(ended(home, "van-ban-den/thật.jpg"))  # written after the litter: the litter was seen
    assert all((folder / name).exists() for name in litter)
    assert not [j for j in jobs(home) if any(name in j["source_path"] for name in litter)]


def test_a_big_document_does_not_hold_back_small_files(service, home):
    big = big_pdf(home.parent / "dày.pdf", pages=40)
    os.rename(big, home / "inbox" / "luu-tru" / "hồ-sơ-dày.pdf")
    wait_for(lambda: any(j["state"] == "processing" for j in jobs_for(home, "luu-tru/hồ-sơ-dày.pdf")), 60,
             "the big document to be in progress")
    for number in (1, 2):
        tiny_scan(home / "inbox" / "van-ban-den" / f"giấy-mời-{number}.jpg", variant=20 + number)
    # its pages are being read now: one single-threaded Tesseract per usable CPU, no more
    # (each OCR process holds Tesseract's library, kept loaded)
    wait_for(lambda: tesseracts_over(service, seconds=0.1), 60, "Tesseract to be reading its pages")
    seen = tesseracts_over(service, seconds=1.5)
    assert seen and max(len(at_once) for at_once in seen) <= available_cpus()
    assert all(t["OMP_THREAD_LIMIT"] == "1" for at_once in seen for t in at_once)
    # each works on one thread: over the sampling, its other threads (idle library pools)
    # did next to nothing while one thread read pages
    first = {t["pid"]: t["threads"] for t in seen[0]}
    for last in seen[-1]:
        if last["pid"] in first:
            work = sorted(ticks - first[last["pid"]].get(task, 0) for task, ticks in last["threads"].items())
            assert work[-1] > 0 and sum(work[:-1]) <= max(3, work[-1] // 10), work
    big_job = ended(home, "luu-tru/hồ-sơ-dày.pdf", timeout=180)
    small = [ended(home, f"van-ban-den/giấy-mời-{n}.jpg") for n in (1, 2)]
    assert big_job["state"] == "done" and big_job["page_count"] == 40
    for job in small:
        assert_done(job)
    # both small files were finished while the big one was still being read
    assert max(s["finished_at"] for s in small) < big_job["finished_at"], (small, big_job)


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _cpu_ticks(stat: Path) -> int:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def tesseracts_over(service, seconds: float) -> list[list[dict]]:
    """The service's processes with Tesseract loaded (its OCR processes hold the library),
    sampled every 0.05 s: [[{pid, threads, OMP_THREAD_LIMIT}]]."""
    samples, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        at_once = []
        for pid in service.processes():
            try:
                # The service's own OCR processes only: a pdftoppm an OCR process starts shows
                # its parent's maps, libtesseract included, until it has exec'd.
                if _parent(pid) != service.process.pid:
                    continue
                if "libtesseract" not in Path(f"/proc/{pid}/maps").read_text():
                    continue
                environ = dict(item.split(b"=", 1) for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                               if b"=" in item)
                threads = {task: _cpu_ticks(Path(f"/proc/{pid}/task/{task}/stat"))
                           for task in os.listdir(f"/proc/{pid}/task")}
            except OSError:
                continue  # ended meanwhile
            at_once.append({"pid": pid, "threads": threads,
                            "OMP_THREAD_LIMIT": environ.get(b"OMP_THREAD_LIMIT", b"").decode()})
        if at_once:
            samples.append(at_once)
        time.sleep(0.05)
    return samples


def test_a_locked_index_is_waited_for_not_failed(service, home):
    path = "van-ban-den/chờ-chỉ-mục.jpg"
    index = open_index(home / "index")
    try:
        index.lock_writes()  # another process holds the index's one writer
        tiny_scan(home / "inbox" / path, variant=30)
        job = ended(home, path)  # archived while the writer is held: not retried, not failed
        assert job["state"] == "done" and job["attempts"] == 1
        steps = [row["step"] for row in query(home, "SELECT step FROM events WHERE document_id = ?",
                                              (job["document_id"],))]
        assert steps.count("ocr") == 1 and "indexed" not in steps  # waiting for the index
    finally:
        index.close()
    # The service's drainer indexes it within seconds of the writer's release.
    wait_for(lambda: job["document_id"] in open_index(home / "index").doc_ids(), 30, "the waiting entry indexed")
    steps = [row["step"] for row in query(home, "SELECT step FROM events WHERE document_id = ?", (job["document_id"],))]
    assert steps.count("ocr") == 1 and steps.count("indexed") == 1
    assert query(home, "SELECT count(*) AS n FROM documents WHERE original_sha256 = ?", (job["sha256"],))[0]["n"] == 1


def test_status_shows_counts_speed_and_the_service(service, home):
    wait_settled(home, len(jobs(home)))
    counts = {state: sum(1 for j in jobs(home) if j["state"] == state) for state in ("done", "duplicate", "failed")}
    done = run_sohoa(home, "status", "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["running"] and status["pid"] == service.process.pid
    assert (status["done"], status["duplicate"], status["failed"]) == (counts["done"], counts["duplicate"], counts["failed"])
    assert status["queued"] == 0 and status["in_progress"] == 0 and status["oldest_waiting"] is None
    assert status["pages_last_hour"] == sum(j["page_count"] or 0 for j in jobs(home) if j["state"] == "done")
    assert status["pages_per_minute"] > 0
    text = run_sohoa(home, "status").stdout
    assert "đang chạy" in text and f"Đã lưu:       {counts['done']}" in text and "trang/phút" in text


def test_every_log_line_of_an_event_names_its_job_and_file(service, home):
    lines = [line for line in service.log().splitlines() if "sohoa.watch: event=" in line]
    per_job = [line for line in lines if any(f"event={e} " in line for e in ("received", "processing", "done", "cleared"))]
    assert per_job and all(" job=" in line and " file=" in line for line in per_job)


def test_a_second_service_on_the_same_home_is_refused(service, home):
    second = run_sohoa(home, "watch")
    assert second.returncode == 1
    assert "đang chạy" in second.stderr and str(service.process.pid) in second.stderr
