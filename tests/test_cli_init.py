"""`sohoa init` creates a usable data home, wherever the user says."""

import sqlite3
import subprocess
import tomllib

from tests.conftest import SOHOA, run_sohoa


def test_init_creates_a_commented_config_catalog_and_folders(tmp_path):
    home = tmp_path / "kho dữ liệu"
    done = run_sohoa(home, "init")
    assert done.returncode == 0, done.stderr
    config_text = (home / "config.toml").read_text(encoding="utf-8")
    assert "# " in config_text and "Tesseract" in config_text
    assert tomllib.loads(config_text)["ocr"]["language"] == "vie"
    for folder in ("archive", "index", "inbox", "failed"):
        assert (home / folder).is_dir(), folder
    with sqlite3.connect(home / "catalog.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 1
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"documents", "pages", "events"} <= tables


def test_init_keeps_an_edited_config(tmp_path):
    home = tmp_path / "home"
    run_sohoa(home, "init")
    edited = (home / "config.toml").read_text(encoding="utf-8").replace('language = "vie"', 'language = "vie+eng"')
    (home / "config.toml").write_text(edited, encoding="utf-8")
    done = run_sohoa(home, "init")
    assert done.returncode == 0
    assert 'language = "vie+eng"' in (home / "config.toml").read_text(encoding="utf-8")


def test_home_from_environment_and_default(tmp_path):
    chosen = tmp_path / "từ-biến-môi-trường"
    assert run_sohoa(None, "init", env={"SOHOA_HOME": str(chosen)}).returncode == 0
    assert (chosen / "config.toml").is_file()


def test_default_home_is_sohoa_data_in_the_current_folder(tmp_path):
    subprocess.run([str(SOHOA), "init"], cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "sohoa-data" / "config.toml").is_file()
