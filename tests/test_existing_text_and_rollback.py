"""A PDF that already has a text layer keeps it (or is re-OCR'd on request), and a failure
in the last step rolls back everything the document had written."""

import json
import os
import signal
import subprocess

from tests.conftest import SOHOA, json_lines, run_sohoa
from tests.fixtures import scans
from tests.test_bad_input import snapshot
from tests.test_watch_support import pause_at, wait_paused


def _pdftotext(path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout


def _steps(home, document_id):
    shown = json.loads(run_sohoa(home, "show", str(document_id), "--json").stdout)
    return {e["step"]: e for e in shown["events"]}, shown["page_details"]


def test_a_pdf_with_a_scanners_invisible_text_layer_is_ocrd_again_once(tmp_path):
    """A scanner's invisible OCR layer is replaced by ours (issue 12 point 3; born-digital
    visible text is kept: tests/test_scanner_text_layer.py)."""
    home = tmp_path / "home"
    source = scans.write_searchable_pdf(tmp_path / "đã-có-chữ.pdf", scans.render_page("thong_bao_05"))
    assert run_sohoa(home, "init").returncode == 0  # commands refuse a folder that is not a home
    done = run_sohoa(home, "ingest", "--json", str(source))
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    steps, pages = _steps(home, result["id"])
    assert steps["ocr"]["outcome"] == "ok"
    assert pages[0]["text_source"] == "redone-ocr"
    assert result["metadata"]["number"] == "05/TB-SYT"
    # one text layer, ours: each word of the page once, not twice
    assert _pdftotext(result["pdfa"]).count("05/TB-SYT") == 1
    found = json.loads(run_sohoa(home, "search", "Nguyên đán", "--json").stdout)["results"]
    assert [r["id"] for r in found] == [result["id"]]


def test_force_ocr_replaces_the_old_text_layer_instead_of_adding_a_second(tmp_path):
    home = tmp_path / "home"
    page = scans.render_page("thong_bao_05")
    source = scans.write_searchable_pdf(tmp_path / "đã-có-chữ.pdf", page)
    assert run_sohoa(home, "init").returncode == 0  # commands refuse a folder that is not a home
    done = run_sohoa(home, "ingest", "--json", "--force-ocr", str(source))
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    steps, pages = _steps(home, result["id"])
    assert steps["ocr"]["outcome"] == "ok" and pages[0]["text_source"] == "redone-ocr"
    text = _pdftotext(result["pdfa"])
    # each word of the page once, not twice
    assert text.count("05/TB-SYT") == page.text.count("05/TB-SYT") == 1


def test_a_failure_while_recording_leaves_archive_catalog_and_index_unchanged(archived, archive_home, tmp_path):
    before = snapshot(archive_home)
    scan = scans.write_png(tmp_path / "bị-chặn.png", scans.render_page("cong_van_268", dpi=150))
    # The clerk presses Ctrl-C while the record is being written: the archive folder is
    # there and the catalog row inserted, the commit not made (the product holds at its
    # "before-commit" step until the interrupt reaches it).
    pauses = tmp_path / "pauses"
    environment = {k: v for k, v in os.environ.items() if k != "SOHOA_HOME"}
    environment.update(pause_at(pauses, "before-commit"))
    process = subprocess.Popen([str(SOHOA), "--home", str(archive_home), "ingest", str(scan)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        wait_paused(pauses, "before-commit", process=process)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0, stderr
    assert "Traceback" not in stderr
    assert snapshot(archive_home) == before
    # and the same file, given again, goes in normally
    again = run_sohoa(archive_home, "ingest", "--json", str(scan))
    assert again.returncode == 0, again.stderr
    assert json_lines(again.stdout)[0]["status"] == "archived"
