"""Streams whose data ends with a carriage return, written without ambiguity.

pyHanko ends every stream with `\\nendstream`. When the (compressed) data itself ends with
CR, the bytes read `...\\r\\nendstream`, which PDF/A validators take as a CR LF end-of-line:
the stream then looks one byte shorter than its /Length (ISO 19005-2 6.1.7.1), about one
stream in 128. Writing `\\r\\nendstream` in that case leaves no doubt where the data ends.
Installed once, on import, for everything pyHanko writes in this process (only signing
uses pyHanko).
"""

from __future__ import annotations

from pyhanko.pdf_utils import generic

_ENDSTREAM = b"\nendstream"
_original_write = generic.StreamObject.write_to_stream


class _EndOfLineGuard:
    """Passes writes through; turns the end-of-stream marker into CR LF after a CR."""

    def __init__(self, stream):
        self._stream = stream
        self._last = b""

    def write(self, data):
        if data == _ENDSTREAM and self._last.endswith(b"\r"):
            data = b"\r" + _ENDSTREAM
        self._last = bytes(data[-1:])
        return self._stream.write(data)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _write_to_stream(self, stream, handler=None, container_ref=None):
    return _original_write(self, _EndOfLineGuard(stream), handler, container_ref)


if getattr(generic.StreamObject.write_to_stream, "__module__", "") != __name__:
    generic.StreamObject.write_to_stream = _write_to_stream
