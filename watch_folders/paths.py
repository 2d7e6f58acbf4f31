"""The service's folders inside the data home.

    inbox/<profile>/...     where clerks save scans (subfolders allowed)
    done/<profile>/...      archived files, for profiles that keep them (after_done = "move")
    failed/<profile>/...    refused files, each beside <name>.reason.txt
    duplicate/<profile>/... files already in the archive, each beside <name>.note.txt
    tmp/watch/received/<job>/  the service's copy of each job's bytes until the job ends
    tmp/watch/worker-<n>/      a document worker's staging area, emptied at every start
    watch.lock              held by the running service (one per home), with its pid

None of these may be a symbolic link: they are created and opened without following one
(safe_fs.py), and a link found at start stops the service with one line saying what to do.
A profile inbox that should be a network share is mounted at inbox/<profile> (a bind mount
of the share's mount point), not linked: following a link the clerks could change would
let them make the service read any file on the server (issue 11, point 1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.config import ConfigError
from core.home import Home, keep_inbox_mode
from watch_folders import safe_fs


@dataclass(frozen=True)
class ServiceHome(Home):
    """A home whose staging area is the given work folder (a worker's own), so that a
    restart can empty it without touching a `sohoa ingest` running beside the service."""

    work: Path | None = None

    @classmethod
    def for_worker(cls, root: Path, worker_id: int) -> ServiceHome:
        return cls(root, watch_work_dir(root) / f"worker-{worker_id}")

    @property
    def staging_dir(self) -> Path:
        return self.work if self.work is not None else super().staging_dir


def watch_work_dir(root: Path) -> Path:
    return root / "tmp" / "watch"


def received_dir(root: Path) -> Path:
    return watch_work_dir(root) / "received"


def service_lock(root: Path) -> Path:
    return root / "watch.lock"


def outcome_dirs(root: Path) -> dict[str, Path]:
    return {name: root / name for name in ("done", "failed", "duplicate")}


def prepare_folders(home: Home, profile_names) -> list[Path]:
    """Create inbox/<profile>/ for each profile and the outcome folders; returns the inboxes."""
    inboxes = [home.inbox_dir / name for name in profile_names]
    root = safe_fs.open_root(home.root)
    try:
        for folder in (*inboxes, *outcome_dirs(home.root).values(), received_dir(home.root)):
            try:
                fd = safe_fs.open_dir(root, folder.relative_to(home.root).parts, create=True)
            except safe_fs.SymlinkRefused as refused:
                raise ConfigError(_refusal_advice(refused, inboxes, home.root)) from None
            try:
                if folder in inboxes:  # the clerks' group drops files there
                    keep_inbox_mode(fd)
            finally:
                os.close(fd)
    finally:
        os.close(root)
    return inboxes


def _refusal_advice(refused: safe_fs.SymlinkRefused, inboxes: list[Path], root: Path) -> str:
    where = refused.where
    if any(where == str(inbox.relative_to(root)) for inbox in inboxes) or where == "inbox":
        return (f"{root / where} là liên kết tượng trưng: sohoa không đọc thư mục nhận qua liên kết "
                f"(người gửi tệp có thể tráo nó sang tệp khác trên máy chủ); hãy gắn thẳng thư mục chia sẻ "
                f"vào đúng đường dẫn đó (mount --bind) thay cho liên kết")
    return (f"{root / where} là liên kết tượng trưng hoặc không phải thư mục: sohoa không ghi qua đó; "
            f"hãy thay bằng một thư mục thật (hoặc gắn bằng mount --bind)")
