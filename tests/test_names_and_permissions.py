"""Issue 11, points 7 and 8: names that do not fit or that carry control characters, and a
home that only the service's user and group can read."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import unicodedata
from pathlib import Path

from tests.conftest import run_sohoa
from tests.test_watch_support import Service, jobs, make_home, query, tiny_scan, wait_for, wait_settled
from watch_folders.eventlog import console_text, logfmt
from core.names import NAME_MAX, byte_length, fit_name, printable, shown

# 80 Vietnamese characters, 3 bytes each in NFC for most: the length a clerk's descriptive
# file name reaches ("Quyết định về việc ..."), close to NAME_MAX.
_WORDS = "Quyết định về việc phê duyệt kế hoạch tổ chức hội nghị tổng kết công tác văn thư lưu trữ năm "


def vietnamese_name(size: int, extension: str) -> str:
    """An NFC name of exactly `size` bytes."""
    text = ""
    while byte_length(text + extension) < size:
        text += _WORDS[len(text) % len(_WORDS)]
    while byte_length(text + extension) > size:
        text = text[:-1]
    text += "x" * (size - byte_length(text + extension))
    return unicodedata.normalize("NFC", text) + extension


_CONTROL = ("\x1b", "\x07", "\r", "\x9b", "\u202e")


# -- the parts ---------------------------------------------------------------------------


def test_fit_name_shortens_only_what_would_not_fit_and_keeps_names_apart():
    short = "công văn 268.pdf"
    assert fit_name(short, ".reason.txt") == short
    long_a = vietnamese_name(250, ".pdf")
    long_b = long_a[:-5] + "z.pdf"  # same start, other end
    fitted_a, fitted_b = fit_name(long_a, ".reason.txt"), fit_name(long_b, ".reason.txt")
    for original, fitted in ((long_a, fitted_a), (long_b, fitted_b)):
        assert fitted != original and fitted.endswith(".pdf")
        assert byte_length(fitted + ".reason.txt") <= NAME_MAX
        assert fitted.encode("utf-8").decode("utf-8") == fitted  # cut between characters
        assert original.startswith(fitted.split("…")[0])
        assert fit_name(original, ".reason.txt") == fitted  # the same every time
    assert fitted_a != fitted_b
    # NFD: never between a letter and its accent
    nfd = unicodedata.normalize("NFD", "ệ" * 120 + ".tif")
    cut = fit_name(nfd).split("…")[0]
    assert unicodedata.normalize("NFC", cut) == "ệ" * len(unicodedata.normalize("NFC", cut))
    # a name not in UTF-8 (one byte a character) is measured in its bytes
    raw = os.fsdecode(bytes(range(0xE0, 0x100)) * 9 + b".jpg")
    fitted = fit_name(raw)
    assert raw.startswith(fitted.split("…")[0]) and fitted.endswith(".jpg")
    assert byte_length(fitted) == NAME_MAX


def test_control_characters_are_escaped_on_the_console_and_in_the_log():
    name = "a\x1b[2J\x07b\r\nsohoa: giả mạo\u202egpj.pdf\x9b\x7f"
    said = shown(f"✓ {name} → mã 3")
    assert said.isprintable() and "\\x1b[2J\\x07b\\x0d\\x0asohoa: giả mạo\\u202egpj.pdf\\x9b\\x7f" in said
    assert shown("✓ công văn số 5.pdf → mã 3") == "✓ công văn số 5.pdf → mã 3"
    # the console: the event's file name escaped whole; the message's own line breaks kept
    text = console_text(f"✓ van-ban-den/{name} → mã 3\nXem: sohoa status", f"van-ban-den/{name}")
    assert text.split("\n") == [f"✓ van-ban-den/{shown(name)} → mã 3", "Xem: sohoa status"]
    line = logfmt("done", {"file": name, "job": 3, "plain": "văn-bản"})
    assert line.isprintable() and " plain=văn-bản" in line and line.startswith('event=done file="a\\u001b[2J')
    assert "\\u202e" in line and "\\u009b" in line and "\\u007f" in line


# -- the service -------------------------------------------------------------------------


def test_long_names_that_fail_or_duplicate_leave_the_inbox_with_their_notes(tmp_path):
    """A 240-byte name (80 Vietnamese characters) and a 252-byte one used to sit in the
    inbox for ever: their note's temporary name passed NAME_MAX."""
    home = make_home(tmp_path / "home")
    inbox = home / "inbox" / "van-ban-den"
    inbox.mkdir(parents=True, exist_ok=True)
    failing = [vietnamese_name(240, ".pdf"), vietnamese_name(252, ".pdf")]
    with Service(home) as service:
        tiny_scan(inbox / "ban-goc.jpg")
        wait_settled(home, 1)
        for name in failing:
            (inbox / name).write_bytes(b"")  # empty: fails
        duplicate = vietnamese_name(253, ".jpg")
        (inbox / duplicate).write_bytes(_archived_original(home))
        rows = wait_settled(home, 4, timeout=90)
        for name in failing:  # again: the names in failed/ are taken, numbered ones must fit too
            (inbox / name).write_bytes(b"")
        again = wait_settled(home, 6, timeout=90)[4:]
    assert [r["state"] for r in again] == ["failed", "failed"], service.output()
    states = {r["source_path"]: r["state"] for r in rows}
    assert states == {"van-ban-den/ban-goc.jpg": "done", f"van-ban-den/{failing[0]}": "failed",
                      f"van-ban-den/{failing[1]}": "failed", f"van-ban-den/{duplicate}": "duplicate"}, \
        service.output()
    assert not list(inbox.iterdir())
    failed = home / "failed" / "van-ban-den"
    for name in failing:
        placed = fit_name(name, ".reason.txt")
        assert (failed / placed).is_file() and (failed / placed).stat().st_size == 0
        note = (failed / (placed + ".reason.txt")).read_text(encoding="utf-8")
        assert f"Tệp: van-ban-den/{name}" in note and "rỗng" in note
    assert fit_name(failing[0], ".reason.txt") == failing[0]  # 240 bytes fit: kept whole
    notes = sorted(failed.glob("*.reason.txt"))
    assert len(notes) == 4 and len(list(failed.iterdir())) == 8
    assert all(byte_length(p.name) <= NAME_MAX and Path(str(p)[: -len(".reason.txt")]).is_file() for p in notes)
    named = sorted(p.read_text(encoding="utf-8").split("\n")[0] for p in notes)
    assert named == sorted(f"Tệp: van-ban-den/{name}" for name in failing * 2)
    placed = fit_name(duplicate, ".note.txt")
    assert placed != duplicate
    assert (home / "duplicate" / "van-ban-den" / placed).read_bytes() == _archived_original(home)
    assert "đã có trong kho" in (home / "duplicate" / "van-ban-den" / (placed + ".note.txt")).read_text(encoding="utf-8")


