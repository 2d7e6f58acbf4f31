"""A home made by the release before the Django data layer (raw sqlite3, PRAGMA
user_version) is upgraded in place when the new code first opens it: its rows are all
there, Django's migrations own the schema from then on, and the commands work on it."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sqlite3
import sys
import unicodedata
from pathlib import Path

import pytest

from tests.conftest import run_sohoa

RELEASE = Path(__file__).parent / "data_layer_release" / "catalog_8b725e9.py"
NAME = unicodedata.normalize("NFC", "Công văn số 268 về chuyển đổi số.pdf")
TEXT = unicodedata.normalize("NFC", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc")


def _release_catalog():
    spec = importlib.util.spec_from_file_location("sohoa_release_catalog_8b725e9", RELEASE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it runs
    spec.loader.exec_module(module)
    return module


def _legacy_home(root: Path, version: int) -> dict:
    """A home as `sohoa init` makes it, its catalog replaced by one the release wrote at
    schema `version` (the release's own code, migrations cut at `version`), with a document,
    its pages, trail, header fields and a watch job."""
    assert run_sohoa(root, "init").returncode == 0
    for path in root.glob("catalog.sqlite*"):
        path.unlink()
    release = _release_catalog()
    release.MIGRATIONS = release.MIGRATIONS[:version]
    sidecar = json.dumps({"tên": NAME}, ensure_ascii=False).encode()
    (root / "archive" / "2026" / "1").mkdir(parents=True, exist_ok=True)
    (root / "archive" / "2026" / "1" / "sidecar.json").write_bytes(sidecar)
    row = {
        "received_at": "2026-11-01T08:00:00+07:00", "original_name": NAME, "original_format": "pdf",
        "original_sha256": "a" * 64, "original_size": 3_000_000_000, "archive_dir": "2026/1",
        "original_file": "2026/1/original.pdf", "pdfa_file": "2026/1/pdfa.pdf", "pdfa_sha256": "b" * 64,
        "pdfa_size": 12345, "sidecar_file": "2026/1/sidecar.json",
        "sidecar_sha256": hashlib.sha256(sidecar).hexdigest(), "page_count": 2,
        "metadata_json": json.dumps({"trích yếu": "Về chuyển đổi số"}, ensure_ascii=False),
    }
    if version >= 6:  # the release wrote the sidecar's size itself from then on
        row["sidecar_size"] = len(sidecar)
    with release.Catalog(root / "catalog.sqlite") as catalog, catalog.transaction() as db:
        assert catalog.schema_version == version
        document_id = catalog.insert_document(db, row)
        catalog.insert_pages(db, document_id, [
            release.PageRecord(1, "ocr", 300.0, 2480, 3508, 91.5, TEXT, **({"rotation": 90} if version >= 2 else {})),
            release.PageRecord(2, "kept", None, None, None, None, "trang hai"),
        ])
        catalog.insert_events(db, document_id, [release.Event("received", "ok", row["received_at"], {"tệp": NAME}),
                                                release.Event("archived", "ok", row["received_at"])])
        if version >= 3:
            db.execute("INSERT INTO watch_jobs (sha256, profile, source_path, source_raw, source_size,"
                       " source_mtime_ns, state, document_id, received_at, finished_at)"
                       " VALUES (?, 'van-ban-den', ?, ?, 1, ?, 'done', ?, ?, ?)",
                       ("a" * 64, NAME, NAME.encode(), 1_700_000_000_123_456_789, document_id,
                        row["received_at"], row["received_at"]))
        if version >= 4:
            db.execute("INSERT INTO document_fields (document_id, name, value, confidence, source, needs_review)"
                       " VALUES (?, 'so_ky_hieu', '268/SGTVT-VP', 0.9, 'ocr', 1)", (document_id,))
    return {**row, "id": document_id}


@pytest.mark.parametrize("version", [5, 7])
def test_release_home_is_upgraded_in_place_with_every_row(tmp_path: Path, version: int) -> None:
    from core import legacy
    from core.catalog import Catalog
    from watch_folders.jobs import JobStore

    home = tmp_path / "kho cũ"
    before = _legacy_home(home, version)

    with Catalog(home / "catalog.sqlite") as catalog:
        document = catalog.get(before["id"])
        assert document.original_name == NAME and document.original_size == 3_000_000_000
        assert document.metadata == {"trích yếu": "Về chuyển đổi số"}
        # Version 5: legacy migration 6 ran during the upgrade, the sidecar's size taken from
        # the file whose SHA-256 matches; version 7: the size the release wrote.
        assert document.sidecar_size == len(json.dumps({"tên": NAME}, ensure_ascii=False).encode())
        assert document.withdrawn_at is None
        pages = catalog.pages(before["id"])
        assert [p.number for p in pages] == [1, 2] and pages[0].text == TEXT and pages[0].rotation == 90
        assert pages[1].rotation == 0 and pages[1].blank is False  # the defaults migration 2 gave
        assert [e.step for e in catalog.events(before["id"])] == ["received", "archived"]
        assert catalog.events(before["id"])[0].detail == {"tệp": NAME}
        assert catalog.read("SELECT value FROM document_fields WHERE document_id = ?",
                            (before["id"],))[0]["value"] == "268/SGTVT-VP"
        # New writes go through the ORM on the adopted tables.
        with catalog.transaction() as db:
            second = catalog.insert_document(db, {**{k: v for k, v in before.items() if k != "id"},
                                                  "original_sha256": "c" * 64})
        assert second == before["id"] + 1 and catalog.count_documents() == 2

    with JobStore(home / "catalog.sqlite") as jobs:
        old_job = jobs.uncleared()[0]
        assert old_job.source_raw == NAME.encode() and old_job.source_mtime_ns == 1_700_000_000_123_456_789
        job = jobs.create(sha256="d" * 64, profile="van-ban-den", source_path="x.pdf", source_raw=b"x.pdf",
                          size=1, mtime_ns=2)
        jobs.start(job)
        jobs.finish(job, "done", document_id=second, page_count=2)
        assert jobs.get(job).state == "done" and jobs.get(job).attempts == 1

    with sqlite3.connect(home / "catalog.sqlite") as db:
        applied = {name for (name,) in db.execute("SELECT name FROM django_migrations WHERE app = 'core'")}
        assert "0001_initial" in applied
        assert db.execute("SELECT count(*) FROM django_migrations WHERE app = 'auth'").fetchone()[0] > 0
        assert db.execute("PRAGMA user_version").fetchone()[0] == legacy.ADOPTION_POINT
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    # The commands read and write the upgraded home.
    shown = run_sohoa(home, "show", str(before["id"]), "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["original_name"] == NAME
    withdrawn = run_sohoa(home, "withdraw", str(before["id"]), "--reason", "Bản trùng, quét nhầm")
    assert withdrawn.returncode == 0, withdrawn.stderr
    with Catalog(home / "catalog.sqlite") as catalog:
        assert catalog.get(before["id"]).withdrawn_reason == "Bản trùng, quét nhầm"
        assert [e.step for e in catalog.events(before["id"])][-1] == "deaccession"


def test_release_catalog_whose_tables_do_not_match_is_refused_untouched(tmp_path: Path) -> None:
    from core.legacy import SchemaMismatch
    from core.catalog import Catalog

    home = tmp_path / "kho"
    _legacy_home(home, 7)
    with sqlite3.connect(home / "catalog.sqlite") as db:  # a hand-edited catalog: a column gone
        db.execute("ALTER TABLE documents DROP COLUMN withdrawn_reason")
    with pytest.raises(SchemaMismatch, match="withdrawn_reason"):
        Catalog(home / "catalog.sqlite")
    with sqlite3.connect(home / "catalog.sqlite") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "django_migrations" not in tables and db.execute("SELECT count(*) FROM documents").fetchone()[0] == 1


def test_new_home_is_made_by_django_migrations_alone(tmp_path: Path) -> None:
    from core.catalog import Catalog

    home = tmp_path / "kho mới"
    home.mkdir()
    Catalog(home / "catalog.sqlite").close()
    with sqlite3.connect(home / "catalog.sqlite") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        core = {name for (name,) in db.execute("SELECT name FROM django_migrations WHERE app = 'core'")}
    assert {"documents", "pages", "events", "watch_jobs", "document_fields",
            "auth_user", "django_session", "django_migrations"} <= tables
    migrations = Path(__file__).resolve().parents[1] / "core" / "migrations"
    assert core == {path.stem for path in migrations.glob("[0-9][0-9][0-9][0-9]_*.py")}
