"""The staging folders of `sohoa ingest` (tmp/ingest-*), and what a killed run left of them.

A run removes its own folder when it ends, but a kill -9 or a power cut leaves it behind,
with a copy of the scan and its half-made PDF. Each folder's name carries its owner: the
process id and that process's start time (a process id is reused, the pair is not), so the
next run removes exactly the folders whose owner is gone, never those of a run still
going beside it.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "ingest-"
# A folder named the old way (no owner in its name) is left this long before it is stale.
_UNOWNED_GRACE_S = 24 * 3600


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), or
    None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return "?"  # /proc unreadable: the process is there, its start time unknown
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else "?"


def staging_prefix() -> str:
    """tempfile prefix naming this process as the owner: ingest-<pid>-<start time>-."""
    pid = os.getpid()
    return f"{PREFIX}{pid}-{_start_time(pid) or '?'}-"


def _owner_alive(name: str, now: float, mtime: float) -> bool:
    parts = name[len(PREFIX):].split("-")
    if len(parts) < 3 or not parts[0].isdigit():
        return now - mtime < _UNOWNED_GRACE_S
    started = _start_time(int(parts[0]))
    if started is None:
        return False
    return parts[1] == "?" or started == "?" or started == parts[1]


def clean_stale_staging(staging_dir: Path) -> list[Path]:
    """Remove the staging folders whose owner process has ended; returns what was removed."""
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(staging_dir))
    except FileNotFoundError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            mtime = entry.stat(follow_symlinks=False).st_mtime
        except FileNotFoundError:
            continue
        if _owner_alive(entry.name, now, mtime):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        if not os.path.lexists(entry.path):
            removed.append(Path(entry.path))
            log.info("removed %s, left by an ingest that did not finish", entry.path)
    return removed