def _archived_original(home: Path) -> bytes:
    (row,) = query(home, "SELECT original_file FROM documents")
    return (home / "archive" / row["original_file"]).read_bytes()


def test_a_name_not_in_utf8_that_grows_when_decoded_is_archived(tmp_path):
    """200 bytes of Windows-1258 letters: about 400 bytes once decoded, more than NAME_MAX;
    the service's copy used to be named with the decoded name, and was never made."""
    home = make_home(tmp_path / "home")
    raw = bytes(0xE0 + i % 32 for i in range(200)) + b".jpg"
    folder = home / "inbox" / "van-ban-den"
    folder.mkdir(parents=True, exist_ok=True)
    scan = tiny_scan(tmp_path / "scan.jpg")
    with Service(home) as service:
        with open(os.path.join(os.fsencode(folder), raw), "wb") as handle:
            handle.write(scan.read_bytes())
        (row,) = wait_settled(home, 1)
    assert row["state"] == "done", service.output()
    decoded = printable(os.fsdecode(raw))
    assert row["source_path"] == f"van-ban-den/{decoded}" and byte_length(decoded) > NAME_MAX
    (document,) = query(home, "SELECT original_name, original_sha256 FROM documents")
    assert document["original_name"] == fit_name(decoded)
    assert not os.listdir(os.fsencode(folder))
    assert "event=name-not-utf8" in service.log()
    # What the service wrote (archive, catalog, log, folders) is not readable by others. The
    # clerk's own file, moved to done/, keeps the clerk's mode (the service, not its owner,
    # could not change it) but lies behind done/'s: no one else can reach it.
    moved = set((home / "done").rglob("*.jpg"))
    assert len(moved) == 1
    assert _open_to_others(home, skip={service.stdout_path, *moved}) == []


def test_control_characters_in_a_name_print_no_raw_control_and_no_line_of_their_own(tmp_path):
    home = make_home(tmp_path / "home")
    name = "a\x1b[31m\x07b\r\nsohoa: giả mạo đã lưu\u202egpj.jpg"
    with Service(home) as service:
        tiny_scan(home / "inbox" / "van-ban-den" / name)
        (row,) = wait_settled(home, 1)
    assert row["state"] == "done" and row["source_path"] == f"van-ban-den/{name}"
    for text in (service.output(), service.log()):
        lines = text.split("\n")
        assert not any(c in text for c in _CONTROL), [line for line in lines if "giả mạo" in line]
        mentions = [line for line in lines if "giả mạo" in line]
        assert mentions and all("a\\x1b" in line or "a\\u001b" in line for line in mentions), mentions
    assert any(line.startswith("✓ van-ban-den/a\\x1b[31m\\x07b\\x0d\\x0asohoa: giả mạo")
               for line in service.output().splitlines())


