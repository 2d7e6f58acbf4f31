"""Third-party behaviour sohoa corrects, all in one place, applied explicitly at start.

Nothing here runs on import. The entry points call apply_all() first: the CLI's main, the
watch service's worker processes (spawned: they start without the parent's patches), and
tests/conftest.py. apply_all() is idempotent.

Each patch is a small function named for what it corrects; its docstring says what
upstream does that is wrong for sohoa and which upstream version it was written for. Each
one that depends on upstream's code checks the installed version (importlib.metadata)
first, and on a version it was not written for it either

* refuses, raising PatchVersionError, when it replaces upstream's private code and a
  mismatch would silently write archives that are not what sohoa promises (pyHanko's
  writers: a signed file that is no longer PDF/A, recorded as archived); or
* skips with a logged warning, when upstream's own behaviour is merely slower or more
  cautious, never wrong (img2pdf's PNG level: the same pixels, slower; Pillow's bomb
  guard: pages over Pillow's own limit are refused with sohoa's message, none is lost).

tests/test_patches.py shows, for each patch, that upstream still behaves as the patch
assumes (so it fails the day upstream changes) and that the patched behaviour is sohoa's.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

# The default of [ocr] max_page_megapixels (core/config.py): the largest page sohoa
# accepts unless a home's config says otherwise.
DEFAULT_PAGE_PIXELS = 250_000_000
# img2pdf's PNG data for a page it cannot embed as it is: zlib level 3 instead of Pillow's 6.
PNG_LEVEL = 3


class PatchVersionError(RuntimeError):
    """An installed library is not the version a patch that sohoa cannot do without was
    written for. The message is one Vietnamese line (the CLI prints it as it is); a bug of
    the installation, not of a file, so it has no code among core.errors' file failures."""

    code = "library-version"


@dataclass(frozen=True)
class Written:
    """The upstream versions a patch was written for: package in [low, high)."""

    package: str  # the distribution's name, as importlib.metadata knows it
    low: tuple[int, ...]
    high: tuple[int, ...]
    refuse: bool  # True: refuse to start on another version; False: skip with a warning

    @property
    def wanted(self) -> str:
        return f">={_dotted(self.low)},<{_dotted(self.high)}"


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def version_of(package: str) -> tuple[int, ...] | None:
    """The installed version's leading numbers (0.38.0 -> (0, 38, 0)), None when absent."""
    try:
        text = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


def _fits(written: Written, name: str) -> bool:
    """True when the installed version is one the patch was written for; otherwise refuses
    (PatchVersionError) or logs a warning and returns False, as the patch decided."""
    installed = version_of(written.package)
    if installed is not None and written.low <= installed < written.high:
        return True
    found = "không được cài" if installed is None else f"đang cài bản {_dotted(installed)}"
    if written.refuse:
        raise PatchVersionError(
            f"thư viện {written.package} {found}, nhưng bản vá «{name}» của sohoa chỉ viết cho "
            f"{written.package}{written.wanted}: tệp ký số có thể không còn đúng PDF/A; hãy cài lại "
            f"đúng phiên bản (pip install '{written.package}{written.wanted}')")
    log.warning("patch %s skipped: written for %s%s, installed %s", name, written.package, written.wanted,
                "none" if installed is None else _dotted(installed))
    return False


# -- the patches -------------------------------------------------------------------------------

PYHANKO = Written("pyhanko", (0, 38), (0, 39), refuse=True)


