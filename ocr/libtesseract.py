"""Tesseract kept loaded: libtesseract's C API, the library the `tesseract` command is.

Starting `tesseract` for a page loads the language model again each time: on an A5 page at
200 dpi that is a third of the page's whole OCR time (measured: 0.38 CPU-s per page by the
command, 0.27 through the library with the model loaded once). An OCR process keeps one
loaded engine per language and hands it the OCR copy's pixels directly, with no image file
written and read back.

Why ctypes and not tesserocr: tesserocr's wheels bundle their own Tesseract (5.5), so pages
would be read by another engine than Debian's `tesseract` (5.3) that the language packs,
the tests and the benches' Tesseract reference use; its source build needs compilers and
the -dev packages on every office machine. The C API (tesseract/capi.h) is Tesseract's
stable interface for exactly this, in the libtesseract5 package `tesseract-ocr` installs.
The library is used only when its version is the command's; otherwise the command is.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import functools

import numpy as np

from core.errors import SohoaError

_PSM_AUTO = 3  # --psm 3: fully automatic page segmentation, no OSD (sohoa finds orientation)


class LibraryError(SohoaError, RuntimeError):
    """libtesseract could not load the language, or failed on a page."""

    code = "ocr-failed"


def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    handle, text, integer = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    signatures = {
        "TessVersion": ([], text),
        "TessBaseAPICreate": ([], handle),
        "TessBaseAPIInit3": ([handle, text, text], integer),
        "TessBaseAPISetVariable": ([handle, text, text], integer),
        "TessBaseAPISetPageSegMode": ([handle, integer], None),
        "TessBaseAPISetImage": ([handle, handle, integer, integer, integer, integer], None),
        "TessBaseAPISetSourceResolution": ([handle, integer], None),
        "TessBaseAPIGetHOCRText": ([handle, integer], handle),  # char* freed by TessDeleteText
        "TessDeleteText": ([handle], None),
        "TessBaseAPIClear": ([handle], None),
        "TessBaseAPIEnd": ([handle], None),
        "TessBaseAPIDelete": ([handle], None),
    }
    for name, (arguments, result) in signatures.items():
        function = getattr(lib, name)
        function.argtypes, function.restype = arguments, result
    return lib


@functools.cache
def _library() -> ctypes.CDLL | None:
    # libgomp reads its thread limit once, when it is loaded: core.patches.apply_all()
    # sets OMP_THREAD_LIMIT at start, before this.
    for name in ("libtesseract.so.5", ctypes.util.find_library("tesseract")):
        if not name:
            continue
        try:
            return _bind(ctypes.CDLL(name))
        except (OSError, AttributeError):
            continue
    return None


def library_version() -> str | None:
    """libtesseract's version, or None when the library cannot be loaded."""
    lib = _library()
    return lib.TessVersion().decode() if lib is not None else None


class LoadedEngine:
    """One language model loaded in this process, reading page after page."""

    def __init__(self, language: str):
        self._lib = _library()
        if self._lib is None:
            raise LibraryError("không nạp được thư viện libtesseract")
        self._api = self._lib.TessBaseAPICreate()
        if self._lib.TessBaseAPIInit3(self._api, None, language.encode()) != 0:
            self._lib.TessBaseAPIDelete(self._api)
            raise LibraryError(f"Tesseract không nạp được ngôn ngữ {language}")
        # As the `hocr` config of the command: no font guesses in the hOCR.
        self._lib.TessBaseAPISetVariable(self._api, b"hocr_font_info", b"0")
        # Tesseract's debug lines ("Detected 324 diacritics" on noisy real scans) would go to
        # the clerk's console through the process's stderr; "/dev/null" is its own "say nothing".
        self._lib.TessBaseAPISetVariable(self._api, b"debug_file", b"/dev/null")
        atexit.register(self.close)

    def hocr(self, grey: np.ndarray, dpi: float) -> bytes:
        """The page's hOCR (the ocr_page element) for an 8-bit grey image."""
        if grey.dtype != np.uint8 or grey.ndim != 2:
            raise ValueError("an 8-bit grey image is expected")
        pixels = np.ascontiguousarray(grey)
        lib, api = self._lib, self._api
        lib.TessBaseAPISetPageSegMode(api, _PSM_AUTO)
        lib.TessBaseAPISetImage(api, pixels.ctypes.data, pixels.shape[1], pixels.shape[0], 1, pixels.strides[0])
        lib.TessBaseAPISetSourceResolution(api, round(dpi))
        try:
            text = lib.TessBaseAPIGetHOCRText(api, 0)
            if not text:
                raise LibraryError("Tesseract không đọc được trang")
            try:
                return ctypes.string_at(text)
            finally:
                lib.TessDeleteText(text)
        finally:
            lib.TessBaseAPIClear(api)  # drops this page's image and results, keeps the model

    def close(self) -> None:
        if self._api:
            self._lib.TessBaseAPIEnd(self._api)
            self._lib.TessBaseAPIDelete(self._api)
            self._api = None


@functools.cache
def loaded_engine(language: str) -> LoadedEngine:
    """This process's engine for a language, loaded at its first page."""
    return LoadedEngine(language)
