"""Issue 14, point 4: third-party patches in one module (core/patches.py), applied at start.

For each patch: upstream, unpatched, still does what the patch corrects (these tests fail
the day upstream changes, and the patch must then be looked at again), and the patched
behaviour is what sohoa needs, on real objects (PDFs written by pikepdf and pyHanko, read
back with pikepdf and the `page` PDF/A validator, images through Pillow and img2pdf, the
OpenMP runtime Tesseract links). conftest.py has applied every patch in this process; an
unpatched run puts upstream's function back for one test (monkeypatch) or starts a fresh
interpreter.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import io
import logging
import os
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import img2pdf
import page as page_validator
import pikepdf
import pytest
from lxml import etree
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata import xmp_xml

from core import patches
from ocr.errors import TooManyPixels
from core.pdf.streams import stream_findings
from ocr.pdfa import DocumentInfo, write_pdfa
from ocr.sources import load_source
from core.pdf.xmp import PDFA_EXTENSION, RDF, XmpCustomSchema, XmpProperty
from signing.sign import keep_declared_xmp_prefixes
from tests.fixtures import scans

ROOT = Path(__file__).resolve().parents[1]
PILLOW_DEFAULT = int(1024 * 1024 * 1024 // 4 // 3)  # Image.MAX_IMAGE_PIXELS as Pillow ships it


def _fresh_python(code: str, env: dict | None = None) -> str:
    """Run code in a new interpreter (no conftest, no patches) and return what it prints."""
    environment = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    environment.update(env or {})
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# -- at start, once, and nowhere else -------------------------------------------------------------


def test_apply_all_applies_every_patch_once():
    every = {patch.__name__ for patch in patches.PATCHES}
    assert patches.apply_all() == every
    wrapped = (xmp_xml._add_inner_value, generic.StreamObject.write_to_stream, img2pdf.to_png_data)
    assert patches.apply_all() == every
    # A second call wraps nothing twice: the same functions, each over upstream's own.
    assert (xmp_xml._add_inner_value, generic.StreamObject.write_to_stream, img2pdf.to_png_data) == wrapped
    for function in wrapped:
        assert function._sohoa_patch and not getattr(function.__wrapped__, "_sohoa_patch", False)


def test_importing_sohoa_patches_nothing():
    """The modules that used to patch on import (ocr.sources, core.pdf.xmp, signing's stream
    writer, the Tesseract wrappers) leave every library as it ships."""
    printed = _fresh_python(
        "import os\n"
        "import ocr.sources, core.pdf.xmp, ocr.tesseract, ocr.libtesseract, ocr.pages, signing.sign, signing.renewal\n"
        "import img2pdf\n"
        "from PIL import Image\n"
        "from pyhanko.pdf_utils import generic\n"
        "from pyhanko.pdf_utils.metadata import xmp_xml\n"
        "print(Image.MAX_IMAGE_PIXELS, os.environ.get('OMP_THREAD_LIMIT'),\n"
        "      *(hasattr(f, '_sohoa_patch') for f in (img2pdf.to_png_data, xmp_xml._add_inner_value,\n"
        "                                             generic.StreamObject.write_to_stream)))\n")
    assert printed == f"{PILLOW_DEFAULT} None False False False"


def test_signing_refuses_to_start_without_the_pyhanko_patches(monkeypatch):
    from signing.renewal import add_archival_timestamp

    monkeypatch.setattr(patches, "_applied", set())
    with pytest.raises(RuntimeError, match="pyhanko_unambiguous_stream_ends.*apply_all"):
        add_archival_timestamp(b"%PDF-1.7", "http://127.0.0.1:9/", [])


# -- version guards ------------------------------------------------------------------------------


def _installed(monkeypatch, package: str, version: str) -> None:
    real = patches.importlib.metadata.version
    monkeypatch.setattr(patches.importlib.metadata, "version",
                        lambda name: version if name.lower() == package else real(name))


@pytest.mark.parametrize("patch", [patches.pyhanko_xmp_structures_as_resources,
                                   patches.pyhanko_unambiguous_stream_ends])
def test_another_pyhanko_is_refused_with_the_reason(monkeypatch, patch):
    """pyHanko's private writers may have changed under the patch: a silent mismatch would
    sign files that are no longer PDF/A, so sohoa does not start."""
    _installed(monkeypatch, "pyhanko", "0.39.0")
    with pytest.raises(patches.PatchVersionError) as refused:
        patch()
    message = str(refused.value)
    assert "pyhanko" in message and "0.39.0" in message and ">=0.38,<0.39" in message
    assert "pip install 'pyhanko>=0.38,<0.39'" in message and "\n" not in message


def test_a_refused_version_stops_the_command_in_one_line(tmp_path):
    """The CLI (commands/main.py) applies the patches before any work: on another pyHanko it
    says why in one line and does nothing."""
    home = tmp_path / "home"
    init = subprocess.run([sys.executable, "-m", "commands.main", "--home", str(home), "init"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    code = ("import importlib.metadata as m, sys\n"
            "real = m.version\n"
            "m.version = lambda name: '0.39.0' if name == 'pyhanko' else real(name)\n"
            "from commands.main import main\n"
            f"sys.exit(main(['--home', {str(home)!r}, 'ingest', {str(tmp_path / 'a.png')!r}]))\n")
    scans.write_png(tmp_path / "a.png", scans.render_page("cong_van_268"))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "pyhanko đang cài bản 0.39.0" in result.stderr, result.stderr
    assert not [p for p in (home / "archive").rglob("*") if p.is_file()]  # nothing archived


def test_another_img2pdf_or_pillow_is_skipped_with_a_warning(monkeypatch, caplog):
    """Upstream's own behaviour is correct there (slower PNG data, a stricter bomb guard):
    the patch is left out and the log says so."""
    _installed(monkeypatch, "img2pdf", "0.7.0")
    _installed(monkeypatch, "pillow", "14.0.0")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", PILLOW_DEFAULT)
    before = img2pdf.to_png_data
    with caplog.at_level(logging.WARNING, logger="core.patches"):
        assert patches.img2pdf_faster_png() is False
        assert patches.pillow_bomb_guard_at_page_limit() is False
    assert img2pdf.to_png_data is before and Image.MAX_IMAGE_PIXELS == PILLOW_DEFAULT
    assert [r.getMessage() for r in caplog.records] == [
        "patch img2pdf_faster_png skipped: written for img2pdf>=0.6,<0.7, installed 0.7.0",
        "patch pillow_bomb_guard_at_page_limit skipped: written for pillow>=10,<14, installed 14.0.0",
    ]


def test_the_installed_versions_are_those_written_for():
    """What pyproject allows and what is installed here: a failure names the patch to review."""
    for written in (patches.PYHANKO, patches.IMG2PDF, patches.PILLOW):
        installed = patches.version_of(written.package)
        assert installed is not None and written.low <= installed < written.high, (written, installed)


# -- pyHanko's XMP writer -----------------------------------------------------------------------


def _pdfa_with_custom_schema(tmp_path: Path) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (200, 280), 240).save(buffer, "PNG", dpi=(100, 100))
    schema = XmpCustomSchema("http://sohoa.invalid/ns/test/1.0/", "vbtest", "Thử nghiệm", (
        XmpProperty("number", "Số, ký hiệu", "12/QĐ-UBND"),
        XmpProperty("recipients", "Nơi nhận", ("Như trên;", "Lưu: VT."))))
    info = DocumentInfo(title="Quyết định", source_name="a.png", creator_tool="sohoa test", custom=schema,
                        created=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    path = tmp_path / "declared.pdf"
    write_pdfa(pikepdf.open(io.BytesIO(img2pdf.convert(buffer.getvalue()))), info, path)
    return path.read_bytes()


def _rewritten_by_pyhanko(data: bytes) -> bytes:
    """An incremental update by pyHanko, which re-serialises the XMP packet as signing does."""
    keep_declared_xmp_prefixes(data)  # as signing does: the declared prefix, not ns0
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _schema_entries(data: bytes) -> list[etree._Element]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = etree.fromstring(pdf.Root.Metadata.read_bytes())
    return [li for schemas in root.iter(f"{{{PDFA_EXTENSION}}}schemas") for li in schemas.iter(f"{{{RDF}}}li")]


def test_pyhanko_unpatched_writes_structures_as_nested_descriptions(tmp_path, monkeypatch):
    """Upstream: each structure of the re-serialised packet becomes an rdf:Description with
    attributes, which `page` does not read as the extension schema's declaration."""
    monkeypatch.setattr(xmp_xml, "_add_inner_value", xmp_xml._add_inner_value.__wrapped__)
    rewritten = _rewritten_by_pyhanko(_pdfa_with_custom_schema(tmp_path))
    entries = _schema_entries(rewritten)
    assert entries and all(li.get(f"{{{RDF}}}parseType") is None for li in entries)
    assert all(li.find(f"{{{RDF}}}Description") is not None for li in entries)
    assert not page_validator.validate_pdf_bytes(rewritten, profile="2u").is_compliant


