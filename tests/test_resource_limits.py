"""Issue 11, point 5: decompression bombs, a memory limit for each worker, a page limit.

The bombs are made here: a page whose drawing is a small Flate stream of 40 MB of `q Q`
(the 149 KB file that aborted `sohoa ingest` with std::bad_alloc), an image whose few
hundred kilobytes of data inflate to 200 MB for 100×100 declared pixels.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Name
from PIL import Image

from core.pdf.pages import drawing_size, has_text, image_dpi
from core.pdf.streamsize import decoded_size
from core.home import Home
from tests.conftest import SOHOA, run_sohoa
from tests.test_watch_support import Service, make_home, tiny_scan, wait_settled
from watch_folders.eventlog import EventLog
from watch_folders.service import Dispatcher
from watch_folders.settings import load_watch_settings


def _flate(pattern: bytes, size: int) -> bytes:
    """size bytes of pattern, Flate-compressed a megabyte at a time (the test never holds them)."""
    deflater = zlib.compressobj(9)
    block = pattern * ((1 << 20) // len(pattern))
    parts = [deflater.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + deflater.flush()


def content_bomb(path: Path, megabytes: int = 40) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    stream = pikepdf.Stream(pdf, _flate(b"q Q ", megabytes << 20))
    stream.Filter = Name.FlateDecode
    pdf.pages[0].obj.Contents = pdf.make_indirect(stream)
    pdf.save(path)
    return path


def image_bomb(path: Path, megabytes: int = 200) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    image = pikepdf.Stream(pdf, _flate(b"\xff", megabytes << 20))
    image.Filter = Name.FlateDecode
    image.Type, image.Subtype = Name.XObject, Name.Image
    image.Width, image.Height, image.BitsPerComponent, image.ColorSpace = 100, 100, 8, Name.DeviceGray
    page = pdf.pages[0]
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=pdf.make_indirect(image)))
    page.obj.Contents = pdf.make_indirect(pikepdf.Stream(pdf, b"q 595 0 0 842 0 0 cm /Im0 Do Q"))
    pdf.save(path)
    return path


def font_bomb(path: Path, megabytes: int = 1500) -> Path:
    """A page of text in an embedded TrueType font whose program inflates to 1.5 GB: writing
    the PDF/A of this 1.5 MB file took 3.2 GB before streams other than drawings were measured."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    program = pikepdf.Stream(pdf, _flate(b"\0", megabytes << 20))
    program.Filter = Name.FlateDecode
    descriptor = pikepdf.Dictionary(Type=Name.FontDescriptor, FontName=Name("/Bom"), Flags=32,
                                    FontBBox=[0, 0, 1000, 1000], ItalicAngle=0, Ascent=800, Descent=-200,
                                    CapHeight=700, StemV=80, FontFile2=pdf.make_indirect(program))
    font = pikepdf.Dictionary(Type=Name.Font, Subtype=Name.TrueType, BaseFont=Name("/Bom"), FirstChar=32,
                              LastChar=126, Widths=[500] * 95, FontDescriptor=pdf.make_indirect(descriptor),
                              Encoding=Name.WinAnsiEncoding)
    page = pdf.pages[0]
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=pdf.make_indirect(font)))
    page.obj.Contents = pdf.make_indirect(pikepdf.Stream(pdf, b"BT /F1 12 Tf 72 720 Td (Cong van so 12) Tj ET"))
    pdf.save(path)
    return path


def blank_pdf(path: Path, pages: int) -> Path:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
    pdf.save(path)
    return path


def huge_scan(path: Path) -> Path:
    """A real page scanned at 1000 dpi: 100 million pixels, within the pixel limit, but
    more than 600 MB to clean up and read."""
    with Image.open(tiny_scan(path.parent / "small.jpg")) as small:
        big = small.convert("L").resize((8400, 11900))
    path.parent.mkdir(parents=True, exist_ok=True)
    big.save(path, "JPEG", quality=80, dpi=(1000, 1000))
    (path.parent / "small.jpg").unlink()
    return path


def _set(home: Path, **values) -> None:
    config = home / "config.toml"
    text = config.read_text(encoding="utf-8")
    for key, value in values.items():
        line = next(line for line in text.splitlines() if line.startswith(f"{key} = "))
        text = text.replace(line, f"{key} = {value}")
    config.write_text(text, encoding="utf-8")


