"""One service per data home: two would take the same files twice.

The running service holds an exclusive lock on watch.lock (with its pid written in it);
the kernel drops the lock when the process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from core.errors import SohoaError
from watch_folders.paths import service_lock


class ServiceAlreadyRunning(SohoaError):
    code = "service-running"

    def __init__(self, pid: str):
        super().__init__(f"dịch vụ theo dõi thư mục đang chạy cho kho này (tiến trình {pid or '?'})")
        self.pid = pid


def acquire_service_lock(root: Path):
    """One service per home: two would take the same files twice."""
    handle = open(service_lock(root), "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip()
        handle.close()
        raise ServiceAlreadyRunning(pid) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def running_service_pid(root: Path) -> int | None:
    """The pid of the service running on this home, or None."""
    path = service_lock(root)
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
    return None
