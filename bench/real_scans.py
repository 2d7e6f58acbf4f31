"""Real office scans end to end: ../shared/realscans/ through `sohoa ingest`.

Per run: files accepted, archive copies valid PDF/A-2u (pikepdf.pdfa as tests/test_pdfa.py
reads it, and the `page` validator), pages per file equal to the input's; and OCR CER on
the lines transcribed by hand (tests/fixtures/realscans_text.py) for

  sohoa      pdftotext of the archived PDF/A (the scanner's layer replaced by sohoa's OCR);
  scanner    pdftotext of the input (the Alaris invisible OCR layer);
  tesseract  plain `tesseract -l vie` on the page rendered at the scan's resolution.

CER per transcribed line against the best-matching stretch of each text (rapidfuzz partial
alignment, whitespace collapsed): edits summed over all lines / characters of all lines.
The header fields are measured by bench/real_scans_header.py.

    .venv/bin/python bench/real_scans.py [--files N]   (transcribed files first; N=0: all)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.patches import apply_all  # noqa: E402

apply_all()  # as sohoa's entry points do at start: the patched libraries, one OCR thread

import page as page_validator  # noqa: E402
import pikepdf  # noqa: E402
import pikepdf.pdfa  # noqa: E402
from rapidfuzz import fuzz  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

from core.pdf.pages import image_dpi  # noqa: E402
from core.pdf.xmp import without_declared_extensions  # noqa: E402
from tests.fixtures.realscans_text import TRANSCRIBED  # noqa: E402

SCANS = ROOT.parent / "shared" / "realscans"
SOHOA = Path(sys.executable).parent / "sohoa"


def _flat(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _pdftotext(pdf: Path, page: int) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-f", str(page), "-l", str(page), str(pdf), "-"],
                         capture_output=True).stdout
    return out.decode("utf-8", errors="replace")


def _tesseract(pdf: Path, page: int, work: Path) -> str:
    with pikepdf.open(pdf) as doc:
        dpi = round(image_dpi(doc.pages[page - 1]) or 300)
    base = work / f"{pdf.stem}-{page}"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", "-f", str(page), "-l", str(page),
                    str(pdf), str(base)], check=True, capture_output=True)
    out = subprocess.run(["tesseract", str(base) + ".png", "-", "-l", "vie"], capture_output=True,
                         env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"}).stdout
    return out.decode("utf-8", errors="replace")


def line_errors(lines: list[str], text: str) -> tuple[int, int]:
    """(edits, characters) of the transcribed lines against their best-matching stretches."""
    flat = _flat(text)
    edits = chars = 0
    for line in lines:
        line = _flat(line)
        found = fuzz.partial_ratio_alignment(line, flat)
        stretch = flat[found.dest_start:found.dest_end] if found else ""
        edits += Levenshtein.distance(line, stretch)
        chars += len(line)
    return edits, chars


def _pdfa_ok(path: Path) -> tuple[bool, bool]:
    report = pikepdf.pdfa.validate_written(path, "2b")
    with pikepdf.open(path) as pdf:
        violations = without_declared_extensions(
            [str(f) for f in report.findings if f.kind == "violation"], pdf)
    pike_ok = all(v.split()[1] == "ISO_19005_2:6.6.4-3" for v in violations)  # we declare U
    return pike_ok, page_validator.validate_pdf(path, profile="2u").is_compliant


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=0, help="only the first N files (transcribed ones first)")
    args = parser.parse_args()
    transcribed = sorted({name for name, _ in TRANSCRIBED})
    files = sorted(SCANS.glob("*.pdf"), key=lambda p: (p.name not in transcribed, p.name))
    if args.files:
        files = files[:args.files]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        home = work / "home"
        subprocess.run([str(SOHOA), "--home", str(home), "init"], check=True, capture_output=True)
        started = time.monotonic()
        done = subprocess.run([str(SOHOA), "--home", str(home), "ingest", "--json", *map(str, files)],
                              capture_output=True, text=True)
        seconds = time.monotonic() - started
        results = {Path(r.get("file", "")).name: r
                   for r in (json.loads(line) for line in done.stdout.splitlines() if line.strip())}
        accepted = valid_pike = valid_page = same_pages = 0
        for source in files:
            result = next((r for name, r in results.items() if name == source.name), None)
            if result is None or not result.get("pdfa"):
                print(f"  refused: {source.name}: {done.stderr.strip().splitlines()[-1:] }")
                continue
            accepted += 1
            pdfa = Path(result["pdfa"])
            pike_ok, page_ok = _pdfa_ok(pdfa)
            valid_pike += pike_ok
            valid_page += page_ok
            with pikepdf.open(source) as before, pikepdf.open(pdfa) as after:
                same_pages += len(before.pages) == len(after.pages)
            result["_pdfa"] = pdfa
        n = len(files)
        print(f"files {n}, ingest {seconds:.0f} s")
        print(f"accepted {accepted}/{n}, valid PDF/A pikepdf {valid_pike}/{accepted}, page {valid_page}/{accepted}, "
              f"pages equal {same_pages}/{accepted}")
        totals = {"sohoa": [0, 0], "scanner": [0, 0], "tesseract": [0, 0]}
        print(f"{'page':<26}{'lines':>6}{'sohoa':>9}{'scanner':>9}{'tesseract':>11}")
        for (name, page), lines in sorted(TRANSCRIBED.items()):
            source = SCANS / name
            result = next((r for n_, r in results.items() if n_ == name), None)
            if source not in files or result is None or "_pdfa" not in result:
                continue
            texts = {"sohoa": _pdftotext(result["_pdfa"], page), "scanner": _pdftotext(source, page),
                     "tesseract": _tesseract(source, page, work)}
            row = []
            for kind, text in texts.items():
                edits, chars = line_errors(lines, text)
                totals[kind][0] += edits
                totals[kind][1] += chars
                row.append(f"{100 * edits / chars:8.2f}%")
            print(f"{name + ' p' + str(page):<26}{len(lines):>6}{row[0]:>9}{row[1]:>9}{row[2]:>11}")
        if totals["sohoa"][1]:
            print(f"{'all transcribed lines':<26}{'':>6}" + "".join(
                f"{100 * e / c:8.2f}%".rjust(w) for (e, c), w in zip(totals.values(), (9, 9, 11))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
