"""Structured log lines: one line per event, `key=value` pairs, the job and file in each.

    2026-03-02 08:30:01,123 INFO sohoa.watch: event=done job=17 file="van-ban-den/cv 268.pdf" document=12 pages=3

The operator's console gets the same event as one plain Vietnamese sentence.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
from typing import TextIO

from core.names import shown

log = logging.getLogger("sohoa.watch")


def _value(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if text == "" or not text.isprintable() or any(c in text for c in ' ="\\'):
        return quoted(text)
    return text


def quoted(text: str) -> str:
    """text as a JSON string with nothing unprintable left raw: json escapes C0 controls
    but, without ensure_ascii, leaves DEL, C1 controls and bidi overrides (U+202E) as they
    are, and those would act on the terminal of whoever reads the log."""
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1]
                   for c in json.dumps(text, ensure_ascii=False))


def logfmt(event: str, fields: dict) -> str:
    return " ".join([f"event={event}", *(f"{k}={_value(v)}" for k, v in fields.items() if v is not None)])


def console_text(say: str, name: str | None = None) -> str:
    """say, safe for a terminal. The file name in it (the event's `file`) is escaped whole,
    newlines too, so it can neither move the cursor nor print a line of its own; the rest
    keeps its own line breaks (the start message has several)."""
    if name and not name.isprintable():
        say = say.replace(name, shown(name))
    return "\n".join(shown(line) for line in say.split("\n"))


class EventLog:
    def __init__(self, console: TextIO | None = sys.stdout):
        self.console = console
        self._lock = threading.Lock()

    def __call__(self, event: str, say: str | None = None, *, level: int = logging.INFO, **fields) -> None:
        log.log(level, "%s", logfmt(event, fields))
        if say and self.console is not None:
            # A console that cannot be written (redirected to a full disk) must not undo the
            # bookkeeping that called it: the event is in the log, if the log has room.
            with self._lock, contextlib.suppress(OSError):
                print(console_text(say, fields.get("file")), file=self.console, flush=True)
