"""Leftovers of earlier sessions, each through the real CLI or service:

- a truncated PDF (a real scanner file cut short, or a generated one) is refused in one
  Vietnamese line that names the file, says it is cut short or damaged and what to do, by
  `sohoa ingest` and in the watch service's reason note alike, and nothing is archived;
- `sohoa show` says how a document was signed in words, not the signature field's name
  and a "?";
- the start-up configuration check quotes values «so», not with Python's repr;
- ServiceHome.index_lock (never used) is gone.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import json_lines, run_sohoa
from tests.fixtures import scans
from tests.test_watch_support import Service, jobs, make_home, query, tiny_scan, wait_settled
from watch_folders.paths import ServiceHome

REAL_SCANS = Path(__file__).resolve().parents[2] / "shared" / "realscans"
CAUSE = "tệp PDF bị hỏng hoặc bị cắt cụt"
ADVICE = "quét lại hoặc chép lại tệp từ máy quét"
# qpdf's own words, which must stay in the log
ENGLISH = re.compile(r"\b(unable|trailer dictionary|while|recovering|damaged|file)\b", re.I)


def cut(source: Path, path: Path, share: float = 0.6) -> Path:
    """The first part of a file, as an interrupted copy from the scanner leaves it."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])
    return path


TRUNCATED = {
    # not linearised: qpdf cannot open it at all
    "cắt-36.pdf": lambda p: cut(REAL_SCANS / "hau-giang-2010-36.pdf", p),
    # linearised: its first dictionary says how long it should be
    "cắt-22.pdf": lambda p: cut(REAL_SCANS / "hau-giang-2010-22.pdf", p),
    # generated: qpdf opens it but no page decodes
    "cắt-sinh.pdf": scans.write_truncated_pdf,
}


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return make_home(tmp_path_factory.mktemp("leftover") / "sohoa-data", signing=True)


def documents(home: Path) -> int:
    return query(home, "SELECT count(*) AS n FROM documents")[0]["n"]


def archive_files(home: Path) -> list[Path]:
    return sorted(p for p in (home / "archive").rglob("*") if p.is_file())


def refusal_of(line: str, path: Path) -> str:
    """The reason after `sohoa: lỗi: PATH: `."""
    prefix = f"sohoa: lỗi: {path}: "
    assert line.startswith(prefix), line
    return line[len(prefix):]


@pytest.mark.parametrize("name", TRUNCATED)
def test_a_truncated_pdf_is_refused_in_one_vietnamese_line(home, tmp_path, name):
    source = TRUNCATED[name](tmp_path / name)
    before, archived = documents(home), archive_files(home)
    done = run_sohoa(home, "ingest", str(source))
    assert done.returncode == 1  # as any refused file
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    said = refusal_of(lines[0], source)
    assert said.startswith(CAUSE) and said.endswith(ADVICE), said
    assert not ENGLISH.search(said), said
    assert documents(home) == before and archive_files(home) == archived
    (result,) = json_lines(run_sohoa(home, "ingest", "--json", str(source)).stdout)
    assert result["status"] == "failed" and result["error"] == "corrupt"


def test_the_watch_service_gives_the_same_reason(home, tmp_path):
    source = TRUNCATED["cắt-36.pdf"](tmp_path / "cắt-36.pdf")
    said = refusal_of(run_sohoa(home, "ingest", str(source)).stderr.strip(), source)
    before = len(jobs(home))
    shutil.copyfile(source, home / "inbox" / "van-ban-den" / "bản-quét-cắt.pdf")
    with Service(home):
        (job,) = [j for j in wait_settled(home, before + 1) if j["source_path"] == "van-ban-den/bản-quét-cắt.pdf"]
    assert job["state"] == "failed" and job["error_code"] == "corrupt"
    assert job["reason"] == said
    note = (home / "failed" / "van-ban-den" / "bản-quét-cắt.pdf.reason.txt").read_text(encoding="utf-8")
    assert f"Không lưu vào kho được vì: {said}\n" in note and "van-ban-den/bản-quét-cắt.pdf" in note
    assert not ENGLISH.search(note.split("Cách xử lý:")[0]), note
    assert query(home, "SELECT count(*) AS n FROM documents WHERE original_sha256 = ?", (job["sha256"],))[0]["n"] == 0


def test_show_says_how_the_document_was_signed(home, tmp_path):
    scan = tiny_scan(tmp_path / "giấy-mời.jpg", variant=51)
    done = run_sohoa(home, "ingest", "--json", str(scan))
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done.stdout)
    document = str(result["id"])
    assert run_sohoa(home, "set", document, "place=Hà Nội").returncode == 0
    shown = run_sohoa(home, "show", document)
    assert shown.returncode == 0, shown.stderr
    (signed,) = [line for line in shown.stdout.splitlines() if " ký số " in line]
    # the test home signs at B-B with a visible stamp (config.toml made by `sohoa init`)
    assert signed.rstrip().endswith("xong (chữ ký cơ quan, mức PAdES B-B, hiện trên trang)"), signed
    (corrected,) = [line for line in shown.stdout.splitlines() if "sửa trường" in line]
    assert "(Địa danh, " in corrected and "?" not in corrected, corrected
    assert "ChuKySoCoQuan" not in shown.stdout and "?)" not in shown.stdout


@pytest.mark.parametrize("edit, quoted", [
    ((r'^engine = "tantivy"$', 'engine = "tantivyy"'), ("[index] engine = «tantivyy»", "«tantivy» hoặc «whoosh»")),
    ((r'^language = "vie"$', 'language = "vie+xyz"'), ("[ocr] language = «vie+xyz»", "Tesseract «xyz»")),
])
def test_the_start_up_check_quotes_values_like_other_messages(tmp_path, edit, quoted):
    home = tmp_path / "sohoa-data"
    assert run_sohoa(home, "init").returncode == 0
    config = home / "config.toml"
    text, count = re.subn(edit[0], edit[1], config.read_text(encoding="utf-8"), count=1, flags=re.M)
    assert count == 1
    config.write_text(text, encoding="utf-8")
    done = run_sohoa(home, "ingest", str(tiny_scan(tmp_path / "giấy-mời.jpg", variant=52)))
    assert done.returncode != 0
    (line,) = done.stderr.strip().splitlines()
    assert all(words in line for words in quoted), line
    assert "'" not in line, line


def test_service_home_index_lock_is_gone():
    """It named a lock file nothing took or made; a second name for a lock would mislead."""
    root = Path(__file__).resolve().parents[1]
    assert not hasattr(ServiceHome, "index_lock")
    users = [p for folder in ("commands", "core", "pipeline", "watch_folders", "web", "index")
             for p in (root / folder).rglob("*.py") if "index_lock" in p.read_text(encoding="utf-8")]
    assert not users