def test_pyhanko_patched_keeps_the_file_pdfa(tmp_path):
    original = _pdfa_with_custom_schema(tmp_path)
    assert page_validator.validate_pdf_bytes(original, profile="2u").is_compliant
    rewritten = _rewritten_by_pyhanko(original)
    entries = _schema_entries(rewritten)
    assert entries and all(li.get(f"{{{RDF}}}parseType") == "Resource" for li in entries)
    assert all(li.find(f"{{{RDF}}}Description") is None for li in entries)
    report = page_validator.validate_pdf_bytes(rewritten, profile="2u")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]


# -- pyHanko's stream writer --------------------------------------------------------------------


def _with_stream_ending_in_cr() -> bytes:
    """A small PDF (pikepdf) updated by pyHanko with one stream whose data ends with CR."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    buffer = io.BytesIO()
    pdf.save(buffer)
    writer = IncrementalPdfFileWriter(io.BytesIO(buffer.getvalue()))
    stream = generic.StreamObject(stream_data=b"0 0 m 10 10 l S\r")
    writer.root["/SohoaTest"] = writer.add_object(stream)
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _read_back(data: bytes) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return pdf.Root.SohoaTest.read_raw_bytes()


def test_pyhanko_unpatched_ends_a_cr_stream_ambiguously(monkeypatch):
    monkeypatch.setattr(generic.StreamObject, "write_to_stream", generic.StreamObject.write_to_stream.__wrapped__)
    data = _with_stream_ending_in_cr()
    assert b"S\r\nendstream" in data  # the data's CR and the marker's LF read as one end-of-line
    assert _read_back(data) == b"0 0 m 10 10 l S\r"
    assert stream_findings(data), "ISO 19005-2 6.1.7.1: the stream looks one byte short of its /Length"


def test_pyhanko_patched_ends_a_cr_stream_unambiguously():
    data = _with_stream_ending_in_cr()
    assert b"S\r\r\nendstream" in data
    assert _read_back(data) == b"0 0 m 10 10 l S\r"  # the same bytes, /Length unchanged
    assert stream_findings(data) == []


# -- img2pdf's PNG data ------------------------------------------------------------------------


def _noisy_grey(size=(240, 320)) -> Image.Image:
    """A page with enough texture that zlib levels give different bytes."""
    return Image.frombytes("L", size, bytes((x * 7 + y * 13 + (x * y) % 11) % 256
                                            for y in range(size[1]) for x in range(size[0])))


def _idat(image: Image.Image, level: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=level)
    return img2pdf.parse_png(buffer.getvalue())[0]


def test_img2pdf_unpatched_writes_png_data_at_pillows_default_level():
    image = _noisy_grey()
    idat, _, depth = img2pdf.to_png_data.__wrapped__(image)
    assert depth == 8
    assert idat == _idat(image, 6) != _idat(image, patches.PNG_LEVEL)


def test_img2pdf_patched_stores_an_lzw_tiff_page_at_level_3_same_pixels(tmp_path):
    image = _noisy_grey()
    path = tmp_path / "page.tif"
    image.save(path, compression="tiff_lzw", dpi=(200, 200))
    with pikepdf.open(io.BytesIO(img2pdf.convert(str(path), nodate=True))) as pdf:
        (xobject,) = pdf.pages[0].Resources.XObject.values()
        assert xobject.Filter == pikepdf.Name.FlateDecode  # PDF/A forbids LZW: re-encoded
        assert zlib.decompress(xobject.read_raw_bytes()) == zlib.decompress(_idat(image, patches.PNG_LEVEL))
        assert xobject.read_raw_bytes() == _idat(image, patches.PNG_LEVEL)
        assert pikepdf.PdfImage(xobject).as_pil_image().tobytes() == image.tobytes()


# -- Pillow's bomb guard ------------------------------------------------------------------------

A0_300_DPI = (9933, 14043)  # 139 million pixels: a real large-format scan
A0_400_DPI = (13244, 18724)  # 248 million pixels, under sohoa's default page limit


def test_pillow_unpatched_warns_on_and_refuses_real_large_scans(tmp_path, monkeypatch):
    assert _fresh_python("from PIL import Image; print(Image.MAX_IMAGE_PIXELS)") == str(PILLOW_DEFAULT)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", PILLOW_DEFAULT)
    with pytest.warns(Image.DecompressionBombWarning):
        Image.open(scans.write_huge_pixel_png(tmp_path / "a0-300.png", *A0_300_DPI)).close()
    with pytest.raises(Image.DecompressionBombError):
        Image.open(scans.write_huge_pixel_png(tmp_path / "a0-400.png", *A0_400_DPI))


def test_pillow_patched_opens_pages_up_to_the_limit_and_still_refuses_bombs(tmp_path):
    assert Image.MAX_IMAGE_PIXELS == patches.DEFAULT_PAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Image.open(scans.write_huge_pixel_png(tmp_path / "a0-400.png", *A0_400_DPI)) as image:
            assert image.size == A0_400_DPI
    with pytest.raises(Image.DecompressionBombError):
        Image.open(scans.write_huge_pixel_png(tmp_path / "bomb.png", 30_000, 20_000))  # 600 million


def test_a_bomb_is_refused_as_too_many_pixels_with_sohoas_words(tmp_path):
    """Past twice the limit Pillow does not even open it: still sohoa's refusal and message;
    under that, sohoa's own check names the exact size."""
    with pytest.raises(TooManyPixels, match=r"ảnh quá lớn \(hơn 500 triệu điểm ảnh, giới hạn 250 triệu\)"):
        load_source(scans.write_huge_pixel_png(tmp_path / "bomb.png"), max_pixels=250_000_000)
    with pytest.raises(TooManyPixels, match=r"13244×18724 = 248 triệu điểm ảnh, giới hạn 200 triệu"):
        load_source(scans.write_huge_pixel_png(tmp_path / "a0.png", *A0_400_DPI), max_pixels=200_000_000)


