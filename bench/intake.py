"""What the hardened intake costs: files per second taken from the inbox, beside `cp` and
`sha256sum` of the same files in the same run.

The watch service takes a file that stayed steady like this (watch_folders/desk.py), and
so does this bench, with the service's own functions:

  1. the completeness check (watch_folders/completeness.why_incomplete): an O_NOFOLLOW
     open, fstat, a read-lease probe (no writer left), the format's own end check;
  2. the file opened once, every folder from the home down and the file itself without
     following a link, and only if it is a plain file (watch_folders/safe_fs.open_beneath);
  3. its bytes hashed and copied from that descriptor into tmp/watch/received/, the copy
     fsynced (pipeline/durable.copy_fd_and_hash);
  4. fstat again: the same size and modification time, or it was still being written;
     the copy's folder renamed to the job's, and that rename fsynced.

The tools' reference: one `cp` of all the files into a fresh folder, then one `sha256sum`
of the copies, then `sync -f` of that file system (the intake fsyncs every copy: without
a sync the tools' copies are not on the disk yet, and the comparison would flatter them; the
ratio without it is printed too). Both sides start from files in the page cache (written
just before), on the same file system (the home's disk: by default a folder under the
current one). Best of --rounds for each, the two sides alternating; the intake's best round
is also split by step, so what each safety costs shows.

    .venv/bin/python bench/intake.py [--small 200] [--large 20] [--rounds 3] [--dir PATH]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path, PurePath

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.patches import apply_all  # noqa: E402

apply_all()  # as sohoa's entry points do at start: the patched libraries, one OCR thread

import img2pdf  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from core.durable import copy_fd_and_hash, fsync_dir  # noqa: E402
from watch_folders import safe_fs  # noqa: E402
from watch_folders.completeness import why_incomplete  # noqa: E402

PROFILE = "van-ban-den"


# -- inputs ---------------------------------------------------------------------------------


def noise_jpeg(side: int, seed: int) -> bytes:
    """A grey-noise JPEG: it compresses about as badly as a scan's paper texture does."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "L").save(buffer, "JPEG", quality=85, dpi=(300, 300))
    return buffer.getvalue()


