"""Pages waiting for an OCR process, served one document at a time in turn.

A 300-page PDF queues 300 pages; a one-page scan dropped after it queues one. Served in
arrival order the small scan would wait for the whole big one. Served in turn — one page
of each document waiting, round and round — it waits for at most one page of each
document ahead of it, and the big one still gets every OCR process nobody else needs.
"""

from __future__ import annotations

from collections import OrderedDict, deque

from watch_folders.messages import PageTask


class PageQueue:
    def __init__(self) -> None:
        self._waiting: OrderedDict[int, deque[PageTask]] = OrderedDict()  # job id -> its pages

    def __len__(self) -> int:
        return sum(len(pages) for pages in self._waiting.values())

    def add(self, tasks: list[PageTask]) -> None:
        for task in tasks:
            self._waiting.setdefault(task.job_id, deque()).append(task)

    def put_back(self, task: PageTask) -> None:
        """A page whose OCR process died: first in line of its document again."""
        self._waiting.setdefault(task.job_id, deque()).appendleft(task)
        self._waiting.move_to_end(task.job_id, last=False)

    def next(self) -> PageTask | None:
        if not self._waiting:
            return None
        job_id, pages = next(iter(self._waiting.items()))
        task = pages.popleft()
        if pages:
            self._waiting.move_to_end(job_id)  # its next page after one of every other document
        else:
            del self._waiting[job_id]
        return task

    def drop(self, job_id: int, batch: int | None = None) -> None:
        pages = self._waiting.get(job_id)
        if pages is None:
            return
        kept = deque(t for t in pages if batch is not None and t.batch != batch)
        if kept:
            self._waiting[job_id] = kept
        else:
            del self._waiting[job_id]
