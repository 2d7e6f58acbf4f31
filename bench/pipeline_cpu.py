"""CPU cost of the whole pipeline per page, against Tesseract alone on the same pages.

Tesseract is the floor: everything sohoa adds (loading, rasterising, the text layer, PDF/A
writing and validation, archive, catalog, index) shows up as the ratio above 1.

    .venv/bin/python bench/pipeline_cpu.py [--pages N] [--dpi 300] [--a4]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.scans import DOCUMENTS, render_page, write_jpeg, write_png  # noqa: E402

SOHOA = Path(sys.executable).parent / "sohoa"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def make_pages(directory: Path, count: int, dpi: int, size_mm: tuple[int, int]) -> list[tuple[Path, int]]:
    sheets = [(name, index) for name in sorted(DOCUMENTS) for index in range(len(DOCUMENTS[name].pages))]
    pages = []
    for number in range(count):
        doc, index = sheets[number % len(sheets)]
        round_ = number // len(sheets)
        if number % 2 == 0:
            page = render_page(doc, index, dpi=dpi, colour=True, size_mm=size_mm)
            # a different quality each round: every file is new to the archive, none a duplicate
            path = write_jpeg(directory / f"page-{number:03d}.jpg", page, quality=85 - round_)
        else:
            page = render_page(doc, index, dpi=dpi + round_, size_mm=size_mm)
            path = write_png(directory / f"page-{number:03d}.png", page)
        pages.append((path, page.dpi))
    return pages


def tesseract_alone(pages: list[tuple[Path, int]]) -> tuple[float, float]:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    cpu, wall = children_cpu(), time.perf_counter()
    for path, dpi in pages:
        subprocess.run(["tesseract", str(path), "-", "-l", "vie", "--dpi", str(dpi), "hocr"],
                       env=env, check=True, capture_output=True)
    return children_cpu() - cpu, time.perf_counter() - wall


def sohoa_pipeline(pages: list[tuple[Path, int]], home: Path) -> tuple[float, float]:
    subprocess.run([str(SOHOA), "--home", str(home), "init"], check=True, capture_output=True)
    cpu, wall = children_cpu(), time.perf_counter()
    done = subprocess.run([str(SOHOA), "--home", str(home), "ingest", "--json", *[str(p) for p, _ in pages]],
                          check=True, capture_output=True, text=True)
    archived = done.stdout.count('"status": "archived"')
    assert archived == len(pages), f"only {archived} of {len(pages)} pages were new to the archive"
    return children_cpu() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--dpi", type=int, default=300)
    parser.add_argument("--a5", action="store_true", help="A5 pages instead of A4")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternate the two runs this many times; the least CPU of each counts")
    args = parser.parse_args()
    size = (148, 210) if args.a5 else (210, 297)
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        pages = make_pages(work_dir, args.pages, args.dpi, size)
        # This machine's neighbours make single timings vary by 20 %: alternate the runs
        # and keep the least CPU each needed, the usual noise-robust estimate.
        refs, ours = [], []
        for round_ in range(args.rounds):
            refs.append(tesseract_alone(pages))
            ours.append(sohoa_pipeline(pages, work_dir / f"home-{round_}"))
        ref_cpu, ref_wall = min(refs)
        ours_cpu, ours_wall = min(ours)
    n = len(pages)
    print(f"{n} pages, {size[0]}x{size[1]} mm at {args.dpi} dpi (JPEG colour / PNG grey), "
          f"{os.cpu_count()} CPUs on the host, best of {args.rounds} alternating rounds")
    print(f"{'':24}{'CPU-s/page':>12}{'wall s (total)':>16}")
    print(f"{'Tesseract alone':24}{ref_cpu / n:>12.2f}{ref_wall:>16.1f}")
    print(f"{'sohoa ingest':24}{ours_cpu / n:>12.2f}{ours_wall:>16.1f}")
    print(f"ratio sohoa / Tesseract (CPU): {ours_cpu / ref_cpu:.2f}   (target <= 1.25)")


if __name__ == "__main__":
    main()
