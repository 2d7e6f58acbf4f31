"""Structured log lines: one line per event, `key=value` pairs, the job and file in each.

    2026-03-02 08:30:01,123 INFO sohoa.watch: event=done job=17 file="van-ban-den/cv 268.pdf" document=12 pages=3

The operator's console gets the same event as one plain Vietnamese sentence.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from typing import TextIO

log = logging.getLogger("sohoa.watch")


def _value(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if text == "" or any(c in text for c in ' ="\n\t\\'):
        return json.dumps(text, ensure_ascii=False)
    return text


def logfmt(event: str, fields: dict) -> str:
    return " ".join([f"event={event}", *(f"{k}={_value(v)}" for k, v in fields.items() if v is not None)])


class EventLog:
    def __init__(self, console: TextIO | None = sys.stdout):
        self.console = console
        self._lock = threading.Lock()

    def __call__(self, event: str, say: str | None = None, *, level: int = logging.INFO, **fields) -> None:
        log.log(level, "%s", logfmt(event, fields))
        if say and self.console is not None:
            with self._lock:
                print(say, file=self.console, flush=True)
