"""Fixity of a record's files: the original, the PDF/A and the sidecar, against the
SHA-256 and size the catalog recorded when each was last written by sohoa.

Every writer of a record's file (ingest, `sohoa set`, timestamp renewal) updates these
values in the same catalog transaction as the write, so any difference found here is a
change made outside sohoa, a lost file, or one added to the record's folder.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core.catalog import DocumentRow

_CHUNK = 1 << 20

# What each of a record's files is called in a message.
LABELS = {"original": "bản gốc", "pdfa": "bản PDF/A", "sidecar": "tệp mô tả"}


@dataclass(frozen=True)
class FileCheck:
    role: str  # original, pdfa, sidecar
    name: str  # the file's name in the record's folder
    expected_sha256: str
    expected_size: int | None  # None: recorded before sizes of sidecars were kept
    actual_sha256: str | None = None  # None: missing or unreadable
    actual_size: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict:
        return {"role": self.role, "name": self.name, "expected_sha256": self.expected_sha256,
                "actual_sha256": self.actual_sha256, "expected_size": self.expected_size,
                "actual_size": self.actual_size, "problem": self.problem}


@dataclass(frozen=True)
class FixityResult:
    id: int
    name: str
    folder: str
    files: tuple[FileCheck, ...]
    extra: tuple[str, ...]  # names in the record's folder that are none of its files
    bytes_read: int
    withdrawn: bool = False  # out of search (pipeline/withdraw.py); its fixity is still checked

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(f.problem for f in self.files if f.problem) + tuple(f"có tệp lạ {name}" for name in self.extra)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem_of(self, role: str) -> str | None:
        return next((f.problem for f in self.files if f.role == role), None)

    def line(self) -> str:
        """One line for the document: `tài liệu 12: bản gốc original.pdf đã bị thay đổi (SHA-256 khác); …`."""
        label = f"tài liệu {self.id}" + (" (đã rút khỏi kho)" if self.withdrawn else "")
        return f"{label}: " + ("; ".join(self.problems) if self.problems else "các tệp nguyên vẹn")

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "folder": self.folder, "ok": self.ok,
                "problems": list(self.problems), "files": [f.as_dict() for f in self.files],
                "extra_files": list(self.extra), "withdrawn": self.withdrawn}


def sha256_and_size(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _check_file(role: str, path: Path, sha256: str, size: int | None) -> FileCheck:
    label = f"{LABELS[role]} {path.name}"
    base = FileCheck(role, path.name, sha256, size)
    try:
        actual_sha, actual_size = sha256_and_size(path)
    except FileNotFoundError:
        return FileCheck(role, path.name, sha256, size, problem=f"thiếu tệp {path.name}")
    except OSError as error:
        return FileCheck(role, path.name, sha256, size,
                         problem=f"không đọc được {label} ({error.strerror or error})")
    problem = None
    if actual_sha != sha256:
        problem = f"{label} đã bị thay đổi (SHA-256 khác)"
    elif size is not None and actual_size != size:
        problem = f"{label} đã bị thay đổi (kích thước khác)"
    return FileCheck(base.role, base.name, sha256, size, actual_sha, actual_size, problem)


def check_record(row: DocumentRow, archive_root: Path) -> FixityResult:
    """Re-hash the record's three files and list its folder."""
    folder = archive_root / row.archive_dir
    expected = (
        ("original", row.original_file, row.original_sha256, row.original_size),
        ("pdfa", row.pdfa_file, row.pdfa_sha256, row.pdfa_size),
        ("sidecar", row.sidecar_file, row.sidecar_sha256, row.sidecar_size),
    )
    checks = tuple(_check_file(role, archive_root / relative, sha, size) for role, relative, sha, size in expected)
    known = {PurePosixPath(relative).name for _, relative, _, _ in expected}
    try:
        present = sorted(os.listdir(folder))
    except OSError:
        present = []  # a missing folder: each of its files is reported missing
    extra = tuple(name for name in present if name not in known)
    read = sum(c.actual_size or 0 for c in checks)
    return FixityResult(row.id, row.original_name, str(folder), checks, extra, read, row.withdrawn_at is not None)
