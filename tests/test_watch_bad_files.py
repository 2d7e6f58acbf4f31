"""Bad files dropped among good ones: each moved to failed/<profile>/ beside a plain reason,
the details in the log, and the service goes on with the next file."""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import pikepdf
import pytest

from tests.fixtures import scans
from tests.test_watch_support import Service, jobs, make_home, query, tiny_scan, wait_settled


def write_zero_page_pdf(path: Path) -> Path:
    pikepdf.new().save(path)
    return path


BAD = {
    # path in the inbox: (writer, error code, words the reason must contain)
    "van-ban-den/rỗng.pdf": (scans.write_zero_bytes, "empty", "rỗng"),
    "van-ban-den/bị-cắt.pdf": (scans.write_truncated_pdf, "corrupt", "cắt cụt"),
    "van-ban-di/có-mật-khẩu.pdf": (scans.write_encrypted_pdf, "encrypted", "mật khẩu"),
    "van-ban-di/thư.pdf": (scans.write_text_named_pdf, "unsupported-format", "không phải PDF"),
    "luu-tru/không-trang.pdf": (write_zero_page_pdf, "corrupt", "không có trang nào"),
    "luu-tru/khổng-lồ.png": (scans.write_huge_pixel_png, "too-many-pixels", "quá lớn"),
    "luu-tru/hộp-1/hỏng.tif": (scans.write_corrupt_tiff, "corrupt", "hỏng"),
    "van-ban-den/ghi-chú.docx": (lambda p: p.write_bytes(b"PK\x03\x04 not a scan") and p, "unsupported-format",
                                 "không phải PDF, TIFF, JPEG hay PNG"),
    "thả-nhầm-chỗ.jpg": (lambda p: tiny_scan(p, variant=40), "no-profile", "không nằm trong thư mục hồ sơ nào"),
}
NON_UTF8_NAME = "công-văn.jpg"  # saved by an old Windows machine in its code page, Windows-1258
NFD_NAME = unicodedata.normalize("NFD", "quyết-định-15.jpg")  # as a Mac writes it on a share


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = make_home(tmp_path_factory.mktemp("bad") / "sohoa-data", signing=True)  # as `sohoa init` sets it
    inbox = home / "inbox"
    for name, (writer, _, _) in BAD.items():
        (inbox / name).parent.mkdir(parents=True, exist_ok=True)
        writer(inbox / name)
    raw_name = os.fsdecode(NON_UTF8_NAME.encode("cp1258"))
    tiny_scan(inbox / "van-ban-den" / raw_name, variant=41)
    tiny_scan(inbox / "luu-tru" / NFD_NAME, variant=42)
    with Service(home):
        wait_settled(home, len(BAD) + 2)
        # and it goes on: a good file dropped after all of them is archived
        tiny_scan(inbox / "van-ban-di" / "sau-cùng.jpg", variant=43)
        wait_settled(home, len(BAD) + 3)
    return home


def service_log(home: Path) -> str:
    return (home / "logs" / "sohoa.log").read_text(encoding="utf-8")


def job_of(home: Path, name: str) -> dict:
    (job,) = [j for j in jobs(home) if j["source_path"] == unicodedata.normalize("NFC", name)]
    return job


@pytest.mark.parametrize("name", BAD)
def test_a_bad_file_goes_to_failed_with_a_plain_reason(home, name):
    _, code, words = BAD[name]
    job = job_of(home, name)
    assert job["state"] == "failed" and job["error_code"] == code and words in job["reason"]
    failed = home / "failed" / name
    assert failed.is_file() and not (home / "inbox" / name).exists()
    reason = (failed.parent / f"{failed.name}.reason.txt").read_text(encoding="utf-8")
    assert name in reason and words in reason and "Cách xử lý:" in reason
    assert "Traceback" not in reason and "/tmp/" not in reason
    assert query(home, "SELECT count(*) AS n FROM documents WHERE original_sha256 = ?", (job["sha256"],))[0]["n"] == 0


