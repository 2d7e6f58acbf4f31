"""Shared fixtures: the real `sohoa` CLI on scans generated for the run.

OCR costs real seconds, so the documents of the main test archive are ingested once per
session and the tests read what that one run produced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.patches import apply_all
from tests.fixtures import scans

# The test PKI (certomancer on loopback) and SoftHSM2 token of the signing tests.
pytest_plugins = ["tests.pki.fixtures"]


def pytest_configure(config) -> None:
    """Third-party corrections as every sohoa process has them at start (core/patches.py)."""
    apply_all()
    # Django as the web application has it (tests/web_support.py), before any test opens a
    # catalog in-process: one configuration per process, the same installed apps for all.
    from tests.web_support import configure_django_for_tests

    configure_django_for_tests()

SOHOA = Path(sys.executable).parent / "sohoa"


def run_sohoa(home: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed `sohoa` command as a user would."""
    environment = {k: v for k, v in os.environ.items() if k != "SOHOA_HOME"}
    environment.update(env or {})
    command = [str(SOHOA), *args] if home is None else [str(SOHOA), "--home", str(home), *args]
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600)


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@dataclass(frozen=True)
class Archived:
    """One input of the session archive: what was fed in, and what `ingest --json` said."""

    source: Path
    pages: list[scans.SamplePage]
    result: dict


@pytest.fixture(scope="session")
def archive_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home") / "sohoa-data"


@pytest.fixture(scope="session")
def archived(archive_home, tmp_path_factory) -> dict[str, Archived]:
    """A 3-page LZW TIFF, an image-only PDF (JPEG inside), a G4 TIFF, a JPEG and a PNG,
    ingested in one `sohoa ingest --json` run."""
    folder = tmp_path_factory.mktemp("scans")
    tiff_pages = scans.render_document("ke_hoach_42")
    pdf_page = scans.render_page("cong_van_268")
    g4_page = scans.render_page("quyet_dinh_15")
    jpeg_page = scans.render_page("thong_bao_05", colour=True)
    png_page = scans.render_page("giay_moi_17")
    inputs = {
        "tiff": (scans.write_tiff(folder / "kế-hoạch-42.tif", tiff_pages, "tiff_lzw"), tiff_pages),
        "pdf": (scans.write_image_pdf(folder / "công-văn-268.pdf", [pdf_page]), [pdf_page]),
        "g4": (scans.write_tiff(folder / "quyết-định-15.tif", [g4_page], "group4"), [g4_page]),
        "jpeg": (scans.write_jpeg(folder / "thông-báo-05.jpg", jpeg_page), [jpeg_page]),
        "png": (scans.write_png(folder / "giấy-mời-17.png", png_page), [png_page]),
    }
    assert run_sohoa(archive_home, "init").returncode == 0
    done = run_sohoa(archive_home, "ingest", "--json", *[str(path) for path, _ in inputs.values()])
    assert done.returncode == 0, done.stderr
    results = json_lines(done.stdout)
    assert len(results) == len(inputs)
    return {
        key: Archived(source=path, pages=pages, result=result)
        for (key, (path, pages)), result in zip(inputs.items(), results)
    }


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """The random order's seed again at the end of a failed run (with -q there is no
    header): an order-dependent failure is repeated with the same order."""
    seed = getattr(config.option, "randomly_seed", None)
    if exitstatus and isinstance(seed, int):
        terminalreporter.write_line(f"random order: rerun with -p randomly --randomly-seed={seed}")
