"""The layer contract (pyproject's [tool.importlinter]) holds, and would catch a breach.

lint-imports reads the import graph of the packages themselves; `make test` runs it too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("core", "ocr", "header", "signing", "index", "pipeline", "watch_folders", "commands")


def lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)


def copy_of_the_code(tmp_path: Path) -> Path:
    copy = tmp_path / "code"
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_the_layers_are_kept() -> None:
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    copy = copy_of_the_code(tmp_path)
    with open(copy / "core" / "text.py", "a", encoding="utf-8") as module:
        module.write("\n\ndef _breach():\n    from pipeline import ingest  # the bottom reaching up\n")
    done = lint(copy)
    assert done.returncode != 0
    assert "core.text -> pipeline.ingest" in done.stdout


def test_a_cycle_inside_a_package_breaks_the_contract(tmp_path: Path) -> None:
    copy = copy_of_the_code(tmp_path)
    with open(copy / "index" / "records.py", "a", encoding="utf-8") as module:
        module.write("\n\ndef _cycle():\n    from index import engine  # records <-> engine\n")
    done = lint(copy)
    assert done.returncode != 0
    assert "BROKEN" in done.stdout
