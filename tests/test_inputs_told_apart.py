"""Issue 11, point 9: valid, unsupported and damaged inputs told apart, through the real CLI.

A truncated JPEG closed with an end marker (libjpeg only warns) is refused as damaged; CMYK
JPEG and TIFF, 16-bit grey and Lab TIFF, a 60000-dpi tag, a PNG quoting "%PDF-" and a
non-UTF-8 name are archived; a MediaBox of 1e30 or [0 0 0 0] and a `Do` without operand
are refused in one line with their own reason; usage mistakes (`--home` a file, a huge
`--limit`, `--batch-size 0`) give one line and change nothing; the staging folder a killed
`sohoa ingest` left is removed by the next run, never that of a run still going.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import signal
import subprocess
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, PngImagePlugin

from index import open_index
from tests.conftest import SOHOA, json_lines, run_sohoa
from tests.fixtures import scans
from tests.test_watch_support import pause_at, wait_paused

CORRUPT_WORDS = "hỏng hoặc bị cắt cụt"


def _page() -> Image.Image:
    # 100 dpi A5: tiny, quick to OCR, and still a real page with words to find.
    return scans.render_page("giay_moi_17", dpi=100).image.convert("RGB")


def _jpeg(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, **options)
    return buffer.getvalue()


def _image_pdf(box=None) -> pikepdf.Pdf:
    page = scans.render_page("cong_van_268", dpi=100)
    pdf = pikepdf.open(io.BytesIO(scans._image_pdf_bytes([page])))
    if box is not None:
        pdf.pages[0].obj.MediaBox = pikepdf.Array(box)
    return pdf


def _saved(pdf: pikepdf.Pdf, path: Path) -> Path:
    pdf.save(path, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return path


# -- the inputs, each made here ----------------------------------------------------------


def truncated_jpeg(path: Path) -> Path:
    """Half a JPEG and an end-of-image marker: libjpeg decodes it half grey, with a warning."""
    whole = _jpeg(_page(), dpi=(100, 100))
    path.write_bytes(whole[: len(whole) // 2] + b"\xff\xd9")
    return path


def cmyk_jpeg(path: Path) -> Path:
    _page().rotate(0.5, fillcolor="white").convert("CMYK").save(path, "JPEG", dpi=(100, 100))
    return path


def cmyk_tiff(path: Path) -> Path:
    _page().rotate(-0.5, fillcolor="white").convert("CMYK").save(path, "TIFF", compression="tiff_lzw",
                                                                  dpi=(100, 100))
    return path


def grey16_tiff(path: Path) -> Path:
    grey = np.asarray(_page().convert("L")).astype(np.uint16) * 257
    Image.fromarray(grey).save(path, "TIFF", dpi=(100, 100))
    return path


def lab_tiff(path: Path) -> Path:
    _page().rotate(1, fillcolor="white").convert("LAB").save(path, "TIFF", dpi=(100, 100))
    return path


def dpi_60000_jpeg(path: Path) -> Path:
    path.write_bytes(_jpeg(_page().rotate(-1, fillcolor="white"), dpi=(60000, 60000)))
    return path


def png_quoting_pdf(path: Path) -> Path:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "%PDF-1.7 quoted in a text chunk, not a PDF")
    _page().convert("L").save(path, "PNG", pnginfo=info, dpi=(100, 100))
    return path


def mediabox_1e30_real(path: Path) -> Path:
    """A page 1e30 points wide written as a PDF real, as a program writing floats would."""
    placeholder = "999999999999"
    data = io.BytesIO()
    _image_pdf([0, 0, int(placeholder), int(placeholder)]).save(
        data, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    real = b"1000000000000000000000000000000.0"
    # Same-length swap would need a shorter number: qpdf finds the objects again itself.
    path.write_bytes(data.getvalue().replace(placeholder.encode(), real))
    return path


def mediabox_1e30_pikepdf(path: Path) -> Path:
    """pikepdf writes 1e30 as a 31-digit integer, past what qpdf reads: the page is dropped."""
    return _saved(_image_pdf([0, 0, 1e30, 1e30]), path)


def second_page_1e30(path: Path) -> Path:
    """Two pages, the second's MediaBox 1e30 as pikepdf writes it: qpdf drops that page with
    a warning, and the document would be archived one sheet short."""
    pages = [scans.render_page("cong_van_268", dpi=100), scans.render_page("giay_moi_17", dpi=100)]
    pdf = pikepdf.open(io.BytesIO(scans._image_pdf_bytes(pages)))
    pdf.pages[1].obj.MediaBox = pikepdf.Array([0, 0, 1e30, 1e30])
    return _saved(pdf, path)


def mediabox_zero(path: Path) -> Path:
    return _saved(_image_pdf([0, 0, 0, 0]), path)


def do_without_operand(path: Path) -> Path:
    pdf = _image_pdf()
    pdf.pages[0].obj.Contents = pdf.make_stream(b"q 420 0 0 595 0 0 cm Do Q")
    return _saved(pdf, path)


VALID = {
    # file name: writer
    "cmyk.jpg": cmyk_jpeg,
    "cmyk.tif": cmyk_tiff,
    "xám-16-bit.tif": grey16_tiff,
    "lab.tif": lab_tiff,
    "60000-dpi.jpg": dpi_60000_jpeg,
    "chữ-pdf.png": png_quoting_pdf,
}

REFUSED = {
    # file name: (writer, error code, words the one line must hold)
    "cụt-có-EOI.jpg": (truncated_jpeg, "corrupt", CORRUPT_WORDS),
    "khổ-1e30.pdf": (mediabox_1e30_real, "page-size", "kích thước trang vô lý"),
    "khổ-1e30-số-nguyên.pdf": (mediabox_1e30_pikepdf, "page-size", "kích thước trang vô lý"),
    "trang-2-khổ-1e30.pdf": (second_page_1e30, "page-size", "kích thước trang vô lý"),
    "khổ-0.pdf": (mediabox_zero, "page-size", "kích thước trang vô lý"),
    "Do-thiếu-tên.pdf": (do_without_operand, "corrupt", "(Do) thiếu tên ảnh"),
}
NON_UTF8_NAME = b"t\xe9n-l\xf4i.jpg"  # Windows-1258 bytes, not UTF-8


# -- one home for the module: the valid inputs ingested once --------------------------------


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    for name, writer in VALID.items():
        writer(folder / name)
    for name, (writer, _, _) in REFUSED.items():
        writer(folder / name)
    # A JPEG the others are not, under a name that is not UTF-8.
    odd = os.path.join(os.fsencode(folder), NON_UTF8_NAME)
    Image.fromarray(np.asarray(_page().rotate(1.5, fillcolor="white"))).save(odd, "JPEG", dpi=(100, 100))
    return folder


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("home") / "sohoa-data"
    assert run_sohoa(home, "init").returncode == 0
    config = home / "config.toml"
    # Signing has its own tests; here it would only cost time.
    config.write_text(re.sub(r"(?m)^enabled = true$", "enabled = false",
                             config.read_text(encoding="utf-8"), count=1), encoding="utf-8")
    return home


@pytest.fixture(scope="module")
def archived(home, inputs) -> dict[str, dict]:
    files = [str(inputs / name) for name in VALID]
    odd = os.fsdecode(os.path.join(os.fsencode(inputs), NON_UTF8_NAME))
    done = run_sohoa(home, "ingest", "--json", *files, odd)
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == "", done.stderr
    assert done.returncode == 0, done.stdout
    results = json_lines(done.stdout)
    assert [r["status"] for r in results] == ["archived"] * (len(VALID) + 1), results
    return dict(zip([*VALID, "non-utf8"], results))


def _shown(home: Path, document_id: int) -> dict:
    done = run_sohoa(home, "show", "--json", str(document_id))
    assert done.returncode == 0, done.stderr
    (record,) = json_lines(done.stdout)
    return record


def _page_image(pdfa: str) -> tuple[dict, list[float]]:
    """The PDF/A's one page image (colour space, bits) and its page's MediaBox."""
    with pikepdf.open(pdfa) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        space = image.get("/ColorSpace")
        if isinstance(space, pikepdf.Array) and space[0] == "/ICCBased":  # sRGB by its profile
            space = {1: "/DeviceGray", 3: "/DeviceRGB", 4: "/DeviceCMYK"}[int(space[1].N)]
        return ({"colour": str(space), "bits": int(image.get("/BitsPerComponent"))},
                [float(v) for v in pdf.pages[0].mediabox])


# -- valid inputs are archived, the original kept byte for byte ----------------------------


@pytest.mark.parametrize("name", VALID)
def test_valid_input_is_archived_with_its_original(home, inputs, archived, name):
    result = archived[name]
    record = _shown(home, result["id"])
    original = Path(record["original"]).read_bytes()
    assert original == (inputs / name).read_bytes()
    assert record["original_sha256"] == hashlib.sha256(original).hexdigest()
    assert result["pages"] == 1


@pytest.mark.parametrize("name", ["cmyk.jpg", "cmyk.tif", "lab.tif"])
def test_cmyk_and_lab_pages_are_srgb_in_the_pdfa(archived, name):
    image, _ = _page_image(archived[name]["pdfa"])
    assert image == {"colour": "/DeviceRGB", "bits": 8}


def test_sixteen_bit_grey_keeps_its_sixteen_bits(archived):
    image, _ = _page_image(archived["xám-16-bit.tif"]["pdfa"])
    assert image == {"colour": "/DeviceGray", "bits": 16}


def test_converted_pages_were_read(home, archived):
    # The OCR copy of CMYK, Lab and 16-bit grey pages is the page, not a blank or a mess.
    for name in ("cmyk.jpg", "cmyk.tif", "lab.tif", "xám-16-bit.tif"):
        assert archived[name]["metadata"].get("number") == "17/GM-SVHTT", name


def test_absurd_dpi_tag_is_ignored_and_recorded(home, archived):
    result = archived["60000-dpi.jpg"]
    image, box = _page_image(result["pdfa"])
    width_in = (box[2] - box[0]) / 72
    assert 4 < width_in < 9  # an A5-to-A4 sheet, not 0.7 points
    loaded = [e for e in _shown(home, result["id"])["events"] if e["step"] == "loaded"]
    (note,) = loaded[0]["detail"]["notes"]
    assert "60000 dpi" in note and "không hợp lý" in note


def test_png_quoting_pdf_is_a_png(home, archived):
    record = _shown(home, archived["chữ-pdf.png"]["id"])
    assert record["original"].endswith(".png")
    assert [e for e in record["events"] if e["step"] == "received"][0]["detail"]["format"] == "png"


def test_non_utf8_name_is_archived_under_a_readable_name(home, archived):
    result = archived["non-utf8"]
    record = _shown(home, result["id"])
    name = record["original_name"]
    name.encode("utf-8")  # no lone surrogate left: SQLite and the sidecar took it
    assert name.endswith(".jpg") and name.startswith("t") and "\ufffd" not in name
    assert result["file"].encode("utf-8")


def test_non_utf8_name_refused_in_one_line(home, tmp_path):
    missing = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"kh\xf4ng-c\xf3.pdf"))
    done = run_sohoa(home, "ingest", missing)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "không tìm thấy tệp" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


# -- refused inputs: one line, their own reason, nothing written -----------------------------


@pytest.mark.parametrize("name", REFUSED)
def test_refused_input_says_why_in_one_line(home, inputs, archived, name):
    _, code, words = REFUSED[name]
    with open_index(home / "index") as index:
        before = index.doc_ids()
    done = run_sohoa(home, "ingest", "--json", str(inputs / name))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert name in lines[0] and words in lines[0]
    if code != "corrupt":
        assert CORRUPT_WORDS not in lines[0]
    (result,) = json_lines(done.stdout)
    assert result["status"] == "failed" and result["error"] == code
    with open_index(home / "index") as index:
        assert index.doc_ids() == before


def test_the_same_jpeg_whole_is_archived(home, tmp_path):
    # The truncated JPEG's refusal is about its missing half, not about JPEG data as such:
    # a whole one is archived, with the zero padding some scanners write after its end.
    whole = tmp_path / "nguyên.jpg"
    page = scans.render_page("giay_moi_17", dpi=100).image.convert("RGB").rotate(2, fillcolor="white")
    whole.write_bytes(_jpeg(page, dpi=(100, 100)) + bytes(512))
    done = run_sohoa(home, "ingest", "--json", str(whole))
    assert done.returncode == 0, done.stderr
    assert json_lines(done.stdout)[0]["status"] == "archived"


# -- usage mistakes: one line, nothing changed ----------------------------------------------


def _one_usage_line(done: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in done.stderr and "panicked" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_home_that_is_a_file_is_refused_in_one_line(tmp_path):
    a_file = tmp_path / "dữ-liệu"
    a_file.write_text("không phải thư mục")
    for home in (a_file, a_file / "bên-dưới"):
        done = run_sohoa(home, "search", "hội nghị")
        assert done.returncode == 2
        assert "không phải thư mục" in _one_usage_line(done)
    assert a_file.read_text() == "không phải thư mục"


def test_huge_search_limit_is_answered(home, archived):
    for extra in (["--sort", "date"], ["--json"]):
        done = run_sohoa(home, "search", "--limit", "1000000000", *extra, "hội nghị")
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stderr.strip() == ""
        assert "mã" in done.stdout or '"count"' in done.stdout
    found = json_lines(run_sohoa(home, "search", "--json", "--limit", "1000000000", "hội nghị").stdout)[0]
    assert found["count"] >= len(VALID)


@pytest.mark.parametrize("value", ["0", "nhiều"])
def test_search_limit_must_be_positive(home, value):
    done = run_sohoa(home, "search", "--limit", value, "hội nghị")
    assert done.returncode == 2
    assert "--limit" in _one_usage_line(done)


def test_reindex_batch_size_zero_is_refused_and_the_index_kept(home, archived):
    with open_index(home / "index") as index:
        before = index.doc_ids()
    assert len(before) >= len(archived)
    done = run_sohoa(home, "reindex", "--batch-size", "0")
    assert done.returncode == 2
    line = _one_usage_line(done)
    assert "--batch-size" in line and "số nguyên từ 1" in line
    with open_index(home / "index") as index:
        assert index.doc_ids() == before
    found = json_lines(run_sohoa(home, "search", "--json", "hội nghị").stdout)[0]
    assert found["count"] >= 1


# -- staging left by a killed ingest ----------------------------------------------------------


def _staging(home: Path) -> set[Path]:
    return set((home / "tmp").glob("ingest-*"))


def test_staging_of_a_killed_ingest_is_removed_by_the_next_run(home, archived, inputs, tmp_path):
    pages = scans.render_document("ke_hoach_42", dpi=150)
    long_scan = scans.write_tiff(tmp_path / "kế-hoạch.tif", pages, "tiff_lzw")
    before = _staging(home)
    pauses = tmp_path / "pauses"
    process = subprocess.Popen([str(SOHOA), "--home", str(home), "ingest", str(long_scan)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                               env={**os.environ, **pause_at(pauses, "received")})
    try:
        # Held with its staging folder made and the scan copied into it (core/testpoints.py).
        assert wait_paused(pauses, "received", process=process) == process.pid
        left = {p for p in _staging(home) - before if any(p.glob("original.*"))}
        assert left
        os.killpg(process.pid, signal.SIGKILL)  # it and its OCR processes, as a power cut
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert all(p.is_dir() for p in left)  # the kill left it behind
    # The next run, even one that archives nothing new, removes it.
    done = run_sohoa(home, "ingest", str(inputs / "cmyk.jpg"))
    assert done.returncode == 0, done.stderr
    assert not any(p.exists() for p in left)


def test_staging_of_a_live_ingest_is_kept(home, inputs):
    # A folder owned (by name) by a process that is running: a `sohoa ingest` beside us.
    owner = subprocess.Popen(["sleep", "300"])
    try:
        stat = Path(f"/proc/{owner.pid}/stat").read_text()
        started = stat[stat.rfind(")") + 2:].split()[19]
        live = home / "tmp" / f"ingest-{owner.pid}-{started}-beside"
        live.mkdir()
        (live / "original.tif").write_bytes(b"II*\x00 still being worked on")
        # A pid that is running but started at another time is not the owner: reused pid.
        reused = home / "tmp" / f"ingest-{owner.pid}-{int(started) + 1}-reused"
        reused.mkdir()
        done = run_sohoa(home, "ingest", str(inputs / "cmyk.jpg"))
        assert done.returncode == 0, done.stderr
        assert (live / "original.tif").exists()
        assert not reused.exists()
    finally:
        owner.kill()
        owner.wait()
    done = run_sohoa(home, "ingest", str(inputs / "cmyk.jpg"))
    assert done.returncode == 0, done.stderr
    assert not live.exists()
