"""When is a file in the inbox complete? When it has stopped changing and opens.

A file is taken once its size and modification time have stayed the same for the quiet
period and completeness.py finds it whole. One that stays the same but is not whole
is given until the incomplete period, then taken all the same, so a truly broken
file reaches failed/ with its reason instead of waiting forever. A file that disappears
before that is forgotten: nothing was taken, nothing is owed.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from watch_folders.completeness import why_incomplete
from watch_folders.eventlog import logfmt
from core.names import printable

log = logging.getLogger("sohoa.watch")


@dataclass(frozen=True)
class SteadyFile:
    path: Path
    size: int
    mtime_ns: int
    opens: bool  # False: taken because it stayed unchanged past the incomplete period
    dev: int = 0  # the inode that stayed steady: the desk takes that one or none
    ino: int = 0


@dataclass
class _Tracked:
    size: int
    mtime_ns: int
    steady_since: float
    next_check: float
    inode: tuple[int, int] = (0, 0)
    waiting: str | None = None  # why it is not whole yet, as last logged


class SteadinessTracker:
    def __init__(self, quiet_seconds: float, incomplete_seconds: float, clock=time.monotonic):
        self.quiet = quiet_seconds
        self.incomplete = max(incomplete_seconds, quiet_seconds)
        self._clock = clock
        self._tracked: dict[Path, _Tracked] = {}

    def __len__(self) -> int:
        return len(self._tracked)

    def is_tracked(self, path: Path) -> bool:
        return path in self._tracked

    def note(self, path: Path) -> None:
        """An event or a scan saw this path; start watching it if not already."""
        if path in self._tracked:
            self._tracked[path].next_check = 0.0  # look again soon: it may have changed
            return
        status = _regular_file_status(path)
        if status is not None:
            now = self._clock()
            self._tracked[path] = _Tracked(status.st_size, status.st_mtime_ns, now, now + self._step(),
                                           (status.st_dev, status.st_ino))

    def poll(self) -> tuple[list[SteadyFile], list[Path]]:
        """Files now complete (no longer tracked) and files that vanished (forgotten)."""
        now = self._clock()
        ready, vanished = [], []
        for path, tracked in list(self._tracked.items()):
            if now < tracked.next_check:
                continue
            status = _regular_file_status(path)
            if status is None:
                del self._tracked[path]
                vanished.append(path)
                continue
            inode = (status.st_dev, status.st_ino)
            if (status.st_size, status.st_mtime_ns, inode) != (tracked.size, tracked.mtime_ns, tracked.inode):
                # Another file saved over it (a new inode) starts again too, whatever its times.
                tracked.size, tracked.mtime_ns, tracked.steady_since = status.st_size, status.st_mtime_ns, now
                tracked.inode = inode
                tracked.next_check = now + self._step()
                continue
            steady_for = now - tracked.steady_since
            if steady_for < self.quiet:
                tracked.next_check = tracked.steady_since + self.quiet
                continue
            why = why_incomplete(path)
            opens = why is None
            if opens or steady_for >= self.incomplete:
                del self._tracked[path]
                ready.append(SteadyFile(path, tracked.size, tracked.mtime_ns, opens, *tracked.inode))
            else:
                if why != tracked.waiting:  # once per reason, not at every look
                    tracked.waiting = why
                    log.info("%s", logfmt("waiting-incomplete", {"file": printable(path), "reason": why}))
                tracked.next_check = min(now + max(self._step(), 1.0), tracked.steady_since + self.incomplete)
        return ready, vanished

    def _step(self) -> float:
        return max(0.1, min(self.quiet / 2, 1.0))


def _regular_file_status(path: Path) -> os.stat_result | None:
    """The file's status, or None if it is gone or not a plain file (a symlink could point
    anywhere on the server: never taken; and since it can be swapped in after this look, the
    desk opens the file itself without following one, see safe_fs.py)."""
    try:
        status = os.lstat(path)
    except OSError:
        return None
    return status if stat.S_ISREG(status.st_mode) else None
