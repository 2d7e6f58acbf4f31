"""The data layer's own tests, once on SQLite (the embedded default) and once on a real
PostgreSQL (Debian's postgresql 15) that the tests start on a free loopback port and stop:
the same schema and migrations, the same writes, the same answers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
import uuid
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "mật-khẩu-" + uuid.uuid4().hex  # never on a command line: a file and the environment
TEXT = unicodedata.normalize("NFC", "Quyết định về việc phê duyệt Đề án chuyển đổi số — Sở Nội vụ tỉnh Bình Định")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_postgres() -> list[str]:
    # PostgreSQL refuses to run as root: drop to Debian's postgres user when we are root.
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"] if os.geteuid() == 0 else []


@pytest.fixture(scope="module")
def postgresql_server():
    """A PostgreSQL server of its own, on 127.0.0.1 and a free port, with a role `sohoa`
    whose password is checked (scram-sha-256); stopped and removed at the end."""
    if not (PG_BIN / "postgres").exists():
        pytest.fail(f"{PG_BIN}/postgres missing: apt-get install postgresql (the data layer's tests need it)")
    root = Path(tempfile.mkdtemp(prefix="sohoa-pg-"))
    data = root / "data"
    password_file = root / "password"
    password_file.write_text(PASSWORD, encoding="utf-8")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(password_file, "postgres", "postgres")
    subprocess.run([*_as_postgres(), str(PG_BIN / "initdb"), "-D", str(data), "-U", "sohoa", "-E", "UTF8",
                    "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
                    f"--pwfile={password_file}"], check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen([*_as_postgres(), str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port),
                               "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}",
                               "-c", "fsync=off"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while subprocess.run([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                             capture_output=True).returncode != 0:
            assert server.poll() is None, server.stderr.read().decode(errors="replace")
            assert time.monotonic() < deadline, "PostgreSQL did not start within 60 s"
            time.sleep(0.1)
        yield {"port": port, "password_file": password_file}
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def _create_database(server: dict) -> str:
    import psycopg

    name = "sohoa_" + uuid.uuid4().hex[:12]
    with psycopg.connect(host="127.0.0.1", port=server["port"], user="sohoa", password=PASSWORD,
                         dbname="postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return name


@pytest.fixture(params=["sqlite", "postgresql"])
def home(request, tmp_path: Path) -> Path:
    """A home folder whose catalog is SQLite (no [database]) or a fresh PostgreSQL database."""
    root = tmp_path / "kho"
    root.mkdir()
    if request.param == "postgresql":
        server = request.getfixturevalue("postgresql_server")
        name = _create_database(server)
        (root / "config.toml").write_text(
            f'[database]\nurl = "postgresql://sohoa@127.0.0.1:{server["port"]}/{name}"\n'
            f'password_file = "{server["password_file"]}"\n', encoding="utf-8")
    return root


def _document(sha: str, name: str = TEXT) -> dict:
    return {
        "received_at": "2026-11-29T10:00:00+07:00", "original_name": name, "original_format": "pdf",
        "original_sha256": sha, "original_size": 5_000_000_000, "archive_dir": "2026/11",
        "original_file": "2026/11/a.pdf", "pdfa_file": "2026/11/a.pdfa.pdf", "pdfa_sha256": "p" * 64,
        "pdfa_size": 1, "sidecar_file": "2026/11/a.json", "sidecar_sha256": "s" * 64, "page_count": 1,
        "metadata_json": '{"trích_yếu": "%s"}' % TEXT, "sidecar_size": 10,
    }


def test_create_migrate_and_reopen(home: Path) -> None:
    from core.catalog import Catalog

    with Catalog(home / "catalog.sqlite") as catalog:
        expected_vendor = "postgresql" if (home / "config.toml").exists() else "sqlite"
        assert catalog.vendor == expected_vendor
        applied = {(r["app"], r["name"]) for r in catalog.read("SELECT app, name FROM django_migrations")}
        assert ("core", "0001_initial") in applied and ("sessions", "0001_initial") in applied
        assert catalog.count_documents() == 0
    assert (home / "catalog.sqlite").exists() == (expected_vendor == "sqlite")
    with Catalog(home / "catalog.sqlite") as catalog:  # opening again migrates nothing
        again = {(r["app"], r["name"]) for r in catalog.read("SELECT app, name FROM django_migrations")}
        assert again == applied


def test_ingest_like_writes_and_event_trail_round_trip_in_nfc(home: Path) -> None:
    from core.catalog import Catalog, Event, PageRecord

    decomposed = unicodedata.normalize("NFD", TEXT)
    with Catalog(home / "catalog.sqlite") as catalog:
        with catalog.transaction() as db:
            document_id = catalog.insert_document(db, _document("a" * 64))
            catalog.insert_pages(db, document_id, [
                PageRecord(1, "ocr", 300.0, 2480, 3508, 93.25, TEXT, rotation=90, skew=0.4),
                PageRecord(2, "ocr", 300.0, 2480, 3508, None, "", blank=True)])
            catalog.insert_events(db, document_id, [
                Event("received", "ok", "2026-11-29T10:00:00+07:00", {"tệp": TEXT}),
                Event("signed", "ok", "2026-11-29T10:00:05+07:00"),
                Event("archived", "ok", "2026-11-29T10:00:06+07:00", {"ghi chú": decomposed})])
        row = catalog.get(document_id)
        assert row.original_name == TEXT and unicodedata.is_normalized("NFC", row.original_name)
        assert row.original_size == 5_000_000_000 and row.metadata == {"trích_yếu": TEXT}
        pages = catalog.pages(document_id)
        assert pages[0].text == TEXT and pages[0].rotation == 90 and pages[0].blank is False
        assert pages[1].blank is True and pages[1].ocr_confidence is None
        trail = catalog.events(document_id)
        assert [e.step for e in trail] == ["received", "signed", "archived"]
        assert trail[0].detail == {"tệp": TEXT}
        assert trail[2].detail == {"ghi chú": decomposed}  # stored as given: bytes are not rewritten
        assert catalog.find_by_original_sha256("a" * 64) == document_id
        assert catalog.documents_with_texts(0, 10) == [(document_id, {"trích_yếu": TEXT}, [TEXT, ""],
                                                        [("signed", "ok")])]
        # SQL still used by some modules (qmark style) runs on either backend.
        with catalog.transaction() as db:
            db.execute("UPDATE documents SET withdrawn_at = ?, withdrawn_reason = ? WHERE id = ?",
                       ("2026-11-29T11:00:00+07:00", "Bản trùng 100%?", document_id))
        assert catalog.get(document_id).withdrawn_reason == "Bản trùng 100%?"
        assert catalog.searchable_ids() == set() and catalog.count_searchable() == 0
        found = catalog.read("SELECT original_name FROM documents WHERE original_name LIKE ?", ("Quyết%",))
        assert [r["original_name"] for r in found] == [TEXT]


def test_a_failed_transaction_leaves_nothing(home: Path) -> None:
    from django.db import IntegrityError

    from core.catalog import Catalog, Event

    with Catalog(home / "catalog.sqlite") as catalog:
        with catalog.transaction() as db:
            first = catalog.insert_document(db, _document("b" * 64))
        with pytest.raises(IntegrityError), catalog.transaction() as db:
            catalog.insert_events(db, first, [Event("loaded", "ok", "now")])
            catalog.insert_document(db, _document("b" * 64))  # the same original: refused
        assert catalog.count_documents() == 1 and catalog.events(first) == []
        with pytest.raises(IntegrityError), catalog.transaction() as db:
            catalog.insert_events(db, 999_999, [Event("loaded", "ok", "now")])  # no such document
        assert catalog.read("SELECT count(*) AS n FROM events")[0]["n"] == 0


def test_watch_jobs_state_changes(home: Path) -> None:
    from watch_folders.jobs import JobStore, now

    with JobStore(home / "catalog.sqlite") as jobs:
        raw = "van-ban-đến/Công văn.pdf".encode() + b"\xff"  # a name that is not UTF-8 keeps its bytes
        job = jobs.create(sha256="c" * 64, profile="van-ban-den", source_path="x", source_raw=raw, size=7,
                          mtime_ns=1_732_000_000_000_000_001, dev=2**40, ino=2**33)
        jobs.start(job)
        jobs.postpone(job, now(), error_code="transient", reason="đĩa đầy", counted=False)
        assert jobs.get(job).attempts == 0 and jobs.get(job).state == "received"
        jobs.requeue(job)  # not processing: nothing changes
        jobs.start(job)
        assert jobs.resume_interrupted() == [job] and jobs.get(job).attempts == 1
        jobs.start(job)
        jobs.finish(job, "failed", error_code="unreadable", reason="tệp hỏng")
        done = jobs.get(job)
        assert (done.state, done.attempts, done.source_raw, done.source_mtime_ns, done.source_dev) == \
            ("failed", 2, raw, 1_732_000_000_000_000_001, 2**40)
        assert done.started_at is not None and done.finished_at is not None
        assert [j.id for j in jobs.uncleared()] == [job] and jobs.active() == []
        jobs.mark_cleared(job)
        assert jobs.uncleared() == []


_WRITER = """
import sys
from pathlib import Path
from core.catalog import Catalog, Event
home, worker, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
with Catalog(home / "catalog.sqlite") as catalog:
    for n in range(count):
        with catalog.transaction() as db:
            row = {k: v for k, v in catalog.get(1).__dict__.items() if k not in ("id", "metadata")}
            row.update(metadata_json="{}", original_sha256=f"{worker:02d}{n:062d}")
            document_id = catalog.insert_document(db, row)
            catalog.insert_events(db, document_id, [Event("received", "ok", "now", {"worker": worker})])
