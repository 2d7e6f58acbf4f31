"""OCR accuracy on degraded scans: sohoa against plain Tesseract and OCRmyPDF, same pages.

For each degradation class of the generated development set (tests/fixtures/degraded.py):
character error rate (NFC, whitespace folded, each truth line matched to its best place in
the OCR text, so column order is not an error; OCR text matching no truth line counts as
error too), word recall, and CPU-seconds per page. A 600-dpi A3 colour page measures peak
memory per worker.

Engines, all on the same page files in this run, one after the other in one thread:
  sohoa      ocr.pages.ocr_page in this process (read, clean-up copy, loaded libtesseract);
             its CPU is this thread's around the call, and the two parts are timed where they
             run: the clean-up (every ocr.pages.prepare_page call) and the recognition (every
             LoadedEngine.hocr call); the clean-up share is the one over the other.
  tesseract  the floor: the same loaded library (bench/floor.py) on the page file's grey
             pixels, decoded before the clock starts, only the recognition call timed.
  tess-cmd   the `tesseract` command on the page file (second reference: a process and a
             model load per page, which the product no longer pays).

OCRmyPDF is a reference, not a dependency: `make bench-ocr` installs it into
bench/.venv-ocrmypdf (with Debian's ghostscript and unpaper) and this script finds it there.

    .venv/bin/python bench/ocr_accuracy.py [--no-ocrmypdf] [--no-memory] [--quick] [--ablation]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

from rapidfuzz.distance import Levenshtein
from rapidfuzz.fuzz import partial_ratio_alignment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.patches import apply_all  # noqa: E402

apply_all()  # as sohoa's entry points do at start: the patched libraries, one OCR thread

import floor  # noqa: E402
import ocr.pages  # noqa: E402
from ocr.cleanup import ALL_STEPS, CleanupSteps  # noqa: E402
from ocr.libtesseract import LoadedEngine  # noqa: E402
from ocr.pages import PageJob, ocr_page  # noqa: E402
from ocr.tesseract import _library_matches, parse_hocr  # noqa: E402
from tests.fixtures.degraded import DegradedPage, development_set  # noqa: E402

OCRMYPDF = ROOT / "bench" / ".venv-ocrmypdf" / "bin" / "ocrmypdf"
ENV = dict(os.environ, OMP_THREAD_LIMIT="1")


def fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def character_errors(truth_lines: tuple[str, ...], ocr_text: str) -> tuple[int, int]:
    """(errors, truth characters): each truth line against its best-matching stretch of the
    OCR text; OCR characters claimed by no truth line (junk from borders, seals) are errors."""
    ocr = fold(ocr_text)
    errors = claimed = total = 0
    for line in truth_lines:
        line = fold(line)
        if not line:
            continue
        total += len(line)
        if not ocr:
            errors += len(line)
            continue
        match = partial_ratio_alignment(line, ocr)
        stretch = ocr[match.dest_start:match.dest_end]
        errors += Levenshtein.distance(line, stretch)
        claimed += len(stretch.replace(" ", ""))
    unclaimed = max(0, len(ocr.replace(" ", "")) - claimed)
    return errors + unclaimed, total


def word_recall(truth_lines: tuple[str, ...], ocr_text: str) -> tuple[int, int]:
    ocr_words = defaultdict(int)
    for word in fold(ocr_text).split():
        ocr_words[word] += 1
    found = total = 0
    for word in fold(" ".join(truth_lines)).split():
        total += 1
        if ocr_words[word] > 0:
            ocr_words[word] -= 1
            found += 1
    return found, total


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def thread_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime


class Timed:
    """CPU of every call of a function, summed: installed where sohoa calls it, so each part
    is measured where it runs (sequential calls in this one thread: nothing overlaps)."""

    def __init__(self, owner, name: str):
        self.owner, self.name, self.original, self.cpu = owner, name, getattr(owner, name), 0.0

        def timed(*args, **kwargs):
            before = thread_cpu()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.cpu += thread_cpu() - before

        setattr(owner, name, timed)

    def take(self) -> float:
        cpu, self.cpu = self.cpu, 0.0
        return cpu


CLEANUP = Timed(ocr.pages, "prepare_page")  # ocr.pages calls it by that name
RECOGNITION = Timed(LoadedEngine, "hocr")


def run_sohoa(path: Path, page: DegradedPage, steps: CleanupSteps = ALL_STEPS) -> tuple[str, dict, dict]:
    CLEANUP.take(), RECOGNITION.take()
    before = thread_cpu()
    result = ocr_page(PageJob(pdf_path=path, page_number=1, dpi=page.dpi, language="vie", image_file=path), steps)
    cpu = {"total": thread_cpu() - before, "cleanup": CLEANUP.take(), "recognition": RECOGNITION.take()}
    found = {"rotation": result.rotation, "skew": result.skew, "blank": result.blank}
    return result.text, cpu, found


def run_tesseract(path: Path, page: DegradedPage) -> tuple[str, float]:
    """The floor: the loaded library on the page's grey pixels, only the recognition timed."""
    grey = floor.grey_pixels(path)
    hocr, cpu, _ = floor.library_hocr(grey, page.dpi)
    return parse_hocr(hocr, dpi=page.dpi, engine="tesseract").text, cpu


