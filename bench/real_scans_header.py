"""Header fields on real office scans: sohoa's reader beside the same reader on other text.

Over the labelled first pages of ../shared/realscans/ (tests/fixtures/realscans_labels.py, six
development and four held-out files), the header reader (header) reads

  sohoa      sohoa's own OCR of the page (ocr.pages: clean-up copy, pen kept in the header
             zone, Tesseract) — what `sohoa ingest` reads;
  scanner    the scanner's own invisible text layer of the PDF (pdftotext -bbox-layout);
  tesseract  plain `tesseract -l vie --psm 3` on the page image rendered at the scan's dpi.

Printed per field and per source: correct / left empty / filled wrong, on the development and
held-out files apart; then per source the totals, with how many empty fields were flagged
for review and how many wrong fills took a number or date the body cites; the number as
`sohoa ingest` stores it (the reader's, else its flat-text fallback); the summary's character
error rate. A wrong fill is worse than an empty, flagged field: a clerk sees the flag, nobody
sees the wrong number.

    .venv/bin/python bench/real_scans_header.py [--cache DIR] [--workers N] [--show]
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import subprocess
import sys
import tempfile
import time
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.patches import apply_all  # noqa: E402

apply_all()  # as sohoa's entry points do at start: the patched libraries, one OCR thread

import pikepdf  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

from ocr.pages import PageJob, ocr_page  # noqa: E402
from core.pdf.pages import image_dpi  # noqa: E402
from core.ocr_results import OcrPage  # noqa: E402
from ocr.tesseract import ocr_image_file  # noqa: E402
from header import DocumentHeader, HeaderField, read_header  # noqa: E402
from header.pdfwords import text_layer_page  # noqa: E402
from core.record_defaults import RecordDefaults  # noqa: E402
from header.number_line import find_document_number  # noqa: E402
from tests.fixtures import realscans_labels as labels  # noqa: E402

SCANS = ROOT.parent / "shared" / "realscans"
SOURCES = ("sohoa", "scanner", "tesseract")
THRESHOLD = RecordDefaults().review_threshold


def _dpi(pdf: Path) -> float:
    with pikepdf.open(pdf) as document:
        return image_dpi(document.pages[0]) or 300.0


def _read_page(task: tuple[str, str]) -> OcrPage | None:
    name, source = task
    pdf = SCANS / name
    dpi = _dpi(pdf)
    if source == "sohoa":
        return ocr_page(PageJob(pdf, 1, dpi, "vie"))
    if source == "scanner":
        return text_layer_page(pdf, 1, dpi)
    with tempfile.TemporaryDirectory(prefix="bench-real-header-") as work:
        base = Path(work) / "page"
        subprocess.run(["pdftoppm", "-r", str(round(dpi)), "-png", "-f", "1", "-l", "1", "-singlefile",
                        str(pdf), str(base)], check=True, capture_output=True)
        return ocr_image_file(base.with_suffix(".png"), language="vie", dpi=dpi)


def _cache_key(name: str, source: str) -> str:
    """The scan's bytes and, for sohoa's OCR, the clean-up code: a changed colour step is
    OCR'd again."""
    digest = hashlib.sha256((SCANS / name).read_bytes())
    digest.update(source.encode())
    if source == "sohoa":
        digest.update((ROOT / "ocr" / "cleanup.py").read_bytes())
    return digest.hexdigest()[:24]


def read_pages(names: list[str], cache: Path | None, workers: int) -> dict[tuple[str, str], OcrPage | None]:
    tasks = [(name, source) for name in names for source in SOURCES]
    pages: dict[tuple[str, str], OcrPage | None] = {}
    todo = []
    for task in tasks:
        path = cache / f"{_cache_key(*task)}.pkl" if cache else None
        if path is not None and path.exists():
            pages[task] = pickle.loads(path.read_bytes())
        else:
            todo.append(task)
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        for task, page in zip(todo, pool.map(_read_page, todo)):
            pages[task] = page
            if cache is not None:
                cache.mkdir(parents=True, exist_ok=True)
                (cache / f"{_cache_key(*task)}.pkl").write_bytes(pickle.dumps(page))
    return pages


# -- scoring ------------------------------------------------------------------------------------


def _norm(field: str, value) -> str | None:
    if value in (None, "", [], ()):
        return None
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    if field == "number":
        return text.replace(" ", "")
    if field == "summary":
        return text.strip(" .()").casefold()
    return text


