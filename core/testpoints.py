"""Test-only pause points: a crash test stops the product at a named step, kills it there
and looks at what a crash at that very point leaves behind; killing "after a second" hits
whatever step a machine of that speed happens to be in.

Off (one environment look-up) unless SOHOA_TEST_PAUSE_AT names the step (several names
separated by commas). Then the first process of the run to reach it writes
SOHOA_TEST_PAUSE_DIR/<step>.reached (holding its pid) and waits until the test kills it or
removes that file. A step pauses once per pause folder: the process that replaces a killed
one, or another worker at the same step, goes on, so a test can wait for the work to end.

The environment is read at each call, never cached: forked workers and the next test see
their own.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_AT = "SOHOA_TEST_PAUSE_AT"
PAUSE_DIR = "SOHOA_TEST_PAUSE_DIR"


def pause_point(step: str) -> None:
    wanted = os.environ.get(PAUSE_AT)
    if not wanted or step not in wanted.split(","):
        return
    folder = os.environ.get(PAUSE_DIR)
    if not folder:
        raise RuntimeError(f"{PAUSE_AT}={wanted} needs {PAUSE_DIR}, the folder of the pause markers")
    try:
        # The claim stays after the pause: once per test, whichever process comes first.
        os.close(os.open(Path(folder) / f"{step}.claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return
    reached = Path(folder) / f"{step}.reached"
    partial = Path(folder) / f".{step}.reached.partial"
    partial.write_text(f"{os.getpid()}\n", encoding="ascii")
    os.replace(partial, reached)  # the test never reads a pid half written
    while reached.exists():
        time.sleep(0.05)