def run_command(path: Path, page: DegradedPage) -> tuple[str, float]:
    hocr, cpu = floor.command_hocr(path, page.dpi)
    return parse_hocr(hocr, dpi=page.dpi, engine="tesseract").text, cpu


def run_ocrmypdf(path: Path, page: DegradedPage, work: Path) -> tuple[str, float]:
    sidecar, output = work / f"{path.stem}.txt", work / f"{path.stem}.ocrmypdf.pdf"
    before = children_cpu()
    subprocess.run([str(OCRMYPDF), "--rotate-pages", "--deskew", "--clean", "-l", "vie", "--jobs", "1",
                    "--image-dpi", str(page.dpi), "--output-type", "pdf", "--sidecar", str(sidecar),
                    "--quiet", str(path), str(output)], env=ENV, check=False, capture_output=True)
    text = sidecar.read_text(encoding="utf-8") if sidecar.exists() else ""
    return text.replace("[OCR skipped on page(s) 1]", ""), children_cpu() - before


def pages_to_run(quick: bool) -> list[DegradedPage]:
    """The development set; --quick: its first two pages of each class (and the blank)."""
    pages = development_set()
    if not quick:
        return pages
    taken: dict[str, int] = defaultdict(int)
    chosen = []
    for page in pages:
        if taken[page.klass] < 2:
            taken[page.klass] += 1
            chosen.append(page)
    return chosen


def accuracy(with_ocrmypdf: bool, with_command: bool, quick: bool) -> dict:
    engines = (["sohoa", "tesseract"] + (["tess-cmd"] if with_command else [])
               + (["ocrmypdf"] if with_ocrmypdf else []))
    stats: dict = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0, 0.0, 0]))  # class -> engine -> numbers
    orientation_misses, cleanup_cpu, sohoa_recognition_cpu, blank = [], 0.0, 0.0, []
    pages = pages_to_run(quick)
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        floor.warm_up(floor.grey_pixels(pages[0].write(work)), pages[0].dpi)  # no timed call loads the model
        for page in pages:
            path = page.write(work)
            texts, cpu = {}, {}
            texts["sohoa"], parts, found = run_sohoa(path, page)
            cpu["sohoa"] = parts["total"]
            cleanup_cpu += parts["cleanup"]
            sohoa_recognition_cpu += parts["recognition"]
            texts["tesseract"], cpu["tesseract"] = run_tesseract(path, page)
            if with_command:
                texts["tess-cmd"], cpu["tess-cmd"] = run_command(path, page)
            if with_ocrmypdf:
                texts["ocrmypdf"], cpu["ocrmypdf"] = run_ocrmypdf(path, page, work)
            if page.klass == "blank":
                blank.append(found["blank"])
                continue
            if found["rotation"] != (360 - page.turned) % 360 or abs(found["skew"] - page.skew) > 0.1:
                orientation_misses.append((page.name, found, page.turned, page.skew))
            for engine in engines:
                errors, chars = character_errors(page.rows, texts[engine])
                hit, words = word_recall(page.rows, texts[engine])
                row = stats[page.klass][engine]
                row[0] += errors; row[1] += chars; row[2] += hit; row[3] += words; row[4] += cpu[engine]; row[5] += 1
            print(f"  {page.name:18}" + "".join(
                f"  {engine} {100 * character_errors(page.rows, texts[engine])[0] / max(1, sum(len(fold(r)) for r in page.rows)):6.2f}%"
                for engine in engines), flush=True)
    return {"stats": stats, "engines": engines, "orientation_misses": orientation_misses,
            "cleanup_cpu": cleanup_cpu, "recognition_cpu": sohoa_recognition_cpu, "blank_detected": blank}


