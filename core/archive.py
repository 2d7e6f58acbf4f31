"""The archive store: each record's original, PDF/A and JSON sidecar in its own folder.

Folders are keyed by the original's SHA-256 and fanned out two levels deep
(archive/3f/a2/3fa2…/), so a million records never pile into one folder. A record's folder
appears by one atomic rename, complete or not at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.durable import fsync_dir, fsync_file, remove_tree

ORIGINAL_STEM = "original"
PDFA_NAME = "document.pdf"
SIDECAR_NAME = "metadata.json"


@dataclass(frozen=True)
class ArchivedFiles:
    directory: str  # relative to the archive root
    original_file: str  # relative to the archive root
    pdfa_file: str
    sidecar_file: str


class ArchiveStore:
    def __init__(self, root: Path):
        self.root = root

    @staticmethod
    def layout(original_sha256: str, original_suffix: str) -> ArchivedFiles:
        directory = f"{original_sha256[:2]}/{original_sha256[2:4]}/{original_sha256}"
        return ArchivedFiles(
            directory=directory,
            original_file=f"{directory}/{ORIGINAL_STEM}{original_suffix}",
            pdfa_file=f"{directory}/{PDFA_NAME}",
            sidecar_file=f"{directory}/{SIDECAR_NAME}",
        )

    def path(self, relative: str) -> Path:
        return self.root / relative

    def store(self, files: ArchivedFiles, *, original: Path, pdfa: Path, sidecar: bytes) -> None:
        """Move the staged original and PDF/A into the record's folder with the sidecar.

        The folder is assembled under a hidden temporary name and renamed into place, so a
        crash leaves either no folder or a complete one.
        """
        final = self.path(files.directory)
        final.parent.mkdir(parents=True, exist_ok=True)
        # Folders left half-assembled by a process that was killed, for this same record:
        # no catalog row points to them, and this store replaces them.
        for stale in final.parent.glob(f".{final.name}.tmp-*"):
            remove_tree(stale)
        assembling = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        assembling.mkdir()
        placed = False
        try:
            os.rename(original, assembling / Path(files.original_file).name)
            fsync_file(pdfa)
            os.rename(pdfa, assembling / PDFA_NAME)
            sidecar_path = assembling / SIDECAR_NAME
            with open(sidecar_path, "wb") as handle:
                handle.write(sidecar)
                handle.flush()
                os.fsync(handle.fileno())
            fsync_dir(assembling)
            if final.exists():
                # Left by a run that crashed before its catalog commit: no record points to it.
                remove_tree(final)
            os.rename(assembling, final)
            placed = True
            fsync_dir(final.parent)
        except BaseException:
            # A full disk (or any error) half-way: the folder goes (no catalog row points
            # to it yet); the job is tried again from its own copy of the original.
            remove_tree(final if placed else assembling)
            raise

    def discard(self, files: ArchivedFiles) -> None:
        """Undo store() when the catalog transaction that should point to it failed."""
        remove_tree(self.path(files.directory))