def test_the_technical_details_go_to_the_log(home):
    job = job_of(home, "van-ban-den/bị-cắt.pdf")
    log = service_log(home)
    assert f"event=traceback job={job['id']} " in log and "Traceback (most recent call last)" in log
    assert f'event=failed job={job["id"]} file=van-ban-den/bị-cắt.pdf code=corrupt' in log


def test_a_non_utf8_name_is_archived_under_its_windows_1258_reading(home):
    job = job_of(home, f"van-ban-den/{NON_UTF8_NAME}")
    assert job["state"] == "done"
    (doc,) = query(home, "SELECT original_name FROM documents WHERE id = ?", (job["document_id"],))
    assert doc["original_name"] == NON_UTF8_NAME
    assert NON_UTF8_NAME.encode("cp1258") in os.listdir(os.fsencode(home / "done" / "van-ban-den"))
    assert "event=name-not-utf8" in service_log(home)


def test_an_nfd_name_is_recorded_in_nfc(home):
    job = job_of(home, f"luu-tru/{NFD_NAME}")
    assert job["state"] == "done"
    (doc,) = query(home, "SELECT original_name, metadata_json FROM documents WHERE id = ?", (job["document_id"],))
    nfc = unicodedata.normalize("NFC", NFD_NAME)
    assert doc["original_name"] == nfc and json.loads(doc["metadata_json"])["title"] == nfc


def test_the_service_went_on_after_the_bad_files(home):
    assert job_of(home, "van-ban-di/sau-cùng.jpg")["state"] == "done"
    assert not [p for p in (home / "inbox").rglob("*") if p.is_file()]


def test_signing_follows_the_profile(home):
    def signed(name):
        job = job_of(home, name)
        (event,) = query(home, "SELECT outcome FROM events WHERE document_id = ? AND step = 'signed'",
                         (job["document_id"],))
        data = (home / "archive" / query(home, "SELECT pdfa_file FROM documents WHERE id = ?",
                                         (job["document_id"],))[0]["pdfa_file"]).read_bytes()
        return event["outcome"], b"/ByteRange" in data

    assert signed(f"luu-tru/{NFD_NAME}") == ("ok", True)  # luu-tru: sign = true
    assert signed("van-ban-di/sau-cùng.jpg") == ("ok", True)  # van-ban-di: sign = true
    assert signed(f"van-ban-den/{NON_UTF8_NAME}") == ("skipped", False)  # van-ban-den: sign = false


# Root reads any file whatever its mode; without these two capabilities it obeys the mode
# bits like the service account of an office server would.
AS_AN_ORDINARY_ACCOUNT = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--") \
    if os.geteuid() == 0 else ()


def test_a_file_that_stays_unreadable_fails_after_its_tries_and_the_service_goes_on(tmp_path):
    home = make_home(tmp_path / "sohoa-data", max_attempts=2, retry_seconds=0.5)
    locked = home / "inbox" / "van-ban-den" / "khóa-quyền.jpg"
    tiny_scan(locked, variant=44)
    locked.chmod(0)
    with Service(home, prefix=AS_AN_ORDINARY_ACCOUNT):
        (job,) = wait_settled(home, 1, timeout=60)
        tiny_scan(home / "inbox" / "van-ban-den" / "đọc-được.jpg", variant=45)
        wait_settled(home, 2)
    assert job["state"] == "failed" and job["error_code"] == "unreadable" and job["source_cleared"]
    assert "không đọc được tệp" in job["reason"] and "2 lần" in job["reason"]
    failed = home / "failed" / "van-ban-den" / "khóa-quyền.jpg"
    assert failed.is_file() and not locked.exists()
    reason = (failed.parent / f"{failed.name}.reason.txt").read_text(encoding="utf-8")
    assert "không đọc được tệp" in reason and "quyền đọc" in reason
    readable = job_of(home, "van-ban-den/đọc-được.jpg")
    assert readable["state"] == "done"
