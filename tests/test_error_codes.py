"""One failure, one code: `sohoa ingest --json` and the watch service (its job row and the
reason file beside the file in failed/) name the same real failure with the same stable code,
and every code has a plain Vietnamese meaning and a thing to do (core.errors, issue 14)."""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path

import pytest

from core.errors import CODES, UNEXPECTED, SohoaError, describe
from tests.conftest import json_lines, run_sohoa
from tests.fixtures import scans
from tests.test_input_normalisation import cut_after_page_1
from tests.test_watch_support import Service, big_pdf, make_home, wait_settled

VIETNAMESE_LETTERS = re.compile(r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]", re.I)

FAILURES = {
    # file name: (writer, the one code both the CLI and the service must give)
    "cắt-nửa.pdf": (scans.write_truncated_pdf, "corrupt"),
    "chỉ-còn-trang-1.pdf": (cut_after_page_1, "damaged"),
    "thư-không-phải-pdf.pdf": (scans.write_text_named_pdf, "unsupported-format"),
    "có-mật-khẩu.pdf": (scans.write_encrypted_pdf, "encrypted"),
    "rỗng.pdf": (scans.write_zero_bytes, "empty"),
    "khổng-lồ.png": (scans.write_huge_pixel_png, "too-many-pixels"),
    "ba-trang.pdf": (lambda path: big_pdf(path, 3), "too-many-pages"),  # the home takes 2 at most
}


def test_every_code_has_a_vietnamese_meaning_and_advice():
    for code, entry in CODES.items():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", code), code
        assert VIETNAMESE_LETTERS.search(entry.meaning), (code, entry.meaning)
        assert VIETNAMESE_LETTERS.search(entry.advice), (code, entry.advice)
        assert unicodedata.is_normalized("NFC", entry.meaning + entry.advice), code


def _error_classes() -> list[type]:
    import index.dates, index.engine, ocr.damage, ocr.errors, ocr.libtesseract, ocr.pdfa, ocr.tesseract  # noqa: E401,F401
    import ocr.textlayer, commands.common, pipeline.agency, core.config, pipeline.corrections  # noqa: E401,F401
    import pipeline.withdraw, signing.errors, signing.verify, watch_folders.lock, watch_folders.workers  # noqa: E401,F401

    found, todo = [], [SohoaError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_error_class_has_a_registered_code():
    classes = _error_classes()
    names = {cls.__name__ for cls in classes}
    # The once duck-typed classes, all under one base now.
    assert {"InputRejected", "PdfaInvalid", "TesseractError", "LibraryError", "GlyphlessFontMissing",
            "SigningError", "PasswordNeeded", "SearchIndexError", "DateInputError", "UserError", "AgencyError",
            "ConfigError", "CorrectionError", "WithdrawError", "ServiceAlreadyRunning", "PageLost"} <= names
    for cls in classes[1:]:
        assert cls.code in CODES and cls.code != UNEXPECTED, cls


def test_describe_names_any_exception():
    from ocr.tesseract import TesseractError

    assert describe(TesseractError("không tìm thấy Tesseract")) == ("ocr-failed", "không tìm thấy Tesseract")
    code, reason = describe(ZeroDivisionError("division by zero"))
    assert code == UNEXPECTED and "ZeroDivisionError" in reason and "không mong đợi" in reason


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = make_home(tmp_path_factory.mktemp("codes") / "sohoa-data")
    config = home / "config.toml"
    text, count = re.subn(r"^max_pages = .*$", "max_pages = 2", config.read_text(encoding="utf-8"), flags=re.M)
    assert count == 1
    config.write_text(text, encoding="utf-8")
    return home


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    for name, (writer, _) in FAILURES.items():
        writer(folder / name)
    return folder


@pytest.fixture(scope="module")
def cli_codes(home, inputs) -> dict[str, dict]:
    done = run_sohoa(home, "ingest", "--json", *(str(inputs / name) for name in FAILURES))
    assert done.returncode == 1, done.stderr
    return {Path(line["file"]).name: line for line in json_lines(done.stdout)}


@pytest.fixture(scope="module")
def service_jobs(home, inputs, cli_codes) -> dict[str, dict]:
    for name in FAILURES:
        shutil.copy2(inputs / name, home / "inbox" / "luu-tru" / name)
    with Service(home):
        rows = wait_settled(home, len(FAILURES))
    return {Path(row["source_path"]).name: row for row in rows}


@pytest.mark.parametrize("name", FAILURES)
def test_the_cli_and_the_service_give_one_code_for_one_failure(home, cli_codes, service_jobs, name):
    _, code = FAILURES[name]
    said = cli_codes[name]
    assert said["status"] == "failed" and said["error"] == code, said
    job = service_jobs[name]
    assert job["state"] == "failed" and job["error_code"] == code, job
    assert job["reason"] == said["reason"]  # and the same words
    note = (home / "failed" / "luu-tru" / f"{name}.reason.txt").read_text(encoding="utf-8")
    assert f"(mã lỗi {code}," in note and f"Cách xử lý: {CODES[code].advice}" in note
