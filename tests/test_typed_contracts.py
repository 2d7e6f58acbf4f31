"""Typed contracts (issue 14, point 3): the audit trail's steps are one enum carrying their
PREMIS event types, and every step a real archive writes is one of them; one clock in
Vietnam's time; one fold."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import unicodedata
from pathlib import Path

import pytest

from core import clock
from core.events import Step
from core.text import fold
from tests.conftest import json_lines, run_sohoa
from tests.test_watch_support import make_home, tiny_scan

REPO = Path(__file__).resolve().parents[1]
REAL_SCANS = REPO.parent / "shared" / "realscans"
PACKAGES = ("core", "ocr", "signing", "index", "pipeline", "commands", "watch_folders", "web")

# The PREMIS 3 eventType vocabulary (id.loc.gov/vocabulary/preservation/eventType).
PREMIS_EVENT_TYPES = {
    "accession", "appraisal", "capture", "compiling", "compression", "creation", "deaccession", "decompression",
    "decryption", "deletion", "digital signature generation", "digital signature validation", "displaying",
    "dissemination", "encryption", "fixity check", "forensic feature analysis", "format identification",
    "imaging", "information package creation", "information package merging", "information package splitting",
    "ingestion end", "ingestion start", "message digest calculation", "metadata extraction",
    "metadata modification", "migration", "modification", "normalization", "packing", "policy assignment",
    "printing", "quarantine", "recovery", "redaction", "refreshment", "rendering", "replication", "transfer",
    "unpacking", "unquarantine", "validation", "virus check",
}


def test_every_step_carries_a_premis_event_type():
    assert len({step.value for step in Step}) == len(Step)
    for step in Step:
        assert step.premis in PREMIS_EVENT_TYPES, step
        assert Step(step.value) is step and step == step.value  # read back from the table as written


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """A real home with a real scanner PDF and a photographed page archived, one record
    corrected, withdrawn and reinstated, then audited and verified."""
    home = make_home(tmp_path_factory.mktemp("events") / "sohoa-data")
    scan = tiny_scan(tmp_path_factory.mktemp("in") / "giấy-mời.jpg", variant=3)
    files = [str(scan)] + [str(p) for p in sorted(REAL_SCANS.glob("*.pdf"), key=lambda p: p.stat().st_size)[:1]]
    done = run_sohoa(home, "ingest", "--json", *files)
    assert done.returncode in (0, 3), done.stderr
    ids = [line["id"] for line in json_lines(done.stdout)]
    assert len(ids) == len(files)
    steps = [
        ("set", str(ids[0]), "number=15/QĐ-UBND", "--by", "kiểm thử"),
        ("withdraw", str(ids[0]), "--reason", "nhập nhầm"),
        ("reinstate", str(ids[0]), "--reason", "nhập đúng"),
        ("audit",),
        ("verify", "--all"),
    ]
    for args in steps:
        result = run_sohoa(home, *args)
        assert result.returncode == 0, (args, result.stderr)
    return home


def test_every_step_in_a_real_archive_is_an_enum_member(archive):
    with sqlite3.connect(archive / "catalog.sqlite") as db:
        written = {row[0] for row in db.execute("SELECT DISTINCT step FROM events")}
    assert written <= {step.value for step in Step}, written - {step.value for step in Step}
    # the whole intake, a correction, a withdrawal and its undoing, an audit and a verification
    assert {Step.RECEIVED, Step.LOADED, Step.PDFA, Step.SIGNED, Step.ARCHIVED, Step.CORRECTED, Step.WITHDRAWN,
            Step.REINSTATED, Step.FIXITY_CHECK, Step.AUDIT_RUN, Step.VERIFIED, Step.VERIFY_RUN} <= written


def _sources():
    for package in PACKAGES:
        yield from (REPO / package).rglob("*.py") if (REPO / package).is_dir() else ()


def test_one_clock_in_vietnam_time():
    moment = clock.now()
    assert moment.utcoffset() == dt.timedelta(hours=7)
    assert abs(moment - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(seconds=5)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", clock.now_text())
    copies = [str(p.relative_to(REPO)) for p in _sources()
              if re.search(r"timedelta\(hours=7\)", p.read_text(encoding="utf-8"))]
    assert copies == ["core/clock.py"]


def test_one_fold_for_search_the_header_reader_and_duplicates():
    import index.analysis
    import header.text

    assert index.analysis.fold is fold and header.text.fold is fold
    assert fold("Quyết Định số 15/QĐ-UBND của ĐÀ NẴNG") == "quyet dinh so 15/qd-ubnd cua da nang"
    # whatever the normal form and the tone placement (old style hòa, new style hoà)
    assert fold(unicodedata.normalize("NFD", "Hòa Khỏe Thủy")) == fold("hoà khoẻ thuỷ") == "hoa khoe thuy"
    assert unicodedata.is_normalized("NFC", fold("Ạ ẵ ễ"))
    definitions = [str(p.relative_to(REPO)) for p in _sources()
                   if re.search(r"^def fold\(", p.read_text(encoding="utf-8"), re.M)]
    assert definitions == ["core/text.py"]


def test_one_config_reader_one_message_for_a_broken_file(tmp_path):
    from core.errors import describe
    from pipeline.audit import load_audit_settings
    from core.config import load_config
    from watch_folders.settings import load_watch_settings

    config = tmp_path / "config.toml"
    config.write_text('[watch\nquiet_seconds = 1\n', encoding="utf-8")  # a bracket lost in an edit
    said = set()
    for load in (load_config, load_watch_settings):
        with pytest.raises(Exception) as caught:
            load(config)
        said.add(describe(caught.value))
    ((code, reason),) = said  # the same code and words from either part
    assert code == "config-invalid" and str(config) in reason and "sai cú pháp" in reason
    assert load_audit_settings(config).interval_hours == 24  # [audit] leaves the report to load_config
    readers = [str(p.relative_to(REPO)) for p in _sources() if "tomllib.loads(" in p.read_text(encoding="utf-8")]
    assert readers == ["core/config_file.py"]