def outcome(field: str, header: DocumentHeader, truth: dict) -> str:
    """correct, empty (flagged or not), or wrong (cited: the body's number or date)."""
    found, expected = _norm(field, header.value(field)), _norm(field, truth.get(field))
    if found == expected:
        return "correct"
    if found is None:
        return "empty-flagged" if field in header.needing_review(THRESHOLD) else "empty"
    cited = truth["cited"]["numbers" if field == "number" else "dates"] if field in ("number", "issue_date") else ()
    return "wrong-cited" if found in {_norm(field, c) for c in cited} else "wrong"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="keep the OCR of each page here between runs")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--show", action="store_true", help="print every field read beside its label")
    args = parser.parse_args(argv)

    names = list(labels.DEVELOPMENT) + list(labels.HELD_OUT)
    started = time.monotonic()
    pages = read_pages(names, args.cache, args.workers)
    results: dict[tuple[str, str, str], str] = {}
    summary_errors: dict[tuple[str, str], tuple[int, int]] = {}  # edits, characters of the label
    stored_outcomes: dict[tuple[str, str], str] = {}  # the number as `sohoa ingest` stores it
    for name in names:
        truth = labels.LABELS[name]
        for source in SOURCES:
            header = read_header([pages[(name, source)]])
            stored = header.value("number") if "number" in header.fields else find_document_number(
                "\n".join(line.text for line in pages[(name, source)].lines), header_only=True)
            stored_outcomes[(name, source)] = outcome("number", DocumentHeader(
                {"number": HeaderField(stored, 1.0, None, None)} if stored else {}), truth)
            if truth.get("summary"):
                found = _norm("summary", header.value("summary")) or ""
                expected = _norm("summary", truth["summary"])
                summary_errors[(name, source)] = (Levenshtein.distance(found, expected), len(expected))
            for field in labels.FIELDS:
                results[(name, source, field)] = outcome(field, header, truth)
                if args.show:
                    print(f"{name} {source:9} {field:12} {results[(name, source, field)]:13} "
                          f"{header.value(field)!r} | {truth.get(field)!r}")

    groups = {"dev": labels.DEVELOPMENT, "held-out": labels.HELD_OUT}
    print(f"Header fields on {len(names)} labelled real scans (page 1), correct / files"
          f" [empty, wrong]; {time.monotonic() - started:.0f} s")
    head = f"{'field':13}" + "".join(f"{source + ' ' + group:>22}" for source in SOURCES for group in groups)
    print(head)
    for field in labels.FIELDS:
        cells = []
        for source in SOURCES:
            for members in groups.values():
                got = [results[(n, source, field)] for n in members]
                empty = sum(g.startswith("empty") for g in got)
                wrong = sum(g.startswith("wrong") for g in got)
                cells.append(f"{got.count('correct')}/{len(got)} [{empty}e {wrong}w]")
        print(f"{field:13}" + "".join(f"{cell:>22}" for cell in cells))
    print()
    print(f"{'totals':13}{'correct':>9}{'empty+flag':>12}{'empty':>7}{'wrong':>7}{'of which cited':>16}")
    for source in SOURCES:
        for group, members in groups.items():
            got = [results[(n, source, f)] for n in members for f in labels.FIELDS]
            wrong = sum(g.startswith("wrong") for g in got)
            print(f"{source + ' ' + group:13}{got.count('correct'):>9}{got.count('empty-flagged'):>12}"
                  f"{got.count('empty'):>7}{wrong:>7}{got.count('wrong-cited'):>16}")
    print()
    print("number as `sohoa ingest` stores it (the reader's, else a `Số:` line above the body):")
    for source in SOURCES:
        got = [stored_outcomes[(n, source)] for n in names]
        print(f"  {source:10} correct {got.count('correct')}, empty {sum(g.startswith('empty') for g in got)},"
              f" wrong {sum(g.startswith('wrong') for g in got)} (cited by the body {got.count('wrong-cited')})"
              f" of {len(got)}")
    print()
    print("summary character error rate (an empty summary counts every character):")
    for source in SOURCES:
        cells = []
        for group, members in groups.items():
            pairs = [summary_errors[(n, source)] for n in members if (n, source) in summary_errors]
            cells.append(f"{group} {100 * sum(e for e, _ in pairs) / max(1, sum(c for _, c in pairs)):.1f} %")
        print(f"  {source:10} " + ", ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
