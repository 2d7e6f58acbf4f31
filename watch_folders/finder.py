"""Finding files in the inbox: file-system events, and a full walk now and then.

inotify (through watchdog) tells at once about files written on this machine, but a
network share (SMB, NFS) written from another machine delivers no events, and events can
be dropped when many arrive at once. So the whole inbox is also walked at start-up (files
already there are taken too) and every `rescan_seconds`. Both only say "look at this
path"; whether and when it is taken is decided elsewhere (steadiness.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger("sohoa.watch")


def walk_files(root: Path) -> Iterator[Path]:
    """Every regular file under root, hidden folders skipped, symbolic links not followed."""
    for folder, subfolders, files in os.walk(root, followlinks=False):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in files:
            yield Path(folder) / name


class _Handler(FileSystemEventHandler):
    def __init__(self, notify: Callable[[Path], None]):
        self.notify = notify

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        path = Path(os.fsdecode(getattr(event, "dest_path", "") or event.src_path))
        if event.is_directory:
            if event.event_type in ("created", "moved"):
                # A folder moved in brings its files without an event for each of them.
                for file in walk_files(path):
                    self.notify(file)
            return
        self.notify(path)


def start_observer(root: Path, notify: Callable[[Path], None]):
    """Watch root recursively; None (and a warning) when the system refuses, e.g. out of
    inotify watches: the periodic walk still finds every file, only later."""
    observer = Observer()
    observer.daemon = True
    try:
        observer.schedule(_Handler(notify), str(root), recursive=True)
        observer.start()
    except OSError as error:
        log.warning("event=watch-unavailable dir=%s error=%r: only the periodic rescan will find files",
                    root, str(error))
        return None
    return observer