def _run_measured(home: Path, *args: str) -> tuple[subprocess.CompletedProcess, int]:
    """`sohoa --home HOME args` from a fresh Python whose only children are that run, so
    its RUSAGE_CHILDREN peak is the run's: the largest resident set of sohoa or any of its
    OCR processes, in MB."""
    probe = ("import resource, subprocess, sys\n"
             "code = subprocess.run(sys.argv[1:]).returncode\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, file=sys.stderr)\n"
             "sys.exit(code)\n")
    result = subprocess.run([sys.executable, "-c", probe, str(SOHOA), "--home", str(home), *args],
                            capture_output=True, text=True, timeout=600)
    *stderr, peak = result.stderr.rstrip("\n").split("\n")
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout, "\n".join(stderr)), int(peak)


# -- the measuring, without a service ---------------------------------------------------------


def test_decoded_size_stops_past_the_limit_without_inflating_everything(tmp_path):
    pdf = pikepdf.open(content_bomb(tmp_path / "bomb.pdf"))
    contents = pdf.pages[0].obj.Contents
    assert len(contents.read_raw_bytes()) < 200_000  # 40 MB in less than 200 KB
    assert decoded_size(contents, 1 << 40) == 40 << 20
    measured = decoded_size(contents, 1 << 20)
    assert 1 << 20 < measured <= 2 << 20  # stopped one chunk past the limit
    assert drawing_size(pdf.pages[0], 1 << 20) <= 2 << 20


