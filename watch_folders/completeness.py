"""Does a file open as the format its name claims? The second half of "is it complete".

A copy over SMB can pause longer than any quiet period, so a steady size is not proof
enough: a PDF must end with its %%EOF, a JPEG with its end-of-image marker, a PNG with its
IEND chunk, and a TIFF's image data must lie inside the file. These checks read a few
bytes (the TIFF one its directory), never the image data. A name with no claim (an
unknown extension) has nothing to check.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from PIL import Image, TiffImagePlugin

_CLAIMS = {".pdf": "pdf", ".tif": "tiff", ".tiff": "tiff", ".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png"}
_TAIL = 2048
_OFFSET_TAGS = ((273, 279), (324, 325))  # (StripOffsets, StripByteCounts), (TileOffsets, TileByteCounts)


def claimed_format(path: Path) -> str | None:
    return _CLAIMS.get(path.suffix.lower())


def opens_as_claimed(path: Path) -> bool:
    """True when the file looks whole for the format its name claims (or claims none)."""
    claim = claimed_format(path)
    if claim is None:
        return True
    try:
        size = os.path.getsize(path)
        if size == 0:
            return False  # created, not written yet
        with open(path, "rb") as handle:
            head = handle.read(1024)
            handle.seek(max(0, size - _TAIL))
            tail = handle.read(_TAIL)
        if claim == "pdf":
            return b"%PDF-" in head and b"%%EOF" in tail
        if claim == "jpeg":
            return head.startswith(b"\xff\xd8\xff") and b"\xff\xd9" in tail[-64:]
        if claim == "png":
            return head.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND\xaeB`\x82" in tail[-16:]
        return _tiff_is_whole(path, size)
    except (OSError, ValueError):
        return False


def _tiff_is_whole(path: Path, size: int) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about the damage it then reports
        try:
            return _tiff_data_inside(path, size)
        except Exception:  # Pillow raises many kinds on a half-written directory
            return False


def _tiff_data_inside(path: Path, size: int) -> bool:
    with Image.open(path) as image:
        if not isinstance(image, TiffImagePlugin.TiffImageFile):
            return False
        for frame in range(getattr(image, "n_frames", 1)):
            image.seek(frame)
            for offsets_tag, counts_tag in _OFFSET_TAGS:
                offsets = image.tag_v2.get(offsets_tag)
                counts = image.tag_v2.get(counts_tag)
                if offsets is None or counts is None:
                    continue
                if isinstance(offsets, int):
                    offsets, counts = (offsets,), (counts,)
                if any(o + c > size for o, c in zip(offsets, counts)):
                    return False
    return True
