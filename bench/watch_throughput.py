"""Throughput of the watch-folder service end to end, against Tesseract's own work (the floor).

100 generated multi-page scans (image PDFs with JPEG pages, as scanners write them, and
LZW TIFFs) are dropped into an inbox at once, with `sohoa watch` already running. The time
from the drop to the last document committed gives pages per minute end to end: intake,
OCR, PDF/A, validation, archive, catalog, index, and the files leaving the inbox.

The floor is what the service's OCR processes run themselves: libtesseract with the model
loaded once per process (ocr/libtesseract.py), on the same pages (the same JPEG bytes, the
same TIFF pixels) decoded to grey before the clock starts, in as many processes, single-
threaded, only the recognition calls timed (bench/floor.py), in this run. The ratio is the
service's throughput over the floor's (target >= 0.85); what is missing to 1 is the
pipeline's own steps. The `tesseract` command on the same page files, a process and a model
load per page, is printed as a second reference, labelled as such (the service beats it).

Peak memory is the sum of the proportional set size (PSS: shared pages split between
their users) of every process of the service — dispatcher, document workers, OCR
processes and any poppler or Tesseract children — sampled every 0.2 s; the `tesseract`
command's processes are measured the same way for reference (the library floor holds all
its pages decoded before its clock starts, so its memory is not comparable and not shown).

    .venv/bin/python bench/watch_throughput.py [--documents 100] [--pages 3] [--dpi 200] [--a4] [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import img2pdf  # noqa: E402

from floor import library_floor  # noqa: E402
from ocr.cpus import available_cpus  # noqa: E402
from tests.fixtures.scans import DOCUMENTS, render_page  # noqa: E402

SOHOA = Path(sys.executable).parent / "sohoa"
PROFILE = "van-ban-den"  # signing off in the default config: OCR and archiving are measured


# -- inputs ---------------------------------------------------------------------------------


def base_sheets(dpi: int, size_mm: tuple[int, int]) -> list:
    return [render_page(name, index, dpi=dpi, size_mm=size_mm, colour=True)
            for name in sorted(DOCUMENTS) for index in range(len(DOCUMENTS[name].pages))]


def marked(image, number: int):
    """The page with a few dots in the bottom margin spelling the document number: every
    document is new to the archive (no duplicates), and nothing Tesseract would read."""
    image = image.copy()
    width, height = image.size
    for bit in range(12):
        if number >> bit & 1:
            for dx in range(2):
                for dy in range(2):
                    image.putpixel((20 + bit * 6 + dx, height - 12 + dy), (90, 90, 90) if image.mode == "RGB" else 90)
    return image


def make_documents(folder: Path, floor_dir: Path, count: int, pages: int, dpi: int, size_mm) -> list[tuple[Path, int]]:
    """Half image PDFs (JPEG pages), half LZW TIFFs (grey pages); returns (page image, dpi)
    for the floor, the same pixels Tesseract gets in the pipeline."""
    sheets = base_sheets(dpi, size_mm)
    floor_pages = []
    for number in range(count):
        images = [marked(sheets[(number * pages + p) % len(sheets)].image, number) for p in range(pages)]
        if number % 2 == 0:
            blobs = []
            for p, image in enumerate(images):
                buffer = io.BytesIO()
                image.save(buffer, "JPEG", quality=85, dpi=(dpi, dpi))
                blobs.append(buffer.getvalue())
                page_file = floor_dir / f"{number:03d}-{p}.jpg"
                page_file.write_bytes(buffer.getvalue())
                floor_pages.append((page_file, dpi))
            (folder / f"công-văn-{number:03d}.pdf").write_bytes(img2pdf.convert(blobs, nodate=True))
        else:
            grey = [image.convert("L") for image in images]
            grey[0].save(folder / f"hồ-sơ-{number:03d}.tif", "TIFF", save_all=True, append_images=grey[1:],
                         compression="tiff_lzw", dpi=(dpi, dpi))
            for p, image in enumerate(grey):
                page_file = floor_dir / f"{number:03d}-{p}.png"
                image.save(page_file, dpi=(dpi, dpi))
                floor_pages.append((page_file, dpi))
    return floor_pages


# -- memory -----------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(entry))
    return tree


def _pss_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    match = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else 0


class PeakMemory(threading.Thread):
    """Peak of the summed PSS of a process and all its descendants."""

    def __init__(self, root_pid: int, include_root: bool = True):
        super().__init__(daemon=True)
        self.root_pid, self.include_root = root_pid, include_root
        self.peak_kb = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.2):
            tree, pids, todo = _children(), [], [self.root_pid]
            while todo:
                pid = todo.pop()
                pids.append(pid)
                todo.extend(tree.get(pid, []))
            if not self.include_root:
                pids.remove(self.root_pid)
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(pid) for pid in pids))

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak_kb


# -- the two runs -----------------------------------------------------------------------------


def children_cpu() -> float:
    """CPU seconds of every finished child process and the children they waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tesseract_floor(pages: list[tuple[Path, int]], processes: int) -> tuple[float, int, float]:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def one(page: tuple[Path, int]) -> None:
        path, dpi = page
        subprocess.run(["tesseract", str(path), "-", "-l", "vie", "--dpi", str(dpi), "hocr"],
                       env=env, check=True, capture_output=True)

    memory = PeakMemory(os.getpid(), include_root=False)
    memory.start()
    start, cpu = time.perf_counter(), children_cpu()
    with ThreadPoolExecutor(processes) as pool:
        list(pool.map(one, pages))
    return time.perf_counter() - start, memory.stop(), children_cpu() - cpu


