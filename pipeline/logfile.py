"""The log file, written by a handler that never floods the console when it cannot write.

Python's logging.Handler.handleError prints a traceback to stderr for every record that
could not be written: on a full disk that was one block per log line (338 in one run).
Here a record that cannot be written is dropped and counted; the console hears of it once,
in one Vietnamese line, and when the log can be written again it says how many lines were
lost (in the log, and once more on the console).
"""

from __future__ import annotations

import contextlib
import errno
import logging
from pathlib import Path
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class LogFile(logging.FileHandler):
    """A FileHandler whose failed writes are counted, not printed. `console` (the
    operator's terminal, or None in worker processes) is told once per outage."""

    def __init__(self, path: Path | str, *, console: TextIO | None = None):
        super().__init__(path, mode="a", encoding="utf-8")
        self.console = console
        self.dropped = 0  # records lost since the log last could be written

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)  # a bad record is a bug: handleError's traceback is right for it
        if self.dropped:
            # On a line of its own: the last lost write may have left half a line.
            text = self.terminator + self.format(self._resumed_note()) + self.terminator + text
        try:
            if self.stream is None:
                self.stream = self._open()
            self.stream.write(text + self.terminator)
            self.stream.flush()
        except OSError as error:
            self._lost(error)
            return
        if self.dropped:
            self._say(f"sohoa: nhật ký {self.baseFilename} ghi lại được; {self.dropped} dòng trong lúc "
                      "không ghi được đã bị bỏ qua")
            self.dropped = 0

    def _resumed_note(self) -> logging.LogRecord:
        return logging.makeLogRecord({
            "name": "sohoa.log", "levelno": logging.WARNING, "levelname": "WARNING",
            "msg": "event=log-resumed dropped=%d", "args": (self.dropped,),
        })

    def _lost(self, error: OSError) -> None:
        # What is still buffered would be written half later: dropped with the stream,
        # which is opened again for the next record.
        stream, self.stream = self.stream, None
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.close()
        self.dropped += 1
        if self.dropped > 1:
            return
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            self._say(f"sohoa: không ghi được nhật ký {self.baseFilename} vì đĩa đầy; các dòng nhật ký "
                      "bị bỏ qua cho đến khi có chỗ trống (hãy giải phóng dung lượng đĩa của kho)")
        else:
            self._say(f"sohoa: không ghi được nhật ký {self.baseFilename} ({error.strerror or error}); "
                      "các dòng nhật ký bị bỏ qua cho đến khi ghi lại được")

    def _say(self, line: str) -> None:
        if self.console is None:
            return
        with contextlib.suppress(OSError, ValueError):  # the console may be on the full disk too
            print(line, file=self.console, flush=True)
