"""Reading the inbox and writing the outcome folders without following a symbolic link.

Clerks can write in the inbox (and often see failed/, done/ and duplicate/ over the same
share), so any name below the home may be swapped for a symbolic link at any moment. A path
checked and then opened by name is a race the clerk can win; so every name below the home
is opened one component at a time, relative to the folder opened before it, with
O_NOFOLLOW. A symbolic link met on the way is refused (SymlinkRefused names it), never
followed: sohoa reads only what was dropped and writes only inside the home.

The home's own path is the operator's (a --home given to the service), opened as it is.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePath

from core.names import printable

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO dropped in the inbox would otherwise block the open until a writer came.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class SymlinkRefused(OSError):
    """A name on the way is a symbolic link (or not a plain folder/file): not followed."""

    def __init__(self, where: str, what: str = "liên kết tượng trưng", verb: str = "ghi"):
        self.where = where = printable(where)
        super().__init__(errno.ELOOP, f"{where} là {what}; sohoa không {verb} qua đó")


class NotRegularFile(OSError):
    """An inbox name that is not a plain file (a FIFO, a device, a folder): never read."""

    def __init__(self, where: str):
        self.where = where = printable(where)
        super().__init__(errno.EINVAL, f"{where} không phải tệp thường; sohoa không đọc")


def open_root(path: os.PathLike | str) -> int:
    """The home (or a folder of it that the operator named), as a directory descriptor."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def open_dir(base_fd: int, parts: tuple[str, ...] | list[str], *, create: bool = False, shown: str = "",
             verb: str = "ghi") -> int:
    """The folder base/parts[0]/parts[1]/..., each component opened without following a
    link (and created first when `create`). `shown` prefixes the names in a refusal."""
    fd = os.dup(base_fd)
    walked = PurePath(shown) if shown else None
    try:
        for part in parts:
            if part in ("", ".", "..") or "/" in part:
                raise ValueError(f"not a plain name: {part!r}")  # "..", "/" would leave the folder
            walked = walked / part if walked is not None else PurePath(part)
            if create:
                try:
                    os.mkdir(part, dir_fd=fd)
                except FileExistsError:
                    pass
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _refusal(fd, part, str(walked), verb) from None
                raise
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def opened_dir(base_fd: int, parts, **options) -> Iterator[int]:
    fd = open_dir(base_fd, parts, **options)
    try:
        yield fd
    finally:
        os.close(fd)


def open_regular(dir_fd: int, name: str, shown: str) -> tuple[int, os.stat_result]:
    """Open dir/name for reading, never through a link, and only if it is a plain file;
    returns the descriptor and its fstat (what was opened, whatever the name is now)."""
    if name in ("", ".", "..") or "/" in name:
        raise ValueError(f"not a plain name: {name!r}")
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise SymlinkRefused(shown, verb="đọc") from None
        raise
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise NotRegularFile(shown)
        os.set_blocking(fd, True)
        return fd, status
    except BaseException:
        os.close(fd)
        raise


def open_beneath(root_fd: int, relative: PurePath, *, prefix: str = "") -> tuple[int, os.stat_result]:
    """open_regular for root/relative, every folder on the way opened without following;
    `prefix` is how root is named in a refusal (e.g. "inbox")."""
    shown = str(PurePath(prefix, relative)) if prefix else str(relative)
    with opened_dir(root_fd, relative.parts[:-1], shown=prefix, verb="đọc") as folder:
        return open_regular(folder, relative.name, shown)


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def exists_at(dir_fd: int, name: str) -> bool:
    return lstat_at(dir_fd, name) is not None


def write_new_file(dir_fd: int, name: str, data: bytes, mode: int = 0o666) -> None:
    """Create dir/name (it must not exist, not even as a link), write data, fsync."""
    fd = os.open(name, _NEW_FILE_FLAGS, mode, dir_fd=dir_fd)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _refusal(dir_fd: int, part: str, shown: str, verb: str) -> OSError:
    status = lstat_at(dir_fd, part)
    if status is not None and stat.S_ISLNK(status.st_mode):
        return SymlinkRefused(shown, verb=verb)
    return SymlinkRefused(shown, "không phải thư mục", verb)
