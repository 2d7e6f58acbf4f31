"""How long `sohoa --version`, `sohoa --help` and `sohoa search --help` take to answer, beside
a bare `python -c pass` of the same interpreter measured in the same run (issue 14: under
0.3 s). Runs are interleaved, so a busy machine slows every command alike; medians printed.

    .venv/bin/python bench/cli_startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
SOHOA = BIN / "sohoa"
TARGET_SECONDS = 0.3

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "sohoa --version": [str(SOHOA), "--version"],
    "sohoa --help": [str(SOHOA), "--help"],
    "sohoa search --help": [str(SOHOA), "search", "--help"],
}


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          env={k: v for k, v in os.environ.items() if k != "SOHOA_HOME"})
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode(errors='replace')}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    for command in COMMANDS.values():  # warm the page cache and the .pyc files first
        timed(command)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            times[name].append(timed(command))
    floor = statistics.median(times["python -c pass"])
    print(f"{'command':<22} {'median':>9} {'min':>9} {'max':>9} {'× python -c pass':>17}  ({args.runs} runs each, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f})")
    worst = 0.0
    for name, values in times.items():
        median = statistics.median(values)
        if name != "python -c pass":
            worst = max(worst, median)
        print(f"{name:<22} {median * 1000:>7.1f}ms {min(values) * 1000:>7.1f}ms {max(values) * 1000:>7.1f}ms "
              f"{median / floor:>16.1f}×")
    verdict = "within" if worst < TARGET_SECONDS else "OVER"
    print(f"slowest sohoa median {worst * 1000:.0f} ms: {verdict} the {TARGET_SECONDS * 1000:.0f} ms target")
    return 0 if worst < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
