"""Sanity checks of the scan generator (tests/fixtures/scans.py); two Tesseract runs at most."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import unicodedata
import warnings
import zlib
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from tests.fixtures import scans

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="tesseract-ocr not installed"
)


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _cer(truth: tuple[str, ...], ocr: list[str]) -> float:
    """Character error rate with each truth row matched to its closest OCR line.

    Matching by line, not by position, keeps the measure fair to Tesseract's own reading
    order of the two-column blocks.
    """
    remaining = [line for line in ocr if line.strip()]
    errors = 0
    for row in truth:
        scored = [(_levenshtein(row, o), k) for k, o in enumerate(remaining)]
        best = min(scored, default=(len(row), -1))
        if best[1] >= 0 and best[0] < len(row):
            errors += best[0]
            remaining.pop(best[1])
        else:
            errors += len(row)
    errors += sum(len(o) for o in remaining)  # lines OCR invented
    return errors / sum(len(r) for r in truth)


def test_pages_truth_and_determinism() -> None:
    page = scans.render_page("cong_van_268")
    again = scans.render_page("cong_van_268")
    assert page.image.tobytes() == again.image.tobytes()
    assert page.image.mode == "L" and page.image.size == (1165, 1654) and page.dpi == 200
    assert scans.render_page("cong_van_268", colour=True).image.mode == "RGB"

    assert all(unicodedata.is_normalized("NFC", line) for line in page.lines)
    assert [w for line in page.lines for w in line.split()] == [w for w, _ in page.words]
    assert page.lines[:2] == ("UBND TỈNH BÌNH ĐỊNH", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    assert "Số: 268/SGTVT-VP" in page.lines
    # every word box lies on the page and holds ink
    pixels = np.asarray(page.image)
    for word, (left, top, right, bottom) in page.words:
        assert 0 <= left < right <= page.image.width and 0 <= top < bottom <= page.image.height
        assert pixels[top:bottom, left:right].min() < 100, word
    # body x-height at 200 dpi, the size Tesseract reads best
    _, x_top, _, x_bottom = scans._font("regular", round(scans.BODY_PT * 200 / 72)).getbbox("x")
    assert x_bottom - x_top >= 18

    texts = {
        name: " ".join(
            line for i in range(len(doc.pages)) for line in scans.render_page(name, i).lines
        )
        for name, doc in scans.DOCUMENTS.items()
    }
    assert len(texts) >= 5
    assert any("văn bản điện tử" in text for text in texts.values())
    for name, doc in scans.DOCUMENTS.items():
        assert doc.keywords
        for keyword in doc.keywords:
            assert keyword in texts[name]
            assert all(keyword not in t for other, t in texts.items() if other != name), keyword
    assert len(scans.DOCUMENTS["ke_hoach_42"].pages) == 3


def test_writers(tmp_path: Path) -> None:
    pages = scans.render_document("ke_hoach_42")
    tif = scans.write_tiff(tmp_path / "a.tif", pages, "tiff_lzw")
    with Image.open(tif) as im:
        assert im.n_frames == 3 and im.info["compression"] == "tiff_lzw"
        assert tuple(round(v) for v in im.info["dpi"]) == (200, 200)
    for compression in ("jpeg", "group4"):
        with Image.open(
            scans.write_tiff(tmp_path / f"{compression}.tif", pages[:1], compression)
        ) as im:
            assert im.info["compression"] == compression
            assert im.mode == ("1" if compression == "group4" else "L")

    for image_format, pdf_filter in (
        ("jpeg", "/DCTDecode"),
        ("png", "/FlateDecode"),
        ("group4", "/CCITTFaxDecode"),
    ):
        path = scans.write_image_pdf(
            tmp_path / f"{image_format}.pdf", pages, image_format=image_format
        )
        assert path.read_bytes() == scans._image_pdf_bytes(pages, image_format)  # reproducible
        with pikepdf.open(path) as pdf:
            assert len(pdf.pages) == 3
            page = pdf.pages[0]
            (image,) = page.Resources.XObject.values()
            filters = image.Filter if isinstance(image.Filter, pikepdf.Array) else [image.Filter]
            assert [str(f) for f in filters] == [pdf_filter]
            assert round(image.Width / (float(page.mediabox[2]) / 72)) == 200

    jpeg = scans.write_jpeg(tmp_path / "a.jpg", pages[0])
    png = scans.write_png(tmp_path / "a.png", pages[0])
    with Image.open(jpeg) as im:
        assert im.info["jfif_density"] == (200, 200)
    with Image.open(png) as im:
        assert round(im.info["dpi"][0]) == 200

    samples = scans.write_samples(tmp_path / "samples")
    assert len(samples) == 5
    assert all(unicodedata.is_normalized("NFC", p.name) and p.stat().st_size for p in samples)
    assert {p.suffix for p in samples} == {".tif", ".pdf", ".jpg", ".png"}


def test_bad_inputs(tmp_path: Path, monkeypatch) -> None:
    assert scans.write_zero_bytes(tmp_path / "zero.pdf").stat().st_size == 0

    good = scans._image_pdf_bytes([scans._small_page()])
    truncated = scans.write_truncated_pdf(tmp_path / "cut.pdf").read_bytes()
    assert truncated == good[: len(good) // 2]

    corrupt = scans.write_corrupt_tiff(tmp_path / "bad.tif").read_bytes()
    assert corrupt[:4] == b"II*\x00"
    with warnings.catch_warnings(), pytest.raises((OSError, SyntaxError, ValueError)):
        warnings.simplefilter("ignore")  # Pillow may warn "Corrupt EXIF data" before failing
        with Image.open(io.BytesIO(corrupt)) as im:
            im.load()

    encrypted = scans.write_encrypted_pdf(tmp_path / "locked.pdf")
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(encrypted)
    with pikepdf.open(encrypted, password=scans.BAD_PDF_PASSWORD) as pdf:
        assert len(pdf.pages) == 1

    text = scans.write_text_named_pdf(tmp_path / "text.pdf").read_bytes()
    assert not text.startswith(b"%PDF") and "Số: 268/SGTVT-VP" in text.decode("utf-8")

    huge = scans.write_huge_pixel_png(tmp_path / "huge.png").read_bytes()
    assert len(huge) < 4096
    length, kind = struct.unpack(">I4s", huge[8:16])
    assert (kind, length) == (b"IHDR", 13)
    assert struct.unpack(">II", huge[16:24]) == (100_000, 100_000)
    assert struct.unpack(">I", huge[29:33])[0] == zlib.crc32(huge[12:29])
    # Pillow's own guard at its default (ocr/sources.py switches it off for its own limit once
    # imported, which an earlier test in the same process may have done)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", int(1024 * 1024 * 1024 // 4 // 3))
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(huge))


@needs_tesseract
def test_tesseract_reads_default_page(tmp_path: Path) -> None:
    """The clean default page OCRs almost perfectly; a scanner-OCR PDF carries that text."""
    page = scans.render_page("cong_van_268")
    png = scans.write_png(tmp_path / "page.png", page)
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    out = subprocess.run(
        ["tesseract", str(png), "-", "-l", "vie"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ocr = [unicodedata.normalize("NFC", line) for line in out.splitlines()]
    assert _cer(page.rows, ocr) < 0.01

    pdf_path = scans.write_searchable_pdf(tmp_path / "ocr.pdf", page)
    with pikepdf.open(pdf_path) as pdf:
        assert len(pdf.pages) == 1
        assert str(pdf.docinfo["/CreationDate"]).startswith("D:" + scans.SCAN_TIME.decode())
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf_path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "văn bản điện tử" in unicodedata.normalize("NFC", text)
