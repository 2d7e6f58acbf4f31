"""Is a file in the inbox whole? The second half of "is it complete" (steadiness.py).

A copy over SMB can pause longer than any quiet period, so a steady size is not proof
enough. What decides:

- The content names the format, not the file name (as ocr/sources.sniff_format does for
  the pipeline): %PDF-, JPEG, PNG, TIFF (II*/MM*) by their first bytes, whatever the
  extension, and that format's check applies.
- A PDF's cross-reference chain must parse from its last `startxref` to the end of the
  file (pdf_xref.py): "ends with %%EOF" is true of a signed PDF cut after any of its
  revisions. A JPEG must end with its end-of-image marker, a PNG with its IEND chunk, and a
  TIFF's image data must lie inside the file. These read a few bytes (the TIFF check its
  directory, the PDF one its cross-reference), never the image data.
- Content that is none of these has nothing that can show it whole, so it is never
  "whole" here: the tracker takes it only once it has stayed unchanged for the incomplete
  period (settings.incomplete_seconds, a minute by default), not the quiet period. It is
  refused by the pipeline anyway (not a scan: to failed/ with its reason), so the wait
  costs nothing, and a slow copy of it is not taken half-written at the quiet period.
- A file that a process on this machine still has open for writing (smbd during an SMB
  copy, a paused `cp`) is not whole, whatever its content: a copy paused exactly at the end
  of a PDF's first revision is, byte for byte, a whole PDF, and only this tells them apart.
  Linux refuses a read lease on a file open for writing: the probe takes one and drops it
  at once. Where leases cannot be had (another user's file without CAP_LEASE, NFS), the
  content alone decides.

A file not whole after the incomplete period is still taken (steadiness.py), so a truly
broken one reaches failed/ with its reason; a file whose copy resumes after that is not
lost, since it leaves the inbox only if it is still what was taken.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import stat
import warnings
from pathlib import Path

from PIL import Image, TiffImagePlugin

from watch_folders.pdf_xref import pdf_problem

# First bytes, exact magic first: a PNG whose text chunk holds "%PDF-" is a PNG.
_MAGIC = (
    (b"%PDF-", "pdf"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
_HEAD = 1024  # readers accept junk before %PDF- up to here
_TAIL = 2048
_F_SETLEASE = getattr(fcntl, "F_SETLEASE", 1024)
_F_SETSIG = getattr(fcntl, "F_SETSIG", 10)
_OFFSET_TAGS = ((273, 279), (324, 325))  # (StripOffsets, StripByteCounts), (TileOffsets, TileByteCounts)


def content_format(head: bytes) -> str | None:
    """pdf, jpeg, png or tiff from the file's first bytes; None for anything else."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return "pdf" if b"%PDF-" in head[:_HEAD] else None


def opens_as_claimed(path: Path) -> bool:
    """True when the file is whole as far as its content shows (see above)."""
    return why_incomplete(path) is None


def why_incomplete(path: Path) -> str | None:
    """None when the file is whole; else why not, in a few words for the log."""
    try:
        # Not following a symlink swapped in, nor waiting on a FIFO or on another's lease.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except BlockingIOError:
        return "held by a writer (lease)"
    except OSError as error:
        return f"cannot be opened ({error.strerror})"
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            return "not a regular file"
        size = status.st_size
        if size == 0:
            return "empty"  # created, not written yet
        if _open_for_writing(fd):
            return "still open for writing"
        head = os.pread(fd, _HEAD, 0)
        kind = content_format(head)
        if kind is None:
            return "not PDF, JPEG, PNG or TIFF: nothing shows it whole"
        if kind == "pdf":
            return pdf_problem(fd, size, head.find(b"%PDF-"))
        tail = os.pread(fd, _TAIL, max(0, size - _TAIL))
        if kind == "jpeg":
            return None if b"\xff\xd9" in tail[-64:] else "JPEG without its end-of-image marker"
        if kind == "png":
            return None if b"IEND\xaeB`\x82" in tail[-16:] else "PNG without its IEND chunk"
        return None if _tiff_is_whole(fd, size) else "TIFF image data past the end of the file"
    except (OSError, ValueError) as error:
        return f"unreadable ({error})"
    finally:
        os.close(fd)


def _open_for_writing(fd: int) -> bool:
    """True when some process has the file open for writing: Linux then refuses a read lease."""
    try:
        # Should a writer open the file while the lease is held, the kernel signals this
        # process (SIGIO by default, which would end it): SIGURG is ignored unless handled.
        fcntl.fcntl(fd, _F_SETSIG, signal.SIGURG)
        fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_RDLCK)
    except OSError as error:
        # EACCES (another user's file, no CAP_LEASE), EINVAL (NFS, leases off): cannot tell.
        return error.errno == errno.EAGAIN
    fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_UNLCK)
    return False


def _tiff_is_whole(fd: int, size: int) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about the damage it then reports
        try:
            with os.fdopen(os.dup(fd), "rb") as handle:
                return _tiff_data_inside(handle, size)
        except Exception:  # Pillow raises many kinds on a half-written directory
            return False


def _tiff_data_inside(handle, size: int) -> bool:
    with Image.open(handle) as image:
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
