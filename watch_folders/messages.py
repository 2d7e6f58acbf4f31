"""What the dispatcher and its worker processes say to each other, over their pipes.

Small messages only: a page's OCR result travels as a file in the document's work folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WorkOrder:
    job_id: int
    file: str  # the service's received copy, named as the clerk named the scan (NFC)
    profile: object  # watch_folders.settings.Profile
    metadata_defaults: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PagesWanted:
    job_id: int
    batch: int
    pages: list  # ocr.pages.PageJob, in order
    results_dir: str


@dataclass(frozen=True)
class PagesAbandoned:
    job_id: int
    batch: int


@dataclass(frozen=True)
class PageTask:
    job_id: int
    batch: int
    index: int
    page: object  # ocr.pages.PageJob
    result_file: str


@dataclass(frozen=True)
class PageDone:
    job_id: int
    batch: int
    index: int
    error: BaseException | None = None


@dataclass(frozen=True)
class WorkDone:
    job_id: int
    # archived, duplicate, recovered (our own earlier attempt had committed), failed, retry, interrupted,
    # signing-paused (the token refused the PIN: the job waits, its try not counted)
    outcome: str
    document_id: int | None = None
    page_count: int | None = None
    error_code: str | None = None
    reason: str | None = None
    details: str | None = None  # traceback, for the log only
    input_signature: dict | None = None  # the verdict on a received signed PDF (pipeline.ingest)
    damaged: dict | None = None  # a damaged PDF archived as far as readable (ocr/damage.py)
    needs_review: list | None = None  # a blank scan, a thumbnail: archived flagged (pipeline.ingest)
    index_pending: bool = False  # archived; its index entry waits for the writer (pipeline/index_queue.py)