def set_config(home: Path, **values) -> None:
    config = home / "config.toml"
    text = config.read_text(encoding="utf-8")
    for key, value in values.items():
        text, count = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.M)
        assert count == 1, key
    config.write_text(text, encoding="utf-8")


def read_jobs(home: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(f"file:{home / 'catalog.sqlite'}?mode=ro", uri=True, timeout=30) as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT state, page_count, finished_at, source_cleared, source_path, error_code, reason"
                          " FROM watch_jobs").fetchall()


def service_run(documents: Path, home: Path, count: int, processes: int) -> tuple[float, int, int, float]:
    subprocess.run([str(SOHOA), "--home", str(home), "init"], check=True, capture_output=True)
    set_config(home, quiet_seconds=1, rescan_seconds=60)  # [watch] workers = 0: available_cpus()
    log = home / "logs" / "sohoa.log"
    cpu = children_cpu()
    service = subprocess.Popen([str(SOHOA), "--home", str(home), "watch"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    memory = PeakMemory(service.pid)
    memory.start()
    try:
        while f"event=started pid={service.pid}" not in (log.read_text(encoding="utf-8") if log.exists() else ""):
            if service.poll() is not None:
                raise SystemExit("the service did not start")
            time.sleep(0.2)
        time.sleep(5)  # the workers have imported what they need: a running service, as in an office
        inbox = home / "inbox" / PROFILE
        dropped = dt.datetime.now(dt.timezone.utc)
        for path in sorted(documents.iterdir()):
            os.rename(path, inbox / path.name)  # all at once
        while True:
            rows = read_jobs(home)
            if len(rows) == count and all(r["state"] in ("done", "failed", "duplicate") and r["source_cleared"]
                                          for r in rows):
                break
            if service.poll() is not None:
                tail = log.read_text(encoding="utf-8").splitlines()[-15:]
                raise SystemExit(f"the service stopped during the run ({service.returncode}):\n" + "\n".join(tail))
            time.sleep(0.5)
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=120)
        peak = memory.stop()
    failed = [r for r in rows if r["state"] != "done"]
    if failed:
        raise SystemExit(f"{len(failed)} documents were not archived: "
                         + "; ".join(f"{r['source_path']}: {r['reason']}" for r in failed))
    last = max(dt.datetime.fromisoformat(r["finished_at"]) for r in rows)
    # all of the service's CPU, start-up and stop included (a little more than the run's)
    return (last - dropped).total_seconds(), sum(r["page_count"] for r in rows), peak, children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--pages", type=int, default=3, help="pages per document")
    parser.add_argument("--dpi", type=int, default=200)
    parser.add_argument("--a4", action="store_true", help="A4 pages instead of A5")
    parser.add_argument("--quick", action="store_true", help="8 documents of 2 pages")
    args = parser.parse_args()
    if args.quick:
        args.documents, args.pages = 8, 2
    size = (210, 297) if args.a4 else (148, 210)
    processes = available_cpus()
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as work:
        work_dir = Path(work)
        documents, floor_dir = work_dir / "scans", work_dir / "floor"
        documents.mkdir()
        floor_dir.mkdir()
        floor_pages = make_documents(documents, floor_dir, args.documents, args.pages, args.dpi, size)
        floor_seconds, floor_peak, floor_cpu = tesseract_floor(floor_pages, processes)
        library = library_floor(floor_pages, processes)
        ours_seconds, ours_pages, ours_peak, ours_cpu = service_run(documents, work_dir / "home", args.documents,
                                                                     processes)
    pages = len(floor_pages)
    assert ours_pages == pages, (ours_pages, pages)
    command_rate, ours_rate = pages / floor_seconds * 60, pages / ours_seconds * 60
    library_rate = pages / library.wall * 60
    print(f"{args.documents} documents x {args.pages} pages = {pages} pages, {size[0]}x{size[1]} mm at {args.dpi} dpi "
          f"(image PDFs with JPEG pages and LZW TIFFs, half each); {processes} OCR processes "
          f"(available CPUs), {os.cpu_count()} CPUs on the host")
    print(f"{'':37}{'pages/min':>10}{'wall s':>9}{'CPU-s/page':>12}{'peak PSS MB':>13}")
    print(f"{'Tesseract library, model loaded':37}{library_rate:>10.1f}{library.wall:>9.1f}"
          f"{library.cpu / pages:>12.2f}{'':>13}   <- the floor")
    print(f"{'`tesseract` command (2nd reference)':37}{command_rate:>10.1f}{floor_seconds:>9.1f}"
          f"{floor_cpu / pages:>12.2f}{floor_peak / 1024:>13.0f}")
    print(f"{'sohoa watch, drop to last commit':37}{ours_rate:>10.1f}{ours_seconds:>9.1f}{ours_cpu / pages:>12.2f}"
          f"{ours_peak / 1024:>13.0f}")
    print(f"ratio sohoa / library floor (pages per minute): {ours_rate / library_rate:.2f}   (target >= 0.85)")
    print(f"ratio sohoa / `tesseract` command (second reference): {ours_rate / command_rate:.2f}; "
          f"command / library floor: {command_rate / library_rate:.2f}")
    print(f"CPU busy during the run: library floor {library.cpu / (library.wall * processes):.0%}, "
          f"command {floor_cpu / (floor_seconds * processes):.0%}, "
          f"sohoa {ours_cpu / (ours_seconds * processes):.0%} of {processes} CPUs "
          f"(sohoa's CPU counts its start-up and stop too)")
    print(f"peak memory of the whole service: {ours_peak / 1024:.0f} MB "
          f"({ours_peak / floor_peak:.1f}x the `tesseract` command's processes)")


if __name__ == "__main__":
    main()