def test_a_home_allowing_larger_pages_raises_the_guard_never_lowers_it(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", patches.DEFAULT_PAGE_PIXELS)
    patches.allow_page_pixels(400_000_000)
    assert Image.MAX_IMAGE_PIXELS == 400_000_000
    patches.allow_page_pixels(100_000_000)
    assert Image.MAX_IMAGE_PIXELS == 400_000_000


# -- Tesseract's OpenMP threads -----------------------------------------------------------------

_THREAD_LIMIT = ("import ctypes, sys\n"
                 "{before}\n"
                 "from ocr.libtesseract import _library\n"
                 "assert _library() is not None\n"
                 "maps = open('/proc/self/maps').read()\n"
                 "print('libgomp' in maps, ctypes.CDLL('libgomp.so.1').omp_get_thread_limit())\n")


def test_tesseract_unpatched_uses_openmp_without_a_thread_limit():
    """Upstream: libtesseract brings libgomp, whose thread limit is unbounded by default."""
    assert _fresh_python(_THREAD_LIMIT.format(before="")) == f"True {2**31 - 1}"


def test_tesseract_patched_gets_one_openmp_thread_whatever_the_shell_says():
    before = "from core.patches import apply_all; apply_all()"
    assert _fresh_python(_THREAD_LIMIT.format(before=before), env={"OMP_THREAD_LIMIT": "8"}) == "True 1"
    # Children (the `tesseract` command, pool workers) inherit it.
    child = "import subprocess; print(subprocess.run(['sh', '-c', 'echo $OMP_THREAD_LIMIT'], capture_output=True, text=True).stdout)"
    assert _fresh_python(f"{before}\n{child}") == "1"
