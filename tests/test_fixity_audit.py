"""Fixity of every archived file (`sohoa verify`), and `sohoa audit` (issue 13, points 1, 2):
real documents ingested through the CLI, files tampered with on disk."""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import pytest

from pipeline.audit import AuditSchedule, AuditSettings, scheduled_sample
from core.home import Home
from tests.conftest import json_lines, run_sohoa
from tests.test_watch_support import Service, make_home, tiny_scan, wait_for


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, list[dict]]:
    """A home with two tiny documents, made once; each test works on its own copy."""
    home = make_home(tmp_path_factory.mktemp("fixity") / "home")
    scans = [tiny_scan(home.parent / f"scan-{n}.jpg", variant=n) for n in (0, 1)]
    done = run_sohoa(home, "ingest", "--json", *map(str, scans))
    assert done.returncode == 0, done.stderr
    return home, json_lines(done.stdout)


@pytest.fixture
def archive(pristine, tmp_path) -> tuple[Path, list[dict]]:
    home, documents = pristine
    copy = tmp_path / "home"
    shutil.copytree(home, copy, symlinks=True)
    return copy, documents


def record_dir(home: Path, document: dict) -> Path:
    sha = document["original_sha256"]
    return home / "archive" / sha[:2] / sha[2:4] / sha


def next_second() -> None:
    """The audit reports are named by the second: the next one in a second of its own."""
    now = int(time.time())
    wait_for(lambda: int(time.time()) > now, 5, "the next second", interval=0.01)


def lines_about(stdout: str, document_id: int) -> list[str]:
    return [line for line in stdout.splitlines() if f"[mã {document_id}]" in line]


def test_untouched_archive_verifies(archive):
    home, documents = archive
    done = run_sohoa(home, "verify", "--all")
    assert done.returncode == 0, done.stdout + done.stderr
    for document in documents:
        assert lines_about(done.stdout, document["id"])[0].startswith("✓")


def test_verify_names_every_changed_missing_and_extra_file_in_one_line(archive):
    home, (first, second) = archive
    folder = record_dir(home, first)
    original = next(folder.glob("original.*"))
    original.write_bytes(b"garbage" * 100)
    (folder / "document.pdf").unlink()
    sidecar = folder / "metadata.json"
    sidecar.write_text(sidecar.read_text(encoding="utf-8").replace('"id"', '"id" ', 1), encoding="utf-8")
    (folder / "x.txt").write_text("lạ", encoding="utf-8")
    done = run_sohoa(home, "verify", "--all")
    assert done.returncode == 1
    [line] = lines_about(done.stdout, first["id"])
    assert line.startswith("✗")
    assert f"bản gốc {original.name} đã bị thay đổi (SHA-256 khác)" in line
    assert "thiếu tệp document.pdf" in line
    assert "tệp mô tả metadata.json đã bị thay đổi (SHA-256 khác)" in line
    assert "có tệp lạ x.txt" in line
    [other] = lines_about(done.stdout, second["id"])
    assert other.startswith("✓"), other


def test_a_changed_sidecar_alone_fails_verify(archive):
    home, (first, _) = archive
    sidecar = record_dir(home, first) / "metadata.json"
    sidecar.write_bytes(sidecar.read_bytes() + b" ")
    done = run_sohoa(home, "verify", str(first["id"]))
    assert done.returncode == 1
    assert "tệp mô tả metadata.json đã bị thay đổi" in done.stdout


def test_set_keeps_fixity_true(archive):
    home, (first, _) = archive
    before = (record_dir(home, first) / "metadata.json").read_bytes()
    done = run_sohoa(home, "set", str(first["id"]), "number=15/QĐ-SNV")
    assert done.returncode == 0, done.stderr
    assert (record_dir(home, first) / "metadata.json").read_bytes() != before  # the sidecar was rewritten
    done = run_sohoa(home, "verify", "--all")
    assert done.returncode == 0, done.stdout + done.stderr
    audited = run_sohoa(home, "audit")
    assert audited.returncode == 0, audited.stdout + audited.stderr


def fixity_events(home: Path, document_id: int) -> list[dict]:
    shown = run_sohoa(home, "show", str(document_id), "--json")
    assert shown.returncode == 0, shown.stderr
    return [e for e in json.loads(shown.stdout)["events"] if e["step"] == "fixity check"]


