"""200 files dropped at once: every one accounted for, exactly once.

Most are copies (duplicates cost no OCR), so the test stays cheap while the intake, the
job table and the folders take the full load.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3

from tests.fixtures import scans
from tests.test_watch_support import (
    Service, inbox_files, jobs, jpeg_bytes, make_home, query, wait_for, wait_settled,
)

PROFILES = ("van-ban-den", "van-ban-di", "luu-tru")


def test_200_files_at_once(tmp_path):
    home = make_home(tmp_path / "sohoa-data")
    distinct = [jpeg_bytes(variant=v, doc=("giay_moi_17", "cong_van_268")[v % 2]) for v in range(8)]
    with Service(home):
        names = {}
        for number in range(198):
            name = f"{PROFILES[number % 3]}/lô-{number % 5}/quét-{number:03d}.jpg"
            path = home / "inbox" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(distinct[number % len(distinct)])
            names[name] = distinct[number % len(distinct)]
        for name in ("van-ban-den/rỗng-1.pdf", "luu-tru/rỗng-2.pdf"):
            scans.write_zero_bytes(home / "inbox" / name)
            names[name] = b""
        rows = wait_settled(home, 200, timeout=300)

    assert len(rows) == 200
    assert sorted(r["source_path"] for r in rows) == sorted(names)  # each file one job, none twice
    states = [r["state"] for r in rows]
    assert (states.count("done"), states.count("duplicate"), states.count("failed")) == (8, 190, 2)
    documents = {d["original_sha256"]: d["id"] for d in query(home, "SELECT id, original_sha256 FROM documents")}
    assert sorted(documents) == sorted(hashlib.sha256(d).hexdigest() for d in distinct)
    for row in rows:
        if row["state"] == "duplicate":
            moved = home / "duplicate" / row["source_path"]
            assert moved.read_bytes() == names[row["source_path"]]
            note = moved.with_name(moved.name + ".note.txt").read_text(encoding="utf-8")
            assert int(re.search(r"tài liệu mã (\d+)", note).group(1)) == documents[row["sha256"]]
    assert inbox_files(home) == []
    assert len(list((home / "duplicate").rglob("*.note.txt"))) == 190

    # A crash after a job's end was committed but before its file left the inbox: the file
    # is still there at the next start. It is put where it belongs, and no job comes again.
    duplicate = next(r for r in rows if r["state"] == "duplicate")
    # which copy of each scan came first (done) is a race: take one whose profile keeps it in done/
    done = next(r for r in rows if r["state"] == "done" and r["profile"] in ("van-ban-den", "van-ban-di"))
    for row, folder in ((duplicate, "duplicate"), (done, "done")):
        os.rename(home / folder / row["source_path"], home / "inbox" / row["source_path"])  # size and mtime kept
    (home / "duplicate" / (duplicate["source_path"] + ".note.txt")).unlink()
    with sqlite3.connect(home / "catalog.sqlite") as db:
        db.execute("UPDATE watch_jobs SET source_cleared = 0 WHERE id IN (?, ?)", (duplicate["id"], done["id"]))
    with Service(home) as service:
        wait_for(lambda: inbox_files(home) == [], 60, "the files to leave the inbox again")
        # a scan dropped after them, and taken: they were seen by then, and not taken again
        (home / "inbox" / "van-ban-den" / "mốc.jpg").write_bytes(jpeg_bytes(variant=40))
        wait_settled(home, 201)
    assert len(jobs(home)) == 201 and jobs(home)[-1]["source_path"] == "van-ban-den/mốc.jpg"
    assert (home / "duplicate" / duplicate["source_path"]).is_file()
    assert (home / "duplicate" / (duplicate["source_path"] + ".note.txt")).is_file()
    assert (home / "done" / done["source_path"]).is_file()
    received = [line for line in service.log().split(f"event=started pid={service.process.pid}")[1].splitlines()
                if "event=received" in line]
    assert len(received) == 1 and "mốc.jpg" in received[0], received
