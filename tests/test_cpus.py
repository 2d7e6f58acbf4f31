"""The OCR pool is sized to the CPUs this process may use, not the host's count."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ocr.cpus import available_cpus


def _run_counting(prefix: list[str]) -> int:
    code = "from ocr.cpus import available_cpus; print(available_cpus())"
    out = subprocess.run(prefix + [sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout)


def test_follows_the_affinity_mask_of_a_real_process():
    if not hasattr(os, "sched_getaffinity") or subprocess.run(["which", "taskset"], capture_output=True).returncode:
        pytest.skip("taskset not available")
    assert _run_counting(["taskset", "-c", "0"]) == 1
    assert _run_counting([]) == min(len(os.sched_getaffinity(0)), available_cpus())


def _cgroup_tree(tmp_path: Path, v2_quota: str | None, v1_quota: tuple[int, int] | None) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    (root / "slice" / "job").mkdir(parents=True)
    if v2_quota:
        (root / "slice" / "cpu.max").write_text(v2_quota)
    if v1_quota:
        (root / "cpu" / "job").mkdir(parents=True)
        (root / "cpu" / "job" / "cpu.cfs_quota_us").write_text(str(v1_quota[0]))
        (root / "cpu" / "job" / "cpu.cfs_period_us").write_text(str(v1_quota[1]))
    proc = tmp_path / "proc-cgroup"
    proc.write_text("0::/slice/job\n" if v2_quota else "4:cpu,cpuacct:/job\n")
    return root, proc


def test_a_cgroup_v2_quota_on_a_parent_caps_the_count(tmp_path):
    root, proc = _cgroup_tree(tmp_path, "100000 100000\n", None)
    assert available_cpus(root, proc) == 1


def test_a_fractional_quota_rounds_up_and_never_exceeds_affinity(tmp_path):
    root, proc = _cgroup_tree(tmp_path, None, (150000, 100000))
    assert available_cpus(root, proc) == min(2, len(os.sched_getaffinity(0)))


def test_no_quota_means_the_affinity_count(tmp_path):
    root, proc = _cgroup_tree(tmp_path, "max 100000\n", None)
    assert available_cpus(root, proc) == len(os.sched_getaffinity(0))