"""


def test_concurrent_writers_from_several_processes(home: Path) -> None:
    from core.catalog import Catalog

    with Catalog(home / "catalog.sqlite") as catalog, catalog.transaction() as db:
        catalog.insert_document(db, _document("f" * 64))
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(home), str(w), "15"], env=env,
                                stderr=subprocess.PIPE) for w in range(4)]
    for writer in writers:
        assert writer.wait(timeout=300) == 0, writer.stderr.read().decode(errors="replace")
    with Catalog(home / "catalog.sqlite") as catalog:
        assert catalog.count_documents() == 1 + 4 * 15
        assert len(catalog.document_ids()) == 61
        rows = catalog.read("SELECT document_id, count(*) AS n FROM events GROUP BY document_id")
        assert len(rows) == 60 and {r["n"] for r in rows} == {1}


def test_a_password_in_the_url_is_refused(tmp_path: Path) -> None:
    from core.database import DatabaseConfigError, home_database_settings

    (tmp_path / "config.toml").write_text('[database]\nurl = "postgresql://sohoa:bí-mật@127.0.0.1/sohoa"\n',
                                          encoding="utf-8")
    with pytest.raises(DatabaseConfigError, match="password_file") as refused:
        home_database_settings(tmp_path)
    assert "bí-mật" not in str(refused.value)


def test_header_fields_review_duplicates_and_signed_levels(home: Path) -> None:
    """The queries once written for SQLite alone (json_extract, self-joins) answer the same
    on both databases."""
    import json

    from core.catalog import Catalog, Event
    from pipeline.header_store import duplicates_of, find_duplicates, flagged_documents, review_queue, store_fields
    from pipeline.archive_checks import renewal_candidates

    key = "268|sgtvt-vp|sở giao thông vận tải|2026"
    flagged = {"needs_review": ["trang quá nhỏ để là một trang văn bản"], "trích_yếu": TEXT}
    with Catalog(home / "catalog.sqlite") as catalog:
        with catalog.transaction() as db:
            a = catalog.insert_document(db, {**_document("a" * 64), "duplicate_key": key,
                                             "metadata_json": json.dumps(flagged, ensure_ascii=False)})
            b = catalog.insert_document(db, {**_document("b" * 64, "b.pdf"), "duplicate_key": key})
            c = catalog.insert_document(db, _document("c" * 64, "c.pdf"))
            store_fields(db, a, {"header": {"number": {"value": "268/SGTVT-VP", "confidence": 0.41, "page": 1,
                                                       "box": [10, 20, 300, 60], "source": "ocr"},
                                            "recipients": {"value": ["UBND TỈNH", "SỞ GTVT"], "source": "ocr"}},
                                 "review": ["number", "issue_date"]})
            catalog.insert_events(db, a, [Event("signed", "ok", "now", {"level": "PAdES B-LTA"})])
            catalog.insert_events(db, b, [Event("signed", "ok", "now", {"level": "PAdES B-T"})])
            catalog.insert_events(db, c, [Event("signed", "failed", "now", {"level": "PAdES B-LTA"})])
        assert find_duplicates(catalog, key, a) == [b] and duplicates_of(catalog, b) == [a]
        assert duplicates_of(catalog, c) == []
        queue = review_queue(catalog)
        assert [(i.document_id, i.field) for i in queue] == [(a, "number"), (a, "issue_date")]
        assert queue[0].value == "268/SGTVT-VP" and queue[0].box == (10, 20, 300, 60) and queue[1].value is None
        assert flagged_documents(catalog) == [(a, TEXT, ["trang quá nhỏ để là một trang văn bản"])]
        assert renewal_candidates(catalog) == [a]
        with catalog.transaction() as db:  # a correction replaces the rows; withdrawn: out of the queues
            store_fields(db, a, {"header": {"number": {"value": "268/SGTVT-VP", "source": "manual"}}})
            Catalog.update_document(db, b, withdrawn_at="2026-11-29T12:00:00+07:00", withdrawn_reason="trùng")
        assert review_queue(catalog) == []
        assert catalog.read("SELECT source FROM document_fields WHERE document_id = ?", (a,))[0]["source"] == "manual"
        with catalog.transaction() as db:
            Catalog.update_document(db, a, withdrawn_at="2026-11-29T12:00:00+07:00", withdrawn_reason="trùng")
        assert flagged_documents(catalog) == []


def test_service_status_stuck_files_and_index_queue_read_alike(home: Path) -> None:
    """The watch service's and the index queue's SQL reads, on either database."""
    from pipeline import index_queue
    from core.catalog import Catalog, Event
    from watch_folders.jobs import JobStore
    from watch_folders.status import status_report
    from watch_folders.stuck import stuck_in_inbox

    inbox = home / "inbox"
    (inbox / "van-ban-den").mkdir(parents=True)
    held = inbox / "van-ban-den" / "đang xử lý.pdf"
    held.write_bytes(b"%PDF-1.7")
    lost = inbox / "van-ban-den" / "bị bỏ quên.pdf"
    lost.write_bytes(b"%PDF-1.7")
    with JobStore(home / "catalog.sqlite") as jobs:
        for state in ("done", "failed"):
            job = jobs.create(sha256=state * 8, profile="van-ban-den", source_path=state, source_raw=state.encode(),
                              size=1, mtime_ns=1)
            jobs.start(job)
            jobs.finish(job, state, page_count=3)
        jobs.create(sha256="e" * 64, profile="van-ban-den", source_path="van-ban-den/đang xử lý.pdf",
                    source_raw="van-ban-den/đang xử lý.pdf".encode(), size=8, mtime_ns=1)
    with Catalog(home / "catalog.sqlite") as catalog:
        report = status_report(catalog, None, home)
        assert report.counts["done"] == 1 and report.counts["failed"] == 1 and report.counts["received"] == 1
        assert report.pages_last_hour == 3 and report.retrying == 0
        assert report.oldest_waiting.file == "van-ban-den/đang xử lý.pdf"
        stuck = stuck_in_inbox(inbox, catalog, 0, clock=lambda: time.time() + 60)
        assert [s.file for s in stuck] == ["van-ban-den/bị bỏ quên.pdf"]  # the one no job holds
        with catalog.transaction() as db:
            first = catalog.insert_document(db, _document("1" * 64))
            second = catalog.insert_document(db, _document("2" * 64, "b.pdf"))
            catalog.insert_events(db, first, [Event("indexed", "ok", "now")])
        assert index_queue.waiting_ids(catalog, after=0) == {second}
