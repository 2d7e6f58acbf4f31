"""The service's folders inside the data home.

    inbox/<profile>/...     where clerks save scans (subfolders allowed)
    done/<profile>/...      archived files, for profiles that keep them (after_done = "move")
    failed/<profile>/...    refused files, each beside <name>.reason.txt
    duplicate/<profile>/... files already in the archive, each beside <name>.note.txt
    tmp/watch/received/<job>/  the service's copy of each job's bytes until the job ends
    tmp/watch/worker-<n>/      a document worker's staging area, emptied at every start
    watch.lock              held by the running service (one per home), with its pid
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.home import Home


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

    @property
    def index_lock(self) -> Path:
        return watch_work_dir(self.root) / "index-writer.lock"


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
    for folder in (*inboxes, *outcome_dirs(home.root).values(), received_dir(home.root)):
        folder.mkdir(parents=True, exist_ok=True)
    return inboxes
