"""`sohoa ingest`: every input kind becomes an archived, catalogued, searchable record."""

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import json_lines, run_sohoa

KINDS = ["tiff", "pdf", "g4", "jpeg", "png"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", KINDS)
def test_json_describes_the_record(archived, kind):
    item = archived[kind]
    result = item.result
    assert result["status"] == "archived"
    assert isinstance(result["id"], int)
    assert result["pages"] == len(item.pages)
    assert result["original_sha256"] == sha256(item.source)
    pdfa = Path(result["pdfa"])
    assert pdfa.is_file() and result["pdfa_sha256"] == sha256(pdfa)
    assert result["metadata"]["title"] == item.source.name


@pytest.mark.parametrize("kind", KINDS)
def test_archive_keeps_the_original_byte_for_byte_beside_pdfa_and_sidecar(archived, archive_home, kind):
    item = archived[kind]
    folder = Path(item.result["pdfa"]).parent
    digest = item.result["original_sha256"]
    # fanned out: archive/ab/cd/abcd.../
    assert folder.relative_to(archive_home / "archive").parts == (digest[:2], digest[2:4], digest)
    originals = [p for p in folder.iterdir() if p.name.startswith("original")]
    assert len(originals) == 1 and originals[0].read_bytes() == item.source.read_bytes()
    sidecar = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert sidecar["id"] == item.result["id"]
    assert sidecar["original"]["sha256"] == digest
    assert sidecar["pdfa"]["sha256"] == item.result["pdfa_sha256"]
    with sqlite3.connect(archive_home / "catalog.sqlite") as db:
        recorded = db.execute(
            "SELECT original_sha256, pdfa_sha256, sidecar_sha256 FROM documents WHERE id = ?", (item.result["id"],)
        ).fetchone()
    assert recorded == (digest, item.result["pdfa_sha256"], sha256(folder / "metadata.json"))


def test_every_step_is_an_event_in_the_audit_trail(archived, archive_home):
    shown = run_sohoa(archive_home, "show", str(archived["tiff"].result["id"]), "--json")
    assert shown.returncode == 0, shown.stderr
    events = json.loads(shown.stdout)["events"]
    assert [e["step"] for e in events] == ["received", "loaded", "ocr", "header", "pdfa", "signed", "archived",
                                           "indexed"]
    assert all(e["outcome"] == "ok" and e["at"].endswith("+07:00") for e in events)
    assert events[2]["detail"]["pages"] == [1, 2, 3]


def test_show_prints_a_readable_summary(archived, archive_home):
    shown = run_sohoa(archive_home, "show", str(archived["pdf"].result["id"]))
    assert shown.returncode == 0
    assert "268/SGTVT-VP" in shown.stdout and "SHA-256" in shown.stdout
    missing = run_sohoa(archive_home, "show", "999999")
    assert missing.returncode == 1 and "999999" in missing.stderr


def test_the_number_is_read_from_the_header(archived):
    assert archived["pdf"].result["metadata"]["number"] == "268/SGTVT-VP"
    assert archived["tiff"].result["metadata"]["number"] == "42/KH-BQLV"


def test_the_same_file_again_is_a_duplicate_not_a_second_record(archived, archive_home):
    with sqlite3.connect(archive_home / "catalog.sqlite") as db:
        before = db.execute("SELECT count(*) FROM documents").fetchone()[0]
    again = run_sohoa(archive_home, "ingest", "--json", str(archived["jpeg"].source))
    assert again.returncode == 0
    (result,) = json_lines(again.stdout)
    assert result["status"] == "duplicate" and result["id"] == archived["jpeg"].result["id"]
    with sqlite3.connect(archive_home / "catalog.sqlite") as db:
        assert db.execute("SELECT count(*) FROM documents").fetchone()[0] == before


def test_a_file_named_in_nfd_is_found_and_recorded_in_nfc(tmp_path):
    import unicodedata

    from tests.fixtures import scans

    nfd_name = unicodedata.normalize("NFD", "tờ-trình-số-hóa.jpg")
    source = scans.write_jpeg(tmp_path / nfd_name, scans.render_page("giay_moi_17", dpi=150))
    assert run_sohoa(tmp_path / "home", "init").returncode == 0  # commands refuse a folder that is not a home
    done = run_sohoa(tmp_path / "home", "ingest", "--json", str(source))
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    assert result["metadata"]["title"] == unicodedata.normalize("NFC", nfd_name)
    assert result["metadata"]["title"] != nfd_name