def test_audit_reports_records_events_and_fails_after_tampering(archive, tmp_path):
    home, (first, second) = archive
    out = tmp_path / "báo-cáo"
    done = run_sohoa(home, "audit", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    for document in (first, second):
        [event] = fixity_events(home, document["id"])
        assert event["outcome"] == "pass"
        assert event["detail"]["agent"].startswith("sohoa ")
        assert event["detail"]["event_type"] == "fixity check"
    csv_files = sorted((home / "reports").glob("audit-*.csv"))
    json_files = sorted((home / "reports").glob("audit-*.json"))
    assert len(csv_files) == len(json_files) == 1
    assert sorted(p.name for p in out.iterdir()) == sorted([csv_files[0].name, json_files[0].name])
    raw = csv_files[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0][:3] == ["Mã tài liệu", "Tên tệp gốc", "Kết quả"]
    assert {row[2] for row in rows[1:]} == {"đạt"} and len(rows) == 3
    report = json.loads(json_files[0].read_text(encoding="utf-8"))
    assert report["summary"]["checked"] == 2 and report["summary"]["failed"] == 0

    original = next(record_dir(home, second).glob("original.*"))
    original.write_bytes(original.read_bytes()[:-10] + b"0123456789")
    next_second()
    done = run_sohoa(home, "audit", "--json")
    assert done.returncode == 1
    results = json_lines(done.stdout)
    failed = [r for r in results if "id" in r and not r["ok"]]
    assert [r["id"] for r in failed] == [second["id"]]
    assert f"bản gốc {original.name} đã bị thay đổi (SHA-256 khác)" in failed[0]["problems"]
    assert [e["outcome"] for e in fixity_events(home, second["id"])] == ["pass", "fail"]
    assert [e["outcome"] for e in fixity_events(home, first["id"])] == ["pass", "pass"]
    newest = sorted((home / "reports").glob("audit-*.csv"))[-1]
    assert "không đạt" in newest.read_text(encoding="utf-8-sig")

    status = run_sohoa(home, "status")
    assert "Kiểm tra toàn vẹn lần cuối:" in status.stdout and "KHÔNG ĐẠT (1 tài liệu)" in status.stdout
    as_json = json.loads(run_sohoa(home, "status", "--json").stdout)
    assert as_json["last_audit"]["outcome"] == "fail"


def test_sample_audits_the_least_recently_checked_first(archive):
    home, documents = archive
    status = run_sohoa(home, "status")
    assert "chưa chạy lần nào" in status.stdout
    covered = []
    for _ in documents:
        done = run_sohoa(home, "audit", "--sample", "1", "--json")
        assert done.returncode == 0, done.stderr
        checked = [r["id"] for r in json_lines(done.stdout) if "id" in r]
        assert len(checked) == 1
        covered += checked
        next_second()
    assert sorted(covered) == sorted(d["id"] for d in documents)
    assert "đạt" in run_sohoa(home, "status").stdout


def test_watch_service_audits_on_its_schedule(archive):
    home, documents = archive
    config = home / "config.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace("\ninterval_hours = 24\n", "\ninterval_hours = 0.0005\n").replace("\ncycle_days = 30\n", "\ncycle_days = 0\n")
    assert "interval_hours = 0.0005" in text and "cycle_days = 0" in text
    config.write_text(text, encoding="utf-8")
    service = Service(home).start()
    try:
        wait_for(lambda: "kiểm tra toàn vẹn định kỳ: 2 tài liệu, 2 đạt" in service.stdout_path.read_text(
            encoding="utf-8", errors="replace"), timeout=60, what="the scheduled audit")
    finally:
        service.stop()
    assert all(fixity_events(home, d["id"]) for d in documents)
    assert "Kiểm tra toàn vẹn lần cuối:" in run_sohoa(home, "status").stdout
    # A restart does not audit again at once: the next run is due one interval after the last.
    config.write_text(text.replace("\ninterval_hours = 0.0005\n", "\ninterval_hours = 1\n"), encoding="utf-8")
    assert 3000 < AuditSchedule(Home(home), events=None).due_in() <= 3600


def test_a_scheduled_run_takes_its_share_of_the_cycle():
    assert scheduled_sample(300, AuditSettings(interval_hours=24, cycle_days=30)) == 10
    assert scheduled_sample(7, AuditSettings(interval_hours=24, cycle_days=30)) == 1
    assert scheduled_sample(300, AuditSettings(interval_hours=24, cycle_days=0)) is None


def test_records_archived_before_sizes_were_kept_get_them_from_untouched_sidecars(archive):
    """Migration 6 on an existing home: the sidecar's size is taken from the file only when
    the file still has the SHA-256 recorded when it was written."""
    import sqlite3

    from core.catalog import Catalog

    home, (first, second) = archive
    with sqlite3.connect(home / "catalog.sqlite") as db:
        db.execute("UPDATE documents SET sidecar_size = NULL")
    changed = record_dir(home, second) / "metadata.json"
    changed.write_bytes(changed.read_bytes() + b"\n")
    with Catalog(home / "catalog.sqlite") as catalog:
        with catalog.transaction():
            catalog._fill_sidecar_sizes()
        sizes = {d["id"]: catalog.get(d["id"]).sidecar_size for d in (first, second)}
    assert sizes[first["id"]] == (record_dir(home, first) / "metadata.json").stat().st_size
    assert sizes[second["id"]] is None
    done = run_sohoa(home, "verify", "--all")
    assert done.returncode == 1
    assert "tệp mô tả metadata.json đã bị thay đổi (SHA-256 khác)" in lines_about(done.stdout, second["id"])[0]
