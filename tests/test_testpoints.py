"""The test-only pause points (core/testpoints.py) the crash tests stop the product at: a
real process holds at the named step, is killed there, and what it leaves is what a crash
at that step leaves; a step not named costs nothing and stops nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from core.testpoints import pause_point
from tests.conftest import SOHOA, json_lines, run_sohoa
from tests.test_watch_support import pause_at, query, tiny_scan, wait_for, wait_paused

HOLD = "from core.testpoints import pause_point; pause_point('step'); print('went on')"


def test_a_step_not_named_does_not_pause(monkeypatch, tmp_path):
    monkeypatch.delenv("SOHOA_TEST_PAUSE_AT", raising=False)
    pause_point("received")
    monkeypatch.setenv("SOHOA_TEST_PAUSE_AT", "before-commit,page-read")
    monkeypatch.setenv("SOHOA_TEST_PAUSE_DIR", str(tmp_path))
    pause_point("received")
    assert list(tmp_path.iterdir()) == []


def _held(folder: Path) -> subprocess.Popen:
    env = {**os.environ, **pause_at(folder, "step"), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE, text=True, env=env)


def test_the_first_process_holds_until_let_go_and_the_step_pauses_once(tmp_path):
    folder = tmp_path / "pauses"
    first = _held(folder)
    try:
        assert wait_paused(folder, "step", process=first) == first.pid
        second = _held(folder)  # the same step again: already paused once, it goes on
        assert second.communicate(timeout=60)[0] == "went on\n" and second.returncode == 0
        assert first.poll() is None  # still held
        (folder / "step.reached").unlink()
        assert first.communicate(timeout=60)[0] == "went on\n" and first.returncode == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


def test_an_ingest_killed_before_its_commit_leaves_no_record_and_the_next_run_archives_it(tmp_path):
    home = tmp_path / "sohoa-data"
    assert run_sohoa(home, "init").returncode == 0
    scan = tiny_scan(tmp_path / "công-văn.jpg")
    folder = tmp_path / "pauses"
    env = {k: v for k, v in os.environ.items() if k != "SOHOA_HOME"}
    process = subprocess.Popen([str(SOHOA), "--home", str(home), "ingest", str(scan)], env={**env, **pause_at(
        folder, "before-commit")}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert wait_paused(folder, "before-commit", process=process) == process.pid
        # held inside its transaction: the record's folder written, the catalog without it
        assert [p for p in (home / "archive").rglob("*") if p.is_file()]
        os.killpg(process.pid, signal.SIGKILL)  # a power cut at that very point
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert query(home, "SELECT count(*) AS n FROM documents")[0]["n"] == 0
    done = run_sohoa(home, "ingest", "--json", str(scan), env=pause_at(folder, "before-commit"))  # paused once
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    assert result["status"] == "archived"  # not "duplicate": the killed run left no record
    assert query(home, "SELECT count(*) AS n FROM documents")[0]["n"] == 1
    checked = run_sohoa(home, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_watch_worker_holds_at_its_step_and_dies_there(tmp_path):
    from tests.test_watch_support import Service, make_home, wait_settled

    home = make_home(tmp_path / "sohoa-data")
    tiny_scan(home / "inbox" / "van-ban-den" / "giấy-mời.jpg")
    folder = tmp_path / "pauses"
    with Service(home, env=pause_at(folder, "page-read")) as service:
        reader = wait_paused(folder, "page-read")
        assert reader in service.processes() and reader != service.process.pid  # an OCR process
        os.kill(reader, signal.SIGKILL)
        wait_for(lambda: "event=worker-restarted" in service.log() and "kind=ocr" in service.log(), 60,
                 "the service to replace the killed OCR process")
        (job,) = wait_settled(home, 1)
    assert job["state"] == "done"
