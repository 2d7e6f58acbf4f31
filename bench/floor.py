"""The OCR benches' reference: Tesseract's own recognition through the loaded library.

The product reads pages through libtesseract with the model loaded once per process
(ocr/libtesseract.py), so the floor of its OCR cost is that same call on the same page
pixels, nothing else: the page is decoded to 8-bit grey before the clock starts, the model
is loaded (one page read) before the clock starts, and only `LoadedEngine.hocr` is timed.
The `tesseract` command (a process per page, the model loaded every time) is kept as a second
reference, labelled as such: it costs more than the product's own OCR does.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # before libgomp is loaded, as the product does


@dataclass(frozen=True)
class Timing:
    wall: float  # seconds from the first recognition's start to the last one's end
    cpu: float  # CPU seconds of the timed calls alone (user + system)
    pages: int


def grey_pixels(path: Path) -> np.ndarray:
    """The page image as the 8-bit grey array Tesseract reads (decoding is not timed)."""
    from PIL import Image

    with Image.open(path) as image:
        return np.ascontiguousarray(np.asarray(image.convert("L")))


def _cpu() -> float:
    # RUSAGE_THREAD: this thread's own CPU; Tesseract runs single-threaded (OMP_THREAD_LIMIT=1)
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime


def library_hocr(grey: np.ndarray, dpi: float) -> tuple[bytes, float, float]:
    """(hOCR, CPU seconds, wall seconds) of one recognition by this process's loaded engine."""
    from ocr.libtesseract import loaded_engine

    engine = loaded_engine("vie")  # loaded at the first call: warm it up with warm_up()
    cpu, wall = _cpu(), time.perf_counter()
    hocr = engine.hocr(grey, dpi)
    return hocr, _cpu() - cpu, time.perf_counter() - wall


def warm_up(grey: np.ndarray, dpi: float) -> None:
    """Load the model and read one page, so that no timed call pays for loading."""
    library_hocr(grey, dpi)


def _worker(pages: list[tuple[Path, float]], barrier, results) -> None:
    images = [(grey_pixels(path), dpi) for path, dpi in pages]
    if images:
        warm_up(*images[0])
    barrier.wait()  # every process has decoded its pages and loaded its model
    start, cpu = time.perf_counter(), 0.0
    for grey, dpi in images:
        cpu += library_hocr(grey, dpi)[1]
    results.put((start, time.perf_counter(), cpu, len(images)))


def library_floor(pages: list[tuple[Path, float]], processes: int) -> Timing:
    """The same pages read by `processes` processes through the loaded library, pages dealt
    round-robin. Wall: from the common start (a barrier, once every process has decoded its
    pages and loaded its model) to the last process's end; the clock is system-wide
    (CLOCK_MONOTONIC), so the processes' times compare."""
    context = multiprocessing.get_context("spawn")
    processes = max(1, min(processes, len(pages)))
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=_worker, args=(pages[n::processes], barrier, results))
               for n in range(processes)]
    for worker in workers:
        worker.start()
    done = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
        if worker.exitcode:
            raise RuntimeError(f"a library floor process failed ({worker.exitcode})")
    start, end = min(d[0] for d in done), max(d[1] for d in done)
    return Timing(wall=end - start, cpu=sum(d[2] for d in done), pages=sum(d[3] for d in done))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def command_hocr(path: Path, dpi: float) -> tuple[bytes, float]:
    """(hOCR, CPU seconds) of the `tesseract` command on one page file: the second reference."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    before = _children_cpu()
    done = subprocess.run(["tesseract", str(path), "-", "-l", "vie", "--dpi", str(round(dpi)), "hocr"],
                          env=env, check=True, capture_output=True)
    return done.stdout, _children_cpu() - before


def command_floor(pages: list[tuple[Path, float]], processes: int) -> Timing:
    """The `tesseract` command on every page, `processes` at a time: wall and children's CPU."""
    from concurrent.futures import ThreadPoolExecutor

    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def one(page: tuple[Path, float]) -> None:
        path, dpi = page
        subprocess.run(["tesseract", str(path), "-", "-l", "vie", "--dpi", str(round(dpi)), "hocr"],
                       env=env, check=True, capture_output=True)

    cpu, wall = _children_cpu(), time.perf_counter()
    with ThreadPoolExecutor(max(1, processes)) as pool:
        list(pool.map(one, pages))
    return Timing(wall=time.perf_counter() - wall, cpu=_children_cpu() - cpu, pages=len(pages))