def test_a_large_drawing_is_walked_without_holding_its_instructions(tmp_path):
    """4 MB of `q Q` (2 million instructions) under the limit is read in bounded memory:
    as pikepdf.parse_content_stream's list it took 800 MB."""
    # The peak of the probe's own memory (VmHWM): its ru_maxrss would also count the
    # resident set of the pytest process it was forked from (Linux keeps that across exec).
    probe = ("import sys, pikepdf\n"
             "def peak_mb():\n"
             "    line = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
             "    return int(line.split()[1]) // 1024\n"
             "from core.pdf.pages import has_text, image_dpi\n"
             "pdf = pikepdf.open(sys.argv[1])\n"
             "page = pdf.pages[0]\n"
             "print(image_dpi(page), has_text(page), peak_mb())\n")
    result = subprocess.run([sys.executable, "-c", probe, str(content_bomb(tmp_path / "q.pdf", 4))],
                            capture_output=True, text=True, timeout=600, cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stderr
    dpi, text, peak = result.stdout.split()
    assert (dpi, text) == ("None", "False")
    assert int(peak) < 300, f"{peak} MB"


def test_the_walks_still_find_images_and_text(tmp_path):
    pdf = pikepdf.open(image_bomb(tmp_path / "i.pdf", megabytes=1))
    page = pdf.pages[0]
    assert image_dpi(page) == pytest.approx(100 / (595 / 72))
    assert not has_text(page)
    page.obj.Contents = pdf.make_indirect(pikepdf.Stream(pdf, b"q 1 0 0 1 0 0 cm BT /F1 12 Tf (chu) Tj ET Q"))
    assert has_text(page)


def test_lzw_run_length_and_ascii_filters_measure_what_qpdf_decodes(tmp_path):
    """PDF's LZW is TIFF's (most significant bit first, early change): a Pillow LZW strip."""
    pdf = pikepdf.new()
    with Image.open(tiny_scan(tmp_path / "a.jpg")) as scan:
        buffer = io.BytesIO()
        scan.convert("L").save(buffer, "TIFF", compression="tiff_lzw", rowsperstrip=4000)
    with Image.open(io.BytesIO(buffer.getvalue())) as tiff:
        offset, count = tiff.tag_v2[273][0], tiff.tag_v2[279][0]
    streams = [(buffer.getvalue()[offset:offset + count], Name.LZWDecode)]
    data = bytes(range(256)) * 300 + b"q Q " * 5000
    encoded = zlib.compress(data)
    streams.append((encoded.hex().encode() + b">", pikepdf.Array([Name.ASCIIHexDecode, Name.FlateDecode])))
    import base64
    streams.append((base64.a85encode(encoded) + b"~>", pikepdf.Array([Name.ASCII85Decode, Name.FlateDecode])))
    runs = b"".join(bytes([127]) + data[i:i + 128] for i in range(0, 128 * 100, 128)) + bytes([129, 7]) + b"\x80"
    streams.append((runs, Name.RunLengthDecode))
    for raw, filters in streams:
        stream = pikepdf.Stream(pdf, raw)
        stream.Filter = filters
        expected = len(stream.read_bytes(pikepdf.StreamDecodeLevel.specialized))
        assert expected > len(raw) // 4
        assert decoded_size(stream, 1 << 40) == expected, filters
        assert expected // 2 < decoded_size(stream, expected // 2) <= expected  # stops once past


def test_all_pages_together_have_a_limit_too(tmp_path):
    """40 pages of 9 KB of drawing, each under a 10 KB page limit, 360 KB together: over
    32 times the page limit. (The same stream on every page counts on every page.)"""
    from ocr.errors import TooLargeContent
    from ocr.sources import load_source

    pdf = pikepdf.new()
    drawing = pdf.make_indirect(pikepdf.Stream(pdf, b"q Q " * 2304))
    for _ in range(40):
        pdf.add_blank_page(page_size=(595, 842))
        pdf.pages[-1].obj.Contents = drawing
    pdf.save(tmp_path / "many.pdf")
    with pytest.raises(TooLargeContent, match="giới hạn cả tệp 320 KB") as refused:
        load_source(tmp_path / "many.pdf", max_pixels=10**8, max_page_content=10 << 10)
    assert refused.value.code == "too-large-content"
    assert len(load_source(tmp_path / "many.pdf", max_pixels=10**8, max_page_content=20 << 10).pdf.pages) == 40


# -- sohoa ingest -------------------------------------------------------------------------------


def test_ingest_refuses_bombs_in_one_line_each_and_archives_the_good_file(tmp_path):
    home = tmp_path / "home"
    assert run_sohoa(home, "init").returncode == 0
    bomb = content_bomb(tmp_path / "bom-noi-dung.pdf")
    picture = image_bomb(tmp_path / "bom-anh.pdf")
    font = font_bomb(tmp_path / "bom-phông.pdf")
    good = tiny_scan(tmp_path / "tốt.jpg")
    result, peak = _run_measured(home, "ingest", str(bomb), str(picture), str(font), str(good))
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 3, result.stderr
    assert str(bomb) in errors[0] and "giải nén quá lớn" in errors[0] and "40 MB" in errors[0]
    assert str(picture) in errors[1] and "dữ liệu ảnh giải nén quá lớn" in errors[1]
    assert str(font) in errors[2] and "luồng dữ liệu" in errors[2] and "giới hạn 64 MB" in errors[2]
    assert "Traceback" not in result.stderr and "bad_alloc" not in result.stderr
    assert f"✓ {good}" in result.stdout
    assert peak < 600, f"peak resident memory {peak} MB"
    shown = run_sohoa(home, "show", "1")
    assert shown.returncode == 0 and "tốt.jpg" in shown.stdout
    assert run_sohoa(home, "show", "2").returncode == 1  # nothing else was archived


def test_ingest_json_names_the_code(tmp_path):
    home = tmp_path / "home"
    assert run_sohoa(home, "init").returncode == 0  # commands refuse a folder that is not a home
    result = run_sohoa(home, "ingest", "--json", str(content_bomb(tmp_path / "b.pdf")))
    assert result.returncode == 1
    assert '"error": "too-large-content"' in result.stdout


def test_a_file_over_the_page_limit_is_refused_at_load(tmp_path):
    home = tmp_path / "home"
    assert run_sohoa(home, "init").returncode == 0
    _set(home, max_pages=5)
    pdf = blank_pdf(tmp_path / "dày.pdf", 6)
    frames = [Image.new("L", (800, 1100), 255) for _ in range(6)]
    tiff = tmp_path / "dày.tif"
    frames[0].save(tiff, save_all=True, append_images=frames[1:], dpi=(100, 100))
    allowed = blank_pdf(tmp_path / "vừa.pdf", 5)
    started = time.monotonic()
    result = run_sohoa(home, "ingest", str(pdf), str(tiff))
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2, result.stderr
    for path, line in zip((pdf, tiff), errors):
        assert str(path) in line and "6 trang, vượt giới hạn 5 trang" in line and "max_pages" in line
    # Refused at load (the message is load_source's), before any page is rendered or read:
    # nothing archived, and in seconds, not the minutes of rendering every page.
    assert elapsed < 120
    assert run_sohoa(home, "show", "1").returncode == 1
    assert run_sohoa(home, "ingest", str(allowed)).returncode == 0


def test_the_default_page_limit_refuses_a_ten_thousand_page_file_at_once(tmp_path):
    """10,000 blank pages took 509 s, one pdftoppm per page re-reading the whole file."""
    home = tmp_path / "home"
    assert run_sohoa(home, "init").returncode == 0  # commands refuse a folder that is not a home
    started = time.monotonic()
    result = run_sohoa(home, "ingest", str(blank_pdf(tmp_path / "mười-nghìn.pdf", 10_000)))
    assert result.returncode == 1
    assert "tệp có 10000 trang, vượt giới hạn 2000 trang" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # the one line
    assert time.monotonic() - started < 120


def test_limits_are_checked_in_config(tmp_path):
    home = tmp_path / "home"
    assert run_sohoa(home, "init").returncode == 0
    _set(home, max_pages=-1)
    result = run_sohoa(home, "ingest", str(tiny_scan(tmp_path / "a.jpg")))
    assert result.returncode == 1 and "max_pages không được âm" in result.stderr


# -- the watch service --------------------------------------------------------------------------


def test_a_page_past_the_memory_limit_fails_its_file_once_and_the_others_go_on(tmp_path):
    home = make_home(tmp_path / "home", memory_limit_mb=600)
    inbox = home / "inbox" / "luu-tru"
    huge = huge_scan(tmp_path / "staging" / "khổng-lồ.jpg")
    with Service(home) as service:
        huge.rename(inbox / huge.name)
        content_bomb(inbox / "bom.pdf")
        tiny_scan(inbox / "nhỏ.jpg")
        rows = {Path(r["source_path"]).name: r for r in wait_settled(home, 3, timeout=300)}
        assert service.process.poll() is None
    assert rows["nhỏ.jpg"]["state"] == "done", rows
    big = rows["khổng-lồ.jpg"]
    assert big["state"] == "failed" and big["error_code"] == "too-much-memory", big
    assert big["attempts"] == 1  # failed at once: the same file needs the same memory every time
    assert "600 MB" in big["reason"]
    bomb = rows["bom.pdf"]
    assert bomb["state"] == "failed" and bomb["error_code"] == "too-large-content", bomb
    failed = home / "failed" / "luu-tru"
    assert (failed / "khổng-lồ.jpg").is_file() and (failed / "bom.pdf").is_file()
    note = (failed / "khổng-lồ.jpg.reason.txt").read_text(encoding="utf-8")
    assert "quá nhiều bộ nhớ" in note and "memory_limit_mb" in note
    bomb_note = (failed / "bom.pdf.reason.txt").read_text(encoding="utf-8")
    assert "giải nén quá lớn" in bomb_note and "Đừng mở tệp này" in bomb_note
    assert not (home / "inbox" / "luu-tru" / "khổng-lồ.jpg").exists()


def test_a_worker_that_dies_twice_under_a_file_fails_it(tmp_path):
    """The death path (the OOM killer, or an abort on std::bad_alloc): one retry, then failed."""
    home = make_home(tmp_path / "home", memory_limit_mb=700)
    dispatcher = Dispatcher(Home(home), load_watch_settings(home / "config.toml"), EventLog(None))
    assert dispatcher.memory_limit_mb == 700

    class Job:
        id = 7

    first = dispatcher._worker_lost(Job, -6)
    assert (first.outcome, first.error_code) == ("retry", "worker-lost")
    second = dispatcher._worker_lost(Job, -9)
    assert (second.outcome, second.error_code) == ("failed", "worker-lost")
    assert "hai lần" in second.reason and "700 MB" in second.reason


def test_ingest_reads_pages_under_the_memory_limit(tmp_path):
    """`sohoa ingest` reads pages in processes of its own under [limits] memory_limit_mb: a
    page that needs more fails its file in one line, the next file is archived."""
    home = tmp_path / "home"
    assert run_sohoa(home, "init").returncode == 0
    _set(home, memory_limit_mb=600)
    huge = huge_scan(tmp_path / "khổng-lồ.jpg")
    small = tiny_scan(tmp_path / "nhỏ.jpg")
    result = run_sohoa(home, "ingest", str(huge), str(small))
    assert result.returncode == 1, result.stderr
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and str(huge) in errors[0] and "quá nhiều bộ nhớ" in errors[0] and "600 MB" in errors[0], errors
    assert f"✓ {small}" in result.stdout


def test_a_worker_out_of_memory_fails_its_job_without_retries():
    from watch_folders.workers import PageLost, _failure

    done = _failure(3, MemoryError())
    assert (done.outcome, done.error_code) == ("failed", "too-much-memory")  # not "retry" (transient)
    lost = _failure(3, PageLost("trang 2: tiến trình nhận dạng chữ bị dừng đột ngột hai lần"))
    assert (lost.outcome, lost.error_code) == ("failed", "page-lost")