# -- permissions -------------------------------------------------------------------------


def _open_to_others(root: Path, skip=frozenset()) -> list[str]:
    found = []
    for folder, folders, files in os.walk(root):
        for name in [*folders, *files, ""] if folder == str(root) else [*folders, *files]:
            path = Path(folder, name) if name else Path(folder)
            if path in skip:
                continue
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode) and mode & 0o007:
                found.append(f"{oct(stat.S_IMODE(mode))} {path}")
    return found


def test_init_under_umask_022_leaves_nothing_to_others(tmp_path):
    old = os.umask(0o022)  # the commonest default: what the child inherits
    try:
        done = run_sohoa(tmp_path / "home", "init")
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr
    home = tmp_path / "home"
    assert (home / "catalog.sqlite").is_file() and (home / "keys").is_dir()
    assert _open_to_others(home) == []
    assert stat.S_IMODE(os.lstat(home).st_mode) == 0o750
    assert stat.S_IMODE(os.lstat(home / "config.toml").st_mode) == 0o640
    keys = [p for p in (home / "keys").iterdir() if p.suffix in (".p12", ".pin")]
    assert len(keys) == 2 and all(stat.S_IMODE(os.lstat(p).st_mode) == 0o600 for p in keys)
    for inbox in (home / "inbox", *(home / "inbox").iterdir()):
        assert stat.S_IMODE(os.lstat(inbox).st_mode) == 0o2770, inbox  # the clerks' group writes


def test_init_tightens_a_home_an_old_release_left_world_readable(tmp_path):
    home = tmp_path / "home"
    assert run_sohoa(home, "init").returncode == 0
    outside = tmp_path / "ngoai-kho.txt"
    outside.write_text("không thuộc kho")
    os.chmod(outside, 0o644)
    (home / "inbox" / "van-ban-den" / "lien-ket.txt").symlink_to(outside)
    for folder, folders, files in os.walk(home):
        os.chmod(folder, 0o755)
        for name in files:
            if not os.path.islink(os.path.join(folder, name)):
                os.chmod(os.path.join(folder, name), 0o644)
    assert len(_open_to_others(home)) > 10
    done = run_sohoa(home, "init")
    assert done.returncode == 0, done.stderr
    assert "bỏ quyền của người dùng khác" in done.stdout
    assert _open_to_others(home) == []
    assert stat.S_IMODE(os.lstat(outside).st_mode) == 0o644  # a link is not followed
    assert stat.S_IMODE(os.lstat(home / "inbox" / "luu-tru").st_mode) == 0o2770
    again = run_sohoa(home, "init")
    assert "bỏ quyền" not in again.stdout  # nothing left to do, nothing said


def test_status_lists_files_left_in_the_inbox_too_long(tmp_path):
    """A file never taken (no service), and one whose job ended but which could not leave
    (here: put back, its job marked not cleared, as a refused move leaves it) are named by
    `sohoa status`; a file that just arrived is not."""
    home = make_home(tmp_path / "home")
    inbox = home / "inbox" / "van-ban-den"
    with Service(home):
        (inbox / "rong.pdf").write_bytes(b"")
        (row,) = wait_settled(home, 1)
    assert row["state"] == "failed"
    (inbox / "rong.pdf").write_bytes(b"")
    with sqlite3.connect(home / "catalog.sqlite") as db:
        db.execute("UPDATE watch_jobs SET source_cleared = 0 WHERE id = ?", (row["id"],))
    (inbox / "chua\x1bnhan.jpg").write_bytes(b"\xff\xd8")
    overdue = 0.5 + 2 * 1.5 + 3  # FAST: quiet + 2 rescans + incomplete
    said = wait_for(lambda: (lambda out: out if "rong.pdf" in out else None)(
        run_sohoa(home, "status").stdout), overdue + 30, "status to name the stuck files")
    assert "Tệp nằm lâu trong thư mục nhận: 2 (dịch vụ không chạy" in said
    assert "van-ban-den/rong.pdf" in said and f"công việc số {row['id']} đã xong (lỗi)" in said
    assert "van-ban-den/chua\\x1bnhan.jpg" in said and "\x1b" not in said
    (inbox / "moi-den.jpg").write_bytes(b"\xff\xd8")
    listed = json.loads(run_sohoa(home, "status", "--json").stdout)["stuck_in_inbox"]
    assert sorted(item["file"] for item in listed) == ["van-ban-den/chua\x1bnhan.jpg", "van-ban-den/rong.pdf"]
    assert all(item["seconds"] >= overdue for item in listed)