def with_comment(jpeg: bytes, text: str) -> bytes:
    """The same JPEG with a COM segment after SOI: other bytes (no two files alike), still whole."""
    payload = text.encode()
    return jpeg[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def make_inputs(inbox: Path, small: int, large: int) -> list[Path]:
    """`small` JPEGs of about 300 KB and `large` scanner-style PDFs (one JPEG page) of about 5 MB."""
    folder = inbox / PROFILE
    folder.mkdir(parents=True)
    small_jpeg, large_jpeg = noise_jpeg(680, 1), noise_jpeg(2720, 2)
    files = []
    for number in range(small):
        path = folder / f"cong-van-{number:04d}.jpg"
        path.write_bytes(with_comment(small_jpeg, f"so {number}"))
        files.append(path)
    for number in range(large):
        path = folder / f"ho-so-{number:03d}.pdf"
        path.write_bytes(img2pdf.convert(with_comment(large_jpeg, f"ho so {number}")))
        files.append(path)
    return files


# -- the two sides --------------------------------------------------------------------------


PHASES = ("kiểm tra đủ tệp", "mở (O_NOFOLLOW, fstat)", "băm + chép + fsync", "fstat, đổi tên, fsync thư mục")


def take(home: Path, inbox_parts: tuple[str, ...], path: Path, received: Path, job: int,
         spent: list[float]) -> str:
    """One file, as the desk takes it (Desk._take): returns its SHA-256; adds each phase's
    seconds to `spent`."""
    mark = time.perf_counter()
    problem = why_incomplete(path)
    mark = _lap(spent, 0, mark)
    if problem is not None:
        raise SystemExit(f"{path}: not whole for the completeness check ({problem})")
    relative = PurePath(*path.parts[len(home.parts) + len(inbox_parts):])
    root = safe_fs.open_root(home)
    try:
        with safe_fs.opened_dir(root, inbox_parts, verb="đọc") as inbox:
            fd, status = safe_fs.open_beneath(inbox, relative, prefix="inbox")
    finally:
        os.close(root)
    mark = _lap(spent, 1, mark)
    try:
        incoming = received / f"incoming-{uuid.uuid4().hex}"
        incoming.mkdir()
        sha256, size = copy_fd_and_hash(fd, incoming / relative.name)
        mark = _lap(spent, 2, mark)
        after = os.fstat(fd)
        if size != status.st_size or (after.st_size, after.st_mtime_ns) != (status.st_size, status.st_mtime_ns):
            raise SystemExit(f"{path}: changed while taken")
        os.rename(incoming, received / str(job))  # the job's copy, once the job is committed
        fsync_dir(received)
        _lap(spent, 3, mark)
        return sha256
    finally:
        os.close(fd)


def _lap(spent: list[float], phase: int, mark: float) -> float:
    moment = time.perf_counter()
    spent[phase] += moment - mark
    return moment


def intake_round(home: Path, files: list[Path]) -> tuple[float, dict[str, str], list[float]]:
    received = home / "tmp" / "watch" / f"received-{uuid.uuid4().hex}"
    received.mkdir(parents=True)
    spent = [0.0] * len(PHASES)
    started = time.perf_counter()
    hashes = {path.name: take(home, ("inbox",), path, received, job, spent) for job, path in enumerate(files, 1)}
    seconds = time.perf_counter() - started
    shutil.rmtree(received)
    return seconds, hashes, spent


def tools_round(home: Path, files: list[Path]) -> tuple[float, float, dict[str, str]]:
    """Seconds for cp + sha256sum, and for cp + sha256sum + sync -f; the hashes."""
    target = home / "tmp" / f"cp-{uuid.uuid4().hex}"
    target.mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run(["cp", "--", *map(str, files), str(target)], check=True)
    listing = subprocess.run(["sha256sum", "--", *(str(target / p.name) for p in files)], check=True,
                             capture_output=True, text=True).stdout
    unsynced = time.perf_counter() - started
    subprocess.run(["sync", "-f", str(target)], check=True)
    synced = time.perf_counter() - started
    shutil.rmtree(target)
    hashes = {}
    for line in listing.splitlines():
        digest, name = line.split(maxsplit=1)
        hashes[Path(name.lstrip("*")).name] = digest
    return unsynced, synced, hashes


# -- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=200, help="JPEGs of about 300 KB")
    parser.add_argument("--large", type=int, default=20, help="PDFs of about 5 MB")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path.cwd(),
                        help="where the scratch home goes (the home's disk; default: here)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix=".bench-intake-", dir=args.dir) as scratch:
        home = Path(scratch) / "home"
        files = make_inputs(home / "inbox", args.small, args.large)
        total = sum(p.stat().st_size for p in files)
        print(f"{len(files)} tệp ({args.small} JPEG ~{files[0].stat().st_size // 1024} KB, "
              f"{args.large} PDF ~{files[-1].stat().st_size / 1e6:.1f} MB), {total / 1e6:.0f} MB, "
              f"trên {_filesystem(home)}")
        ours, tools, tools_synced, phases = [], [], [], []
        for _ in range(args.rounds):
            seconds, our_hashes, spent = intake_round(home, files)
            ours.append(seconds)
            phases.append(spent)
            unsynced, synced, their_hashes = tools_round(home, files)
            tools.append(unsynced)
            tools_synced.append(synced)
            if our_hashes != their_hashes:
                raise SystemExit("the intake's SHA-256 differ from sha256sum's")
        best, best_tools, best_synced = min(ours), min(tools), min(tools_synced)
        rate = len(files) / best
        print(f"  intake (kiểm tra đủ tệp, O_NOFOLLOW, fstat, băm+chép từ fd, fsync): "
              f"{rate:.0f} tệp/giây, {total / 1e6 / best:.0f} MB/giây")
        print(f"  cp + sha256sum + sync -f:  {len(files) / best_synced:.0f} tệp/giây "
              f"-> intake / công cụ = {best_synced / best:.2f}")
        print(f"  cp + sha256sum (chưa sync): {len(files) / best_tools:.0f} tệp/giây "
              f"-> intake / công cụ = {best_tools / best:.2f}")
        print(f"  (tốt nhất của {args.rounds} lượt; các lượt intake: "
              + ", ".join(f"{s:.2f}" for s in ours) + " giây)")
        spent = phases[ours.index(best)]
        print("  thời gian của lượt intake tốt nhất: "
              + "; ".join(f"{name} {share / best:.0%}" for name, share in zip(PHASES, spent)))
    return 0


def _filesystem(path: Path) -> str:
    done = subprocess.run(["df", "--output=fstype,source", str(path)], capture_output=True, text=True)
    fields = done.stdout.split("\n")[1].split() if done.returncode == 0 else []
    return " ".join(fields) or "?"


if __name__ == "__main__":
    sys.exit(main())