def pyhanko_xmp_structures_as_resources() -> bool:
    """pyHanko's XMP writer, structures in XMP's canonical form (pyHanko 0.38).

    Signing re-serialises the XMP packet (pyHanko updates pdf:Producer and xmp:ModifyDate
    in the incremental update). pyHanko 0.38 writes every structure, the pdfaExtension
    schema declarations among them, as a nested rdf:Description with its simple fields as
    XML attributes (xmp_xml._add_inner_value): valid RDF, but PDF/A validators (`page`,
    veraPDF's profile) read extension-schema structures only in the canonical form,
    rdf:parseType="Resource" with the fields as elements, so the signed file would no
    longer pass as PDF/A. Replaces the private _add_inner_value for structures; a packet
    without structures is written as before. Refuses another pyHanko: private code.
    """
    if not _fits(PYHANKO, "pyhanko_xmp_structures_as_resources"):
        return False
    from lxml import etree
    from pyhanko.pdf_utils.metadata import model, xmp_xml

    upstream = xmp_xml._add_inner_value
    if getattr(upstream, "_sohoa_patch", False):
        return True

    def add_inner_value(container, value):
        if isinstance(value, model.XmpStructure):
            container.set(xmp_xml._tag(model.RDF_PARSE_TYPE), "Resource")
            for name, field in value:
                xmp_xml.add_xmp_value(etree.SubElement(container, xmp_xml._tag(name)), field)
            return
        upstream(container, value)

    add_inner_value._sohoa_patch = True
    add_inner_value.__wrapped__ = upstream
    xmp_xml._add_inner_value = add_inner_value
    return True


class _EndOfLineGuard:
    """Passes writes through; turns the end-of-stream marker into CR LF after a CR."""

    _ENDSTREAM = b"\nendstream"

    def __init__(self, stream):
        self._stream = stream
        self._last = b""

    def write(self, data):
        if data == self._ENDSTREAM and self._last.endswith(b"\r"):
            data = b"\r" + self._ENDSTREAM
        self._last = bytes(data[-1:])
        return self._stream.write(data)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def pyhanko_unambiguous_stream_ends() -> bool:
    """pyHanko's stream writer, no stream ending in CR before `\\nendstream` (pyHanko 0.38).

    generic.StreamObject.write_to_stream ends every stream with `\\nendstream`. When the
    (compressed) data itself ends with CR, about one stream in 128, the bytes read
    `...\\r\\nendstream`, which PDF/A validators take as a CR LF end-of-line: the stream
    then looks one byte shorter than its /Length (ISO 19005-2 6.1.7.1) and the signed file
    fails PDF/A. In that case `\\r\\nendstream` is written, which leaves no doubt where the
    data ends. Wraps the output stream of write_to_stream, whose writes (dictionary,
    `\\nstream\\n`, data, `\\nendstream`) are upstream's. Refuses another pyHanko.
    """
    if not _fits(PYHANKO, "pyhanko_unambiguous_stream_ends"):
        return False
    from pyhanko.pdf_utils import generic

    upstream = generic.StreamObject.write_to_stream
    if getattr(upstream, "_sohoa_patch", False):
        return True

    def write_to_stream(self, stream, handler=None, container_ref=None):
        return upstream(self, _EndOfLineGuard(stream), handler, container_ref)

    write_to_stream._sohoa_patch = True
    write_to_stream.__wrapped__ = upstream
    generic.StreamObject.write_to_stream = write_to_stream
    return True


IMG2PDF = Written("img2pdf", (0, 6), (0, 7), refuse=False)


def img2pdf_faster_png() -> bool:
    """img2pdf's PNG data at zlib level 3 instead of 6 (img2pdf 0.6).

    img2pdf stores an image it cannot embed as it is (an LZW or Deflate TIFF page: PDF/A
    forbids LZW) as PNG data written by Pillow at its default zlib level 6
    (img2pdf.to_png_data): a third of a CPU-second for one A5 200-dpi grey page, as long as
    Tesseract takes to read it. Level 3 is four times faster and the page stays the size of
    the scanner's own LZW (bench pages: 910 KB against 818 KB at level 6, LZW 910 KB); the
    pixels are the same. Replaces to_png_data, same return (IDAT, palette, bit depth).
    Skips another img2pdf with a warning: its own output is correct, only slower.
    """
    if not _fits(IMG2PDF, "img2pdf_faster_png"):
        return False
    import io

    import img2pdf

    upstream = img2pdf.to_png_data
    if getattr(upstream, "_sohoa_patch", False):
        return True

    def to_png_data(image):
        buffer = io.BytesIO()
        image.save(buffer, format="png", compress_level=PNG_LEVEL)
        idat, palette = img2pdf.parse_png(buffer.getvalue())
        depth = buffer.getvalue()[24]  # IHDR's bit depth: the first chunk, at a fixed offset
        if depth not in (1, 2, 4, 8, 16):
            raise ValueError(f"invalid bit depth: {depth}")
        return idat, palette, depth

    to_png_data._sohoa_patch = True
    to_png_data.__wrapped__ = upstream
    img2pdf.to_png_data = to_png_data
    return True


