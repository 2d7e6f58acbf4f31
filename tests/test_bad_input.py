"""Bad input: one clear line naming the file and the reason, a non-zero exit, and nothing
half-written in the archive, the catalog or the index."""

import hashlib
import sqlite3
from pathlib import Path

import pytest

from index import open_index
from tests.conftest import json_lines, run_sohoa
from tests.fixtures import scans

def write_truncated_png(path: Path) -> Path:
    whole = scans.write_png(path, scans.render_page("giay_moi_17", dpi=100)).read_bytes()
    path.write_bytes(whole[: len(whole) * 2 // 3])
    return path


def write_truncated_tiff(path: Path) -> Path:
    whole = scans.write_tiff(path, [scans.render_page("giay_moi_17", dpi=100)], "tiff_lzw").read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    return path


BAD_INPUTS = {
    # file name: (writer, expected error code, words the reason must contain)
    "rỗng.pdf": (scans.write_zero_bytes, "empty", "rỗng"),
    "bị-cắt.pdf": (scans.write_truncated_pdf, "corrupt", "cắt cụt"),
    "hỏng.tif": (scans.write_corrupt_tiff, "corrupt", "hỏng"),
    "có-mật-khẩu.pdf": (scans.write_encrypted_pdf, "encrypted", "mật khẩu"),
    "thư.pdf": (scans.write_text_named_pdf, "unsupported-format", "không phải PDF"),
    "khổng-lồ.png": (scans.write_huge_pixel_png, "too-many-pixels", "quá lớn"),
    "cụt.png": (write_truncated_png, "corrupt", "cắt cụt"),
    "cụt.tif": (write_truncated_tiff, "corrupt", "hỏng"),
}


def snapshot(home: Path) -> dict:
    """Everything a bad input must leave untouched."""
    archive = sorted(
        (str(p.relative_to(home)), hashlib.sha256(p.read_bytes()).hexdigest())
        for p in (home / "archive").rglob("*") if p.is_file()
    )
    with sqlite3.connect(home / "catalog.sqlite") as db:
        catalog = "\n".join(db.iterdump())
    with open_index(home / "index") as index:
        indexed = index.doc_ids()
    staging = sorted(p.name for p in (home / "tmp").iterdir())
    return {"archive": archive, "catalog": catalog, "index": indexed, "staging": staging}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    return {name: writer(folder / name) for name, (writer, _, _) in BAD_INPUTS.items()}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_is_refused_in_one_line_and_changes_nothing(archived, archive_home, bad_files, name):
    _, code, words = BAD_INPUTS[name]
    before = snapshot(archive_home)
    assert before["archive"] and before["index"]  # there is something that could be damaged
    done = run_sohoa(archive_home, "ingest", str(bad_files[name]))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert name in lines[0] and words in lines[0]
    assert "Traceback" not in done.stderr and "/tmp/ingest-" not in lines[0]
    assert snapshot(archive_home) == before
    as_json = run_sohoa(archive_home, "ingest", "--json", str(bad_files[name]))
    (result,) = json_lines(as_json.stdout)
    assert result["status"] == "failed" and result["error"] == code


def test_good_files_beside_bad_ones_are_still_archived(archive_home, bad_files, tmp_path):
    good = scans.write_png(tmp_path / "tờ-trình-mới.png", scans.render_page("giay_moi_17", dpi=150))
    done = run_sohoa(archive_home, "ingest", "--json", str(bad_files["rỗng.pdf"]), str(good),
                     str(bad_files["thư.pdf"]))
    assert done.returncode == 1
    statuses = [r["status"] for r in json_lines(done.stdout)]
    assert statuses == ["failed", "archived", "failed"]
    assert len(done.stderr.strip().splitlines()) == 2


def test_a_missing_file_is_named(archive_home, tmp_path):
    done = run_sohoa(archive_home, "ingest", str(tmp_path / "không-có.pdf"))
    assert done.returncode == 1 and "không-có.pdf" in done.stderr and "không tìm thấy" in done.stderr
