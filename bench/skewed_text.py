"""Reading order of the text layer on skewed scans: what plain `pdftotext` (and `-layout`)
gets out of sohoa's PDF, beside the OCR text it was drawn from, both against the truth.

Generated pages (tests/fixtures) skewed -5° to +5° on the glass are OCR'd as sohoa does
(ocr.pages.ocr_page) and written as a PDF with sohoa's text layer (ocr.pdfa.add_text_layers)
over the untouched scan. Character error rate as in bench/ocr_accuracy.py: each truth line
(a two-column header row is two lines) against its best-matching stretch of the text, so
column order is not an error but a line split in pieces or words of two lines interleaved
are. Target: pdftotext's CER within 1.2x the OCR text's own.

    .venv/bin/python bench/skewed_text.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import img2pdf
import pikepdf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.patches import apply_all  # noqa: E402

apply_all()  # as sohoa's entry points do at start: the patched libraries, one OCR thread

from bench.ocr_accuracy import character_errors  # noqa: E402
from ocr.pages import PageJob, ocr_page  # noqa: E402
from ocr.pdfa import add_text_layers  # noqa: E402
from tests.fixtures import degraded, scans  # noqa: E402

# (document, page index, skew in degrees counter-clockwise); 0° is the reference.
PAGES = [
    ("cong_van_268", 0, 0.0),
    ("cong_van_268", 0, -5.0),
    ("ke_hoach_42", 1, -3.5),
    ("thong_bao_05", 0, -2.0),
    ("ke_hoach_42", 0, 1.0),
    ("quyet_dinh_15", 0, 2.5),
    ("giay_moi_17", 0, 3.2),
    ("ke_hoach_42", 2, 4.0),
    ("thong_bao_05", 0, 5.0),
]
MODES = {"ocr": None, "pdftotext": [], "pdftotext -layout": ["-layout"]}


def _chars(lines: tuple[str, ...]) -> int:
    return sum(len(" ".join(unicodedata.normalize("NFC", line).split())) for line in lines)


def measure(work: Path) -> list[tuple[str, float, dict[str, float]]]:
    rows = []
    for name, index, skew in PAGES:
        sample = scans.render_page(name, index)
        page = degraded.skew(degraded.from_sample(sample, f"{name}-{index}-{skew:+.1f}", "bench"), skew)
        image = page.write(work)
        ocr = ocr_page(PageJob(pdf_path=image, page_number=1, dpi=page.dpi, language="vie", image_file=image))
        pdf = work / f"{image.stem}.pdf"
        pdf.write_bytes(img2pdf.convert(str(image)))
        with pikepdf.open(pdf, allow_overwriting_input=True) as document:
            add_text_layers(document, {0: ocr})
            document.save(pdf)
        texts = {"ocr": ocr.text}
        for mode, options in MODES.items():
            if options is not None:
                texts[mode] = subprocess.run(["pdftotext", *options, "-enc", "UTF-8", str(pdf), "-"],
                                             capture_output=True, text=True, check=True).stdout
        total = _chars(sample.lines)
        cer = {mode: 100 * character_errors(sample.lines, text)[0] / total for mode, text in texts.items()}
        rows.append((f"{name}/{index + 1}", skew, cer))
        print(f"  {name + '/' + str(index + 1):<18}{skew:+6.1f}°" + "".join(f"{cer[m]:>24.2f}" for m in MODES), flush=True)
    return rows


def main() -> int:
    print(f"  {'page':<18}{'skew':>7}" + "".join(f"{m + ' CER %':>24}" for m in MODES))
    with tempfile.TemporaryDirectory(prefix="sohoa-skew-") as work:
        rows = measure(Path(work))
    skewed = [cer for _, skew, cer in rows if skew]
    mean = {m: sum(c[m] for c in skewed) / len(skewed) for m in MODES}
    print(f"  {'mean of skewed':<25}" + "".join(f"{mean[m]:>24.2f}" for m in MODES))
    worst = max(max(c["pdftotext"], c["pdftotext -layout"]) - 1.2 * c["ocr"] for c in skewed)
    ratio = max(mean["pdftotext"], mean["pdftotext -layout"]) / max(mean["ocr"], 1e-9)
    print(f"  pdftotext / OCR (means): {ratio:.2f}x   target <= 1.2x"
          f"   worst page over 1.2x OCR by {max(worst, 0):.2f} points")
    return 0 if ratio <= 1.2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
