"""Withdraw, don't delete (issue 13, point 6): `sohoa withdraw` takes a record out of search
and keeps its files and audit trail; junk pages are archived flagged for review, not
silently. Real documents through the installed CLI."""

from __future__ import annotations

import getpass
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import json_lines, run_sohoa
from tests.test_watch_support import make_home, tiny_scan


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, list[dict]]:
    """Two tiny real scans of different documents, ingested once; each test gets a copy."""
    home = make_home(tmp_path_factory.mktemp("withdraw") / "home")
    scans = [tiny_scan(home.parent / "giay-moi.jpg", doc="giay_moi_17"),
             tiny_scan(home.parent / "ke-hoach.jpg", doc="ke_hoach_42")]
    done = run_sohoa(home, "ingest", "--json", *map(str, scans))
    assert done.returncode == 0, done.stderr
    return home, json_lines(done.stdout)


@pytest.fixture
def archive(pristine, tmp_path) -> tuple[Path, list[dict]]:
    home, documents = pristine
    copy = tmp_path / "home"
    shutil.copytree(home, copy, symlinks=True)
    return copy, documents


def found_ids(home: Path, query: str) -> list[int]:
    done = run_sohoa(home, "search", "--json", query)
    assert done.returncode == 0, done.stderr
    return [result["id"] for result in json.loads(done.stdout)["results"]]


def number_of(document: dict) -> str:
    number = document["metadata"].get("number")
    assert number, document["metadata"]
    return number


def queries_for(document: dict) -> list[str]:
    """Its number, and words of its text (the summary read from the page)."""
    return [number_of(document), document["metadata"]["summary"]]


def test_withdrawn_record_leaves_search_but_keeps_files_trail_and_fixity(archive):
    home, (withdrawn, kept) = archive
    queries = queries_for(withdrawn)
    for query in queries:
        assert withdrawn["id"] in found_ids(home, query), query  # findable before

    done = run_sohoa(home, "withdraw", str(withdrawn["id"]), "--reason", "Bản trùng, quét nhầm")
    assert done.returncode == 0, done.stderr
    assert "đã rút khỏi kho" in done.stdout

    for query in queries:
        assert withdrawn["id"] not in found_ids(home, query), query
    assert kept["id"] in found_ids(home, number_of(kept))
    # the index itself no longer holds it, and check expects exactly that
    check = run_sohoa(home, "check", "--json")
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["indexed_documents"] == 1

    shown = run_sohoa(home, "show", str(withdrawn["id"]))
    assert shown.returncode == 0, shown.stderr
    line = next(line for line in shown.stdout.splitlines() if "ĐÃ RÚT KHỎI KHO" in line)
    assert "lý do: Bản trùng, quét nhầm" in line
    details = json.loads(run_sohoa(home, "show", "--json", str(withdrawn["id"])).stdout)
    assert details["withdrawn"]["reason"] == "Bản trùng, quét nhầm"
    assert details["withdrawn"]["by"] == getpass.getuser()
    deaccession = [e for e in details["events"] if e["step"] == "deaccession"]
    assert len(deaccession) == 1
    assert deaccession[0]["detail"]["reason"] == "Bản trùng, quét nhầm"
    assert deaccession[0]["detail"]["by"] == getpass.getuser()
    assert {"received", "archived", "indexed"} <= {e["step"] for e in details["events"]}

    # every file is still there, byte for byte
    for key in ("original", "pdfa", "sidecar"):
        path = Path(details[key])
        assert path.is_file(), path
    assert hashlib.sha256(Path(details["original"]).read_bytes()).hexdigest() == withdrawn["original_sha256"]
    assert hashlib.sha256(Path(details["pdfa"]).read_bytes()).hexdigest() == withdrawn["pdfa_sha256"]

    # fixity is still owed: verify and audit check it, labelled withdrawn
    verified = run_sohoa(home, "verify", "--all")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    mine = [line for line in verified.stdout.splitlines() if f"[mã {withdrawn['id']}]" in line]
    assert mine and mine[0].startswith("✓") and "đã rút khỏi kho" in mine[0]
    audited = run_sohoa(home, "audit", "--json")
    assert audited.returncode == 0, audited.stdout + audited.stderr
    results = {r["id"]: r for r in json_lines(audited.stdout) if "id" in r}
    assert results[withdrawn["id"]]["withdrawn"] is True and results[withdrawn["id"]]["ok"] is True
    assert results[kept["id"]]["withdrawn"] is False

    # a tampered withdrawn record still fails verification
    Path(details["original"]).write_bytes(b"garbage")
    assert run_sohoa(home, "verify", str(withdrawn["id"])).returncode == 1