TARGETS = {"clean": 0.3, "typical": 0.6, "hard": 1.5, "seal": 1.5}


def print_table(result: dict) -> None:
    engines = result["engines"]
    print()
    print(f"{'class':9}{'pages':>6}" + "".join(f"{e + ' CER':>15}" for e in engines)
          + "".join(f"{e + ' recall':>17}" for e in engines) + "".join(f"{e + ' CPU-s/p':>19}" for e in engines)
          + f"{'target':>9}")
    totals = defaultdict(lambda: [0, 0, 0, 0, 0.0, 0])
    for klass in ("clean", "typical", "hard", "seal"):
        rows = result["stats"].get(klass)
        if not rows:
            continue
        line = f"{klass:9}{rows[engines[0]][5]:>6}"
        line += "".join(f"{100 * rows[e][0] / rows[e][1]:>14.2f}%" for e in engines)
        line += "".join(f"{100 * rows[e][2] / rows[e][3]:>16.1f}%" for e in engines)
        line += "".join(f"{rows[e][4] / rows[e][5]:>19.2f}" for e in engines)
        line += f"{'≤ ' + str(TARGETS[klass]) + ' %':>9}"
        print(line)
        for e in engines:
            totals[e] = [a + b for a, b in zip(totals[e], rows[e])]
    line = f"{'all':9}{totals[engines[0]][5]:>6}"
    line += "".join(f"{100 * totals[e][0] / totals[e][1]:>14.2f}%" for e in engines)
    line += "".join(f"{100 * totals[e][2] / totals[e][3]:>16.1f}%" for e in engines)
    line += "".join(f"{totals[e][4] / totals[e][5]:>19.2f}" for e in engines)
    print(line)
    ratio = totals["sohoa"][4] / totals["tesseract"][4]
    print(f"\nsohoa CPU / Tesseract library floor CPU (all classes, blank page left out): {ratio:.2f}")
    if "tess-cmd" in engines:
        print(f"`tesseract` command CPU / library floor CPU (second reference): "
              f"{totals['tess-cmd'][4] / totals['tesseract'][4]:.2f}")
    print(f"sohoa's own parts, each timed where it runs (blank page included): clean-up "
          f"{result['cleanup_cpu']:.2f} CPU-s, recognition {result['recognition_cpu']:.2f} CPU-s; "
          f"clean-up = {100 * result['cleanup_cpu'] / result['recognition_cpu']:.1f} % of its recognition "
          f"(target ≤ 15 %)")
    print(f"orientation/skew misses (rotation wrong or skew off by > 0.1°): {result['orientation_misses'] or 'none'}")
    print(f"blank page flagged: {result['blank_detected']}")


