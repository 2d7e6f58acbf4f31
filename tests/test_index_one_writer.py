"""A scan never fails because the index is busy (issue 13, point 5): one index writer at a
time, taken for a moment and let go; `sohoa ingest` and `sohoa watch` on one home; a process
killed -9 while it holds the writer loses nothing. Real processes, real files, real scans."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from index import open_index
from tests.conftest import SOHOA, run_sohoa
from tests.test_watch_support import Service, make_home, query, tiny_scan, wait_for, wait_settled

# A writer that takes the index writer, says so, and on "go" starts a drain of the waiting
# documents that never ends (its index write hangs): a process at work, to be killed -9.
HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from index import open_index
    from pipeline import index_queue
    from core.catalog import Catalog

    home, signals = Path(sys.argv[1]), Path(sys.argv[2])
    index = open_index(home / "index", "tantivy")

    def hangs(docs):
        (signals / "writing").write_text(" ".join(str(d.doc_id) for d in docs))
        time.sleep(3600)

    index.add_many = hangs
    with Catalog(home / "catalog.sqlite") as catalog, index.writing(0):
        (signals / "holding").touch()
        while not (signals / "go").exists():
            time.sleep(0.05)
        index_queue.drain_holding(catalog, index)
""")


PENDING = "(đã lưu; chỉ mục đang chờ, chưa tìm được)"


def start_holder(home: Path, signals: Path) -> subprocess.Popen:
    signals.mkdir(exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(home), str(signals)])
    wait_for(lambda: (signals / "holding").exists() or holder.poll() is not None, 60, "the holder to take the writer")
    assert holder.poll() is None, "the holder could not take the index writer"
    return holder


def kill9_mid_write(holder: subprocess.Popen, signals: Path) -> list[int]:
    """Let the holder start writing the waiting entries, then kill it -9 in the middle."""
    (signals / "go").touch()
    wait_for(lambda: (signals / "writing").exists(), 30, "the holder to be writing")
    writing = [int(n) for n in (signals / "writing").read_text().split()]
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    return writing


def steps_of(home: Path, document_id: int) -> list[str]:
    return [row["step"] for row in query(home, "SELECT step FROM events WHERE document_id = ? ORDER BY id",
                                         (document_id,))]


def indexed_ids(home: Path) -> set[int]:
    with open_index(home / "index") as index:
        return index.doc_ids()


def catalog_ids(home: Path) -> set[int]:
    return {row["id"] for row in query(home, "SELECT id FROM documents")}


def assert_each_done_once(home: Path, signed: bool) -> None:
    """Every document: OCR'd once, signed once, indexed once, and found by search."""
    ids = catalog_ids(home)
    for document_id in ids:
        steps = steps_of(home, document_id)
        assert steps.count("ocr") == 1, (document_id, steps)
        assert steps.count("signed") == 1, (document_id, steps)
        assert steps.count("indexed") == 1, (document_id, steps)
    assert indexed_ids(home) == ids
    if signed:
        signatures = query(home, "SELECT document_id, outcome FROM events WHERE step = 'signed'")
        assert {row["outcome"] for row in signatures} == {"ok"}
    check = run_sohoa(home, "check", "--json")
    assert check.returncode == 0, check.stdout + check.stderr
    searched = run_sohoa(home, "search", "--json", "--limit", "50", "giấy mời")
    assert searched.returncode == 0, searched.stderr
    assert {hit["id"] for hit in json.loads(searched.stdout)["results"]} == ids