def test_withdraw_twice_says_so_and_reinstate_puts_it_back(archive):
    home, (withdrawn, _) = archive
    number = number_of(withdrawn)
    assert run_sohoa(home, "withdraw", str(withdrawn["id"]), "--reason", "nhầm").returncode == 0
    again = run_sohoa(home, "withdraw", str(withdrawn["id"]), "--reason", "nhầm lần hai")
    assert again.returncode == 0, again.stderr
    assert "đã được rút khỏi kho" in again.stdout and "nhầm" in again.stdout
    events = json.loads(run_sohoa(home, "show", "--json", str(withdrawn["id"])).stdout)["events"]
    assert [e["step"] for e in events].count("deaccession") == 1

    # a reindex from the catalog leaves it out too
    assert run_sohoa(home, "reindex").returncode == 0
    assert withdrawn["id"] not in found_ids(home, number)
    assert run_sohoa(home, "check").returncode == 0

    back = run_sohoa(home, "reinstate", str(withdrawn["id"]), "--reason", "rút nhầm")
    assert back.returncode == 0, back.stderr
    assert withdrawn["id"] in found_ids(home, number)
    assert run_sohoa(home, "check").returncode == 0
    details = json.loads(run_sohoa(home, "show", "--json", str(withdrawn["id"])).stdout)
    assert details["withdrawn"] is None
    assert [e["step"] for e in details["events"]][-1] == "reinstatement"
    assert "ĐÃ RÚT" not in run_sohoa(home, "show", str(withdrawn["id"])).stdout


def test_withdraw_refuses_without_reason_or_record(archive):
    home, (document, _) = archive
    no_reason = run_sohoa(home, "withdraw", str(document["id"]))
    assert no_reason.returncode == 1 and "--reason" in no_reason.stderr
    missing = run_sohoa(home, "withdraw", "999", "--reason", "x")
    assert missing.returncode == 1 and "999" in missing.stderr
    assert document["id"] in found_ids(home, number_of(document))


def test_blank_scan_and_thumbnail_are_archived_flagged_not_silently(tmp_path):
    from PIL import Image

    home = make_home(tmp_path / "home")
    blank = tmp_path / "trang-trang.png"
    Image.new("L", (2480, 3508), 255).save(blank, dpi=(300, 300))  # an all-white A4 sheet
    thumbnail = tmp_path / "anh-nho.jpg"
    tiny_scan(tmp_path / "scan.jpg")
    with Image.open(tmp_path / "scan.jpg") as page:
        page.convert("RGB").resize((80, 110)).save(thumbnail, dpi=(300, 300))
    real = tiny_scan(tmp_path / "that.jpg", variant=3)

    done = run_sohoa(home, "ingest", str(blank), str(thumbnail), str(real))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for name, reason in (("trang-trang.png", "trang trắng"), ("anh-nho.jpg", "ảnh quá nhỏ để là một trang văn bản (7 × 9 mm)")):
        head = next(i for i, line in enumerate(lines) if name in line)
        assert lines[head].startswith("⚠"), lines[head]
        warning = next(line for line in lines[head + 1:] if line.strip().startswith("⚠ cần kiểm tra"))
        assert reason in warning, warning
    assert next(line for line in lines if "that.jpg" in line).startswith("✓")

    review = run_sohoa(home, "review")
    assert review.returncode == 0, review.stderr
    assert "[mã 1] trang-trang.png: trang trắng" in review.stdout
    thumbnail_line = next(line for line in review.stdout.splitlines() if line.startswith("[mã 2] anh-nho.jpg:"))
    assert "ảnh quá nhỏ để là một trang văn bản (7 × 9 mm)" in thumbnail_line  # (it may read as blank too)
    assert "[mã 3]" not in review.stdout.split("cần xem lại cả bản quét")[1]
    flagged = {d["id"]: d for d in json_lines(run_sohoa(home, "review", "--json").stdout) if "needs_review" in d}
    assert flagged[1]["needs_review"] == ["trang trắng"] and 2 in flagged and 3 not in flagged
    shown = json.loads(run_sohoa(home, "show", "--json", "1").stdout)
    assert shown["metadata"]["needs_review"] == ["trang trắng"]
    assert Path(shown["original"]).read_bytes() == blank.read_bytes()  # archived, not refused

    # withdrawn junk leaves the review list
    assert run_sohoa(home, "withdraw", "2", "--reason", "ảnh thu nhỏ, không phải tài liệu").returncode == 0
    assert "anh-nho.jpg" not in run_sohoa(home, "review").stdout


def test_watch_service_warns_of_a_thumbnail(tmp_path):
    from PIL import Image

    from tests.test_watch_support import Service, wait_for

    home = make_home(tmp_path / "home")
    scan = tiny_scan(tmp_path / "scan.jpg")
    thumbnail = tmp_path / "anh-nho.jpg"
    with Image.open(scan) as page:
        page.convert("RGB").resize((80, 110)).save(thumbnail, dpi=(300, 300))
    with Service(home) as service:
        thumbnail.rename(home / "inbox" / "van-ban-den" / "anh-nho.jpg")
        said = wait_for(lambda: [line for line in service.output().splitlines() if "cần kiểm tra" in line],
                        120, "the service's warning")
    assert said[0].startswith("  ⚠") and "anh-nho.jpg" in said[0]
    assert "ảnh quá nhỏ để là một trang văn bản (7 × 9 mm)" in said[0]
    done = next(line for line in service.output().splitlines() if "anh-nho.jpg →" in line)
    assert done.startswith("⚠"), done
    assert "event=needs-review" in service.log()