def memory() -> None:
    """Peak RSS of one worker (load, clean-up and the loaded libtesseract, all in the one
    process) on a 600-dpi A3 colour page, beside the `tesseract` command alone on its OCR copy
    (reference). The page is rendered by one process and read by a fresh one, so rendering the
    test page does not count."""
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "a3-600dpi.jpg"
        render = (r"import sys; sys.path.insert(0, sys.argv[1]); from tests.fixtures import scans; "
                  r"scans.render_page('quyet_dinh_15', dpi=600, colour=True, size_mm=(297, 420))"
                  r".image.save(sys.argv[2], 'JPEG', quality=85, dpi=(600, 600))")
        subprocess.run([sys.executable, "-c", render, str(ROOT), str(path)], check=True, env=ENV)
        measure = r"""
import resource, sys
import numpy as np
from pathlib import Path
from PIL import Image
sys.path.insert(0, sys.argv[1])
from ocr.cleanup import prepare_page
from ocr.pages import PageJob, ocr_page
path = Path(sys.argv[2])
result = ocr_page(PageJob(pdf_path=path, page_number=1, dpi=600, language="vie", image_file=path))
with Image.open(path) as image:
    Image.fromarray(prepare_page(np.asarray(image), 600).image).save(sys.argv[3], format="PPM")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(result.text), result.width, result.height)
"""
        copy = Path(work) / "ocr-copy.pgm"
        out = subprocess.run([sys.executable, "-c", measure, str(ROOT), str(path), str(copy)],
                             capture_output=True, text=True, env=ENV, check=True)
        worker_kb, chars, width, height = (int(v) for v in out.stdout.split())
        # Tesseract started from a small process: a child's peak RSS includes what it
        # inherited at fork, so it must not be forked from the big worker to be measured.
        wrapper = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True); "
                   "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        tesseract_kb = int(subprocess.run(
            ["python3", "-c", wrapper, "tesseract", str(copy), "-", "-l", "vie", "--dpi", "600", "hocr"],
            capture_output=True, text=True, env=ENV, check=True).stdout)
    print(f"\n600-dpi A3 colour page ({width}x{height}): worker peak RSS {worker_kb / 1024:.0f} MB with "
          f"Tesseract in-process (target ≤ 1536 MB); the `tesseract` command alone on its OCR copy "
          f"(reference) {tesseract_kb / 1024:.0f} MB; {chars} characters read")


def ablation(quick: bool) -> None:
    """CER per class with each clean-up step turned off in turn: every step must earn its place."""
    variants = {"all steps": ALL_STEPS}
    for name in CleanupSteps.__dataclass_fields__:
        variants[f"no {name}"] = CleanupSteps(**{name: False})
    pages = [p for p in pages_to_run(quick) if p.klass != "blank"]
    classes = sorted({p.klass for p in pages}, key=["clean", "typical", "hard", "seal"].index)
    print(f"\n{'sohoa variant':26}" + "".join(f"{k + ' CER':>14}" for k in classes))
    with tempfile.TemporaryDirectory() as work_dir:
        files = [(page, page.write(Path(work_dir))) for page in pages]
        for label, steps in variants.items():
            errors, chars = defaultdict(int), defaultdict(int)
            for page, path in files:
                text = run_sohoa(path, page, steps)[0]
                e, c = character_errors(page.rows, text)
                errors[page.klass] += e
                chars[page.klass] += c
            print(f"{label:26}" + "".join(f"{100 * errors[k] / chars[k]:>13.2f}%" for k in classes), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-ocrmypdf", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--no-command", action="store_true", help="leave the `tesseract` command reference out")
    parser.add_argument("--quick", action="store_true",
                        help="two pages of each class and the blank one, no OCRmyPDF, no memory run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--ablation", action="store_true", help="also run sohoa with each clean-up step off")
    args = parser.parse_args()
    if not _library_matches():
        raise SystemExit("libtesseract is not the `tesseract` command's version: sohoa would read through "
                         "the command, and the library floor would not be its engine")
    args.no_ocrmypdf |= args.quick
    args.no_memory |= args.quick
    with_ocrmypdf = not args.no_ocrmypdf and OCRMYPDF.exists()
    if not args.no_ocrmypdf and not with_ocrmypdf:
        print("OCRmyPDF not found in bench/.venv-ocrmypdf (run `make bench-ocr`); its columns are left out")
    started = time.time()
    result = accuracy(with_ocrmypdf, not args.no_command, args.quick)
    print_table(result)
    if not args.no_memory:
        memory()
    if args.ablation:
        ablation(args.quick)
    if args.json:
        args.json.write_text(json.dumps(result["stats"], default=dict, indent=1))
    print(f"\n({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