def test_ingest_and_watch_on_one_home_archive_everything_once(tmp_path):
    home = make_home(tmp_path / "sohoa-data", signing=True)  # signed, as the failure was
    scans = [tiny_scan(tmp_path / "scans" / f"giấy-mời-{n}.jpg", variant=n) for n in range(40, 44)]
    with Service(home) as service:
        ingest = subprocess.Popen([str(SOHOA), "--home", str(home), "ingest", *map(str, scans)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env={k: v for k, v in os.environ.items() if k != "SOHOA_HOME"})
        for n in range(50, 54):  # dropped while ingest runs: both write the index at once
            tiny_scan(home / "inbox" / "van-ban-di" / f"giấy-mời-{n}.jpg", variant=n)
        out, err = ingest.communicate(timeout=300)
        assert ingest.returncode == 0, out + err
        assert out.count("✓") >= 4 and "lỗi" not in err
        settled = wait_settled(home, 4, timeout=240)
        assert [job["state"] for job in settled] == ["done"] * 4
        assert [job["attempts"] for job in settled] == [1] * 4  # nothing tried twice
        wait_for(lambda: indexed_ids(home) == catalog_ids(home), 30, "every document in the index")
        assert "event=retry" not in service.log()
    assert len(catalog_ids(home)) == 8
    assert not [p for p in (home / "failed").rglob("*") if p.is_file()]
    assert_each_done_once(home, signed=True)


def test_ingest_beside_a_writer_killed_mid_write_loses_nothing(tmp_path):
    home = make_home(tmp_path / "sohoa-data")
    signals = tmp_path / "signals"
    scans = [tiny_scan(tmp_path / "scans" / f"giấy-mời-{n}.jpg", variant=n) for n in (60, 61)]
    holder = start_holder(home, signals)
    try:
        console = tmp_path / "ingest.out"
        with open(console, "w") as out:
            ingest = subprocess.Popen([str(SOHOA), "--home", str(home), "ingest", *map(str, scans)],
                                      stdout=out, stderr=subprocess.STDOUT, text=True,
                                      env={**{k: v for k, v in os.environ.items() if k != "SOHOA_HOME"},
                                           "PYTHONUNBUFFERED": "1"})
        # Both archived (said line by line) while the writer is held; ingest then waits for the index.
        wait_for(lambda: console.read_text().count(PENDING) == 2 or ingest.poll() is not None, 120,
                 "both scans archived")
        assert ingest.poll() is None, console.read_text()
        assert indexed_ids(home) == set()
        writing = kill9_mid_write(holder, signals)
        assert sorted(writing) == sorted(catalog_ids(home))  # the killed writer had them in hand
    finally:
        if holder.poll() is None:
            holder.kill()
    assert ingest.wait(timeout=120) == 0, console.read_text()
    out = console.read_text()
    assert out.count(PENDING) == 2, out
    ids = sorted(catalog_ids(home))
    assert f"✓ đã vào chỉ mục tìm kiếm: mã {', '.join(map(str, ids))}" in out, out
    assert_each_done_once(home, signed=False)


def test_a_watched_scan_waits_for_a_busy_index_and_survives_its_writer_killed(tmp_path):
    home = make_home(tmp_path / "sohoa-data", signing=True)
    signals = tmp_path / "signals"
    with Service(home) as service:
        holder = start_holder(home, signals)
        try:
            tiny_scan(home / "inbox" / "van-ban-di" / "giấy-mời-70.jpg", variant=70)
            (job,) = wait_settled(home, 1, timeout=120)
            # Archived and signed once, its file gone from the inbox, while the writer is held.
            assert job["state"] == "done" and job["attempts"] == 1
            assert "indexed" not in steps_of(home, job["document_id"])
            # The console says it honestly: archived, not searchable yet.
            assert f"→ mã {job['document_id']}, 1 trang {PENDING}" in service.output(), service.output()
            status = run_sohoa(home, "check", "--json")
            assert status.returncode == 0, status.stdout  # waiting is pending, not a mismatch
            assert json.loads(status.stdout)["waiting_for_index"] == [job["document_id"]]
            assert kill9_mid_write(holder, signals) == [job["document_id"]]
        finally:
            if holder.poll() is None:
                holder.kill()
        # The service's drainer is the next writer: it indexes what the killed one had in hand.
        wait_for(lambda: job["document_id"] in indexed_ids(home), 30, "the entry indexed by the service")
        assert "event=retry" not in service.log() and "event=failed" not in service.log()
    assert_each_done_once(home, signed=True)


@pytest.mark.parametrize("engine", ["tantivy", "whoosh"])
def test_the_writer_is_let_go_after_each_write_and_held_only_in_a_writing_block(tmp_path, engine):
    from index import IndexBusy, IndexedDocument, ManagedIndex

    first = ManagedIndex(tmp_path, engine, write_wait_seconds=0)
    second = ManagedIndex(tmp_path, engine, write_wait_seconds=0)  # another process, as far as locks go
    try:
        first.add(IndexedDocument(1, "công văn một"))
        second.add(IndexedDocument(2, "công văn hai"))  # at once: the first kept neither lock nor engine writer
        first.add(IndexedDocument(3, "công văn ba"))
        with first.writing():
            with pytest.raises(IndexBusy):
                second.add(IndexedDocument(4, "công văn bốn"))
            first.add(IndexedDocument(5, "công văn năm"))  # inside the block: already held
        second.add(IndexedDocument(4, "công văn bốn"))
        assert first.doc_ids() == second.doc_ids() == {1, 2, 3, 4, 5}
    finally:
        first.close()
        second.close()
