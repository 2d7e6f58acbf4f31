"""`sohoa audit` throughput (MB/s and documents/s) beside `sha256sum` over the very same
files, in the same run.

The archive is built without OCR: each record's original is one of the real scanner PDFs
of ../shared/realscans (a few bytes appended so that every record is another file, as the
catalog's unique SHA-256 wants) and its PDF/A a copy of it, stored through ArchiveStore and
catalogued through Catalog like ingest does, with a sidecar. The page cache is warmed by
one pass before timing, so both sides read from memory: the figures compare hashing and
bookkeeping, not the disk. Measured: `sohoa audit` as a user runs it (process start, the
catalog, one fixity event committed per document, the JSON and CSV reports), and the same
audit in-process (audit_home), and `sha256sum` over the list of the same files.

    .venv/bin/python bench/audit.py [--records 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.patches import apply_all  # noqa: E402

apply_all()  # as sohoa's entry points do at start: the patched libraries, one OCR thread

from core.archive import ArchiveStore  # noqa: E402
from pipeline.audit import audit_home  # noqa: E402
from core.catalog import Catalog  # noqa: E402
from core.home import Home  # noqa: E402

SOHOA = Path(sys.executable).parent / "sohoa"
REAL = Path(__file__).resolve().parents[2] / "shared" / "realscans"


def build(home: Path, records: int) -> list[Path]:
    subprocess.run([str(SOHOA), "--home", str(home), "init", "--agency-name", "Bench"], check=True,
                   capture_output=True, stdin=subprocess.DEVNULL)
    scans = sorted(REAL.glob("*.pdf"))
    store = ArchiveStore(home / "archive")
    staging = home / "tmp"
    files = []
    with Catalog(home / "catalog.sqlite") as catalog:
        for n in range(records):
            data = scans[n % len(scans)].read_bytes() + f"\n%bench record {n}\n".encode()
            sha = hashlib.sha256(data).hexdigest()
            layout = ArchiveStore.layout(sha, ".pdf")
            original, pdfa = staging / f"o{n}.pdf", staging / f"p{n}.pdf"
            original.write_bytes(data)
            pdfa.write_bytes(data)
            sidecar = json.dumps({"id": n + 1, "original": {"sha256": sha}}, indent=2).encode()
            with catalog.transaction() as db:
                Catalog.insert_document(db, {
                    "received_at": "2026-01-01T00:00:00+07:00", "original_name": f"bench-{n}.pdf",
                    "original_format": "pdf", "original_sha256": sha, "original_size": len(data),
                    "archive_dir": layout.directory, "original_file": layout.original_file,
                    "pdfa_file": layout.pdfa_file, "pdfa_sha256": sha, "pdfa_size": len(data),
                    "sidecar_file": layout.sidecar_file, "sidecar_sha256": hashlib.sha256(sidecar).hexdigest(),
                    "sidecar_size": len(sidecar), "page_count": 1, "metadata_json": "{}",
                })
                store.store(layout, original=original, pdfa=pdfa, sidecar=sidecar)
            files += [store.path(layout.original_file), store.path(layout.pdfa_file), store.path(layout.sidecar_file)]
    return files


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sohoa-audit-bench-") as tmp:
        home = Path(tmp) / "home"
        files = build(home, args.records)
        total = sum(f.stat().st_size for f in files)
        listing = Path(tmp) / "files.txt"
        listing.write_bytes(b"\0".join(str(f).encode() for f in files) + b"\0")

        def sha256sum() -> None:
            subprocess.run(["xargs", "-0", "sha256sum", "--"], stdin=open(listing, "rb"), check=True,
                           stdout=subprocess.DEVNULL)

        def cli() -> None:
            done = subprocess.run([str(SOHOA), "--home", str(home), "audit"], capture_output=True, text=True)
            assert done.returncode == 0, done.stdout + done.stderr

        def in_process() -> None:
            run, _ = audit_home(Home(home))
            assert run.ok and len(run.results) == args.records

        def startup() -> None:  # the command's imports alone, paid once by every CLI run
            subprocess.run([str(SOHOA), "--version"], check=True, capture_output=True)

        sha256sum()  # warm the page cache
        times = {"sha256sum": [], "sohoa audit (CLI)": [], "audit_home (in-process)": []}
        starts = [timed(startup) for _ in range(args.runs)]
        for _ in range(args.runs):
            times["sha256sum"].append(timed(sha256sum))
            times["sohoa audit (CLI)"].append(timed(cli))
            times["audit_home (in-process)"].append(timed(in_process))
        print(f"{args.records} records, {len(files)} files, {total / 1e6:.1f} MB; median of {args.runs} runs, "
              f"{os.cpu_count()} CPUs visible")
        base = statistics.median(times["sha256sum"])
        for name, values in times.items():
            seconds = statistics.median(values)
            print(f"  {name:<25} {seconds:6.2f} s  {total / 1e6 / seconds:7.1f} MB/s  "
                  f"{args.records / seconds:7.1f} documents/s  ×{seconds / base:.2f} of sha256sum")
        print(f"  (`sohoa --version`, the command's start alone: {statistics.median(starts):.2f} s)")
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
