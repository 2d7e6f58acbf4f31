"""How many CPUs this process may really use.

os.cpu_count() reports the host; a container or a systemd slice may allow far fewer.
Oversubscribing a 2-core machine with Tesseract makes it 3-10x slower, so the pool size
must come from the CPU affinity mask and the cgroup quota.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

_CGROUP_ROOT = Path("/sys/fs/cgroup")
_PROC_CGROUP = Path("/proc/self/cgroup")


def _affinity_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _own_cgroup_path(controller: str, proc_cgroup: Path) -> str:
    """This process's cgroup path for a v1 controller, or for v2 when controller is ''."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return "/"
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    return "/"


def _tightest(directory: Path, root: Path, read_limit) -> float | None:
    """The smallest limit found from the process's cgroup folder up to the hierarchy root."""
    limits = []
    while True:
        limit = read_limit(directory)
        if limit is not None:
            limits.append(limit)
        if directory == root or root not in directory.parents:
            break
        directory = directory.parent
    return min(limits) if limits else None


def _cgroup_v2_quota(root: Path, proc_cgroup: Path) -> float | None:
    own = root / _own_cgroup_path("", proc_cgroup).lstrip("/")
    return _tightest(own, root, lambda d: _read_cpu_max(d / "cpu.max"))


def _read_cpu_max(path: Path) -> float | None:
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return int(quota) / int(period)


def _read_cfs_quota(directory: Path) -> float | None:
    try:
        quota = int((directory / "cpu.cfs_quota_us").read_text())
        period = int((directory / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def _cgroup_v1_quota(root: Path, proc_cgroup: Path) -> float | None:
    v1_root = root / "cpu"
    own = v1_root / _own_cgroup_path("cpu", proc_cgroup).lstrip("/")
    return _tightest(own, v1_root, _read_cfs_quota)


def available_cpus(cgroup_root: Path = _CGROUP_ROOT, proc_cgroup: Path = _PROC_CGROUP) -> int:
    """CPUs usable by this process: the affinity mask, capped by any cgroup CPU quota."""
    count = _affinity_count()
    quota = _cgroup_v2_quota(cgroup_root, proc_cgroup)
    if quota is None:
        quota = _cgroup_v1_quota(cgroup_root, proc_cgroup)
    if quota is not None:
        # A quota of 1.5 CPUs still lets two processes make progress; round up.
        count = min(count, max(1, math.ceil(quota)))
    return max(1, count)
