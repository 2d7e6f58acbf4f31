"""Every file of ../shared/realscans/ through the PDF loader once (ocr/sources.py with its
damage check and normalisation, ocr/normalise.py): how many load, with how many pages
against the pages each file declares, and what the archive copy changed. No OCR.

    .venv/bin/python bench/realscans_load.py [FOLDER]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pikepdf

from ocr.errors import InputRejected
from ocr.sources import load_source

FOLDER = Path(__file__).resolve().parents[2] / "shared" / "realscans"


def main(folder: Path) -> int:
    files = sorted(folder.glob("*.pdf"))
    loaded = same_pages = 0
    started = time.monotonic()
    for path in files:
        with pikepdf.open(path) as pdf:
            declared = int(pdf.Root.Pages.Count)
        try:
            source = load_source(path, max_pixels=250_000_000)
        except InputRejected as error:
            print(f"{path.name}: refused ({error.code}): {error.reason}")
            continue
        loaded += 1
        pages = len(source.pdf.pages)
        same_pages += pages == declared
        print(f"{path.name}: {pages}/{declared} pages; changes: {source.normalised or '-'}")
    print(f"{loaded}/{len(files)} loaded, {same_pages} with every declared page, "
          f"{time.monotonic() - started:.1f} s")
    return 0 if loaded == len(files) == same_pages else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER))
