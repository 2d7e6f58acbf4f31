"""Writes that survive a crash: temp file, fsync, rename, fsync the folder."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

_CHUNK = 1 << 20


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_durably(path: Path, data: bytes, mode: int = 0o666) -> None:
    """Write data to path so that a crash leaves either the old file or the whole new one
    (created `mode`, less the umask)."""
    # A temporary name of fixed length: one made from path.name would pass NAME_MAX for a
    # long name (a failed scan's "<name>.reason.txt" beside it). Hidden, so never taken.
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    with open(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def copy_and_hash(source: Path, destination: Path) -> tuple[str, int]:
    """Copy source to destination (fsynced) and return the copy's SHA-256 and size.

    The hash is of the bytes written, so the archive's checksum always describes the
    archived copy, even if the source changes while it is read.
    """
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as src, open(destination, "wb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest(), size


def copy_fd_and_hash(source_fd: int, destination: Path | str, mode: int = 0o600, *,
                     dir_fd: int | None = None) -> tuple[str, int]:
    """copy_and_hash from an open descriptor (read from its start; the descriptor stays
    open), into a new file that must not exist yet (not even as a link), created `mode`
    (relative to dir_fd when given)."""
    digest = hashlib.sha256()
    size = 0
    out = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode,
                  dir_fd=dir_fd)
    with open(out, "wb") as dst:
        for chunk in _chunks(source_fd):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest(), size


def sha256_fd(fd: int) -> tuple[str, int]:
    """The SHA-256 and size of what an open descriptor holds, read from its start."""
    digest = hashlib.sha256()
    size = 0
    for chunk in _chunks(fd):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _chunks(fd: int):
    offset = 0
    while chunk := os.pread(fd, _CHUNK, offset):
        offset += len(chunk)
        yield chunk


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