PILLOW = Written("pillow", (10,), (14,), refuse=False)


def pillow_bomb_guard_at_page_limit(max_pixels: int = DEFAULT_PAGE_PIXELS) -> bool:
    """Pillow's decompression-bomb guard at sohoa's page limit, not Pillow's (Pillow 10-13).

    Pillow warns past Image.MAX_IMAGE_PIXELS (89.5 million by default) and refuses past
    twice that (DecompressionBombError), on opening: an A0 sheet scanned at 300 dpi is 139
    million pixels, at 400 dpi 248 million, real large-format scans that sohoa accepts up
    to [ocr] max_page_megapixels (250 by default), checking each page itself with a message
    a clerk understands. The guard used to be switched off for the whole process
    (MAX_IMAGE_PIXELS = None, on importing ocr.sources); it stays on here, at the page
    limit: no page sohoa accepts is warned about or refused, and an image past twice the
    limit is still refused by Pillow wherever it is opened, by code that checks no sizes
    itself too. Skips another Pillow with a warning: its default guard is stricter, and a
    page it refuses is reported as too large (ocr.sources), not lost.
    """
    if not _fits(PILLOW, "pillow_bomb_guard_at_page_limit"):
        return False
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels
    return True


def allow_page_pixels(max_pixels: int) -> None:
    """Raise Pillow's guard to max_pixels when a home allows pages larger than the default
    (ocr.sources.load_source, which checks every page against max_pixels itself). Never
    lowers it, never switches it off; nothing when the guard patch was not applied."""
    if "pillow_bomb_guard_at_page_limit" not in _applied:
        return
    from PIL import Image

    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels


def openmp_single_thread() -> bool:
    """One OpenMP thread for Tesseract (OMP_THREAD_LIMIT=1), in this process and its children.

    Tesseract 5 as Debian builds it links libgomp and runs its own OpenMP threads, as many
    as CPUs, on each page; sohoa already runs one single-threaded Tesseract per usable CPU,
    in processes, so the threads only oversubscribe a small machine (and the cgroup's CPU
    quota) badly. libgomp reads OMP_THREAD_LIMIT once, when it is loaded (ocr.libtesseract
    loads libtesseract in process; pytesseract starts `tesseract`): it is set here, before
    either, in the environment every child inherits. Set, not defaulted: the service's own
    scheduling decides the parallelism, whatever the shell exported. No version guard: the
    variable is the OpenMP standard's, not a library's code; the test checks that
    Tesseract here still uses OpenMP, so that the setting still matters.
    """
    os.environ["OMP_THREAD_LIMIT"] = "1"
    return True


# Applied in this order by apply_all.
PATCHES: tuple[Callable[[], bool], ...] = (
    openmp_single_thread,
    pillow_bomb_guard_at_page_limit,
    img2pdf_faster_png,
    pyhanko_xmp_structures_as_resources,
    pyhanko_unambiguous_stream_ends,
)

# Names of the patches tried in this process, and of those in effect (a skipped one is not).
_tried: set[str] = set()
_applied: set[str] = set()


def apply_all() -> frozenset[str]:
    """Apply every patch once (idempotent: a second call changes nothing and warns about
    nothing again); the names of those in effect. Raises PatchVersionError when a patch
    that must not be skipped meets another version."""
    for patch in PATCHES:
        if patch.__name__ in _tried:
            continue
        if patch():
            _applied.add(patch.__name__)
        _tried.add(patch.__name__)
    return applied()


def applied() -> frozenset[str]:
    return frozenset(_applied)


def require(*names: str) -> None:
    """Raise RuntimeError unless the named patches are in effect: for code whose output is
    wrong without them (signing), so that a process which forgot apply_all() at start fails
    at once instead of writing files that are not what sohoa promises."""
    missing = sorted(set(names) - _applied)
    if missing:
        raise RuntimeError(f"patches {', '.join(missing)} not applied: call core.patches.apply_all() at start")
