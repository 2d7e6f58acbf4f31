"""The recipe: the steps one scan goes through to become an archived record.

    receive -> load_pages -> recognise_text -> write_archival_pdf -> record

Each step is a function over the Job (the document's working context) and appends an
event to the audit trail. Nothing reaches the archive, the index or the catalog before the
last step, which writes all three as one unit: a failure anywhere before leaves no trace
but the staging folder, which is removed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

from index import IndexedDocument, SearchIndex
from ocr.cpus import available_cpus
from ocr.errors import TooManyPixels
from ocr.pages import PageJob, ocr_pages
from ocr.pdfa import DocumentInfo, PdfaReport, add_text_layers, write_pdfa
from ocr.pdfpages import has_text, image_dpi, page_geometry, strip_invisible_text
from ocr.results import OcrPage
from ocr.sources import LoadedSource, load_source, rasterise_page, sniff_format
from ocr.tesseract import check_languages
from pipeline import __version__
from pipeline.archive import ArchivedFiles, ArchiveStore
from pipeline.catalog import Catalog, Event, PageRecord
from pipeline.config import Config
from pipeline.durable import copy_and_hash, sha256_file
from pipeline.home import Home
from pipeline.metadata import find_document_number

log = logging.getLogger(__name__)

VIETNAM = dt.timezone(dt.timedelta(hours=7))
_DEFAULT_DPI = 300  # for PDF pages without any image (born-digital), when they need OCR
_SUFFIX_FOR_FORMAT = {"pdf": ".pdf", "tiff": ".tif", "jpeg": ".jpg", "png": ".png"}


def now() -> str:
    return dt.datetime.now(VIETNAM).isoformat(timespec="seconds")


@dataclass(frozen=True)
class IngestOptions:
    force_ocr: bool = False


@dataclass(frozen=True)
class ArchivedDocument:
    """The outcome of ingesting one file."""

    id: int
    source: Path
    duplicate: bool  # the same bytes were archived before; nothing new was written
    pdfa_path: Path
    page_count: int
    original_sha256: str
    pdfa_sha256: str
    metadata: dict


@dataclass
class Job:
    """Working context of one document going through the steps."""

    source: Path
    staging: Path
    home: Home
    config: Config
    options: IngestOptions
    events: list[Event] = field(default_factory=list)
    format: str = ""
    original_copy: Path | None = None
    original_sha256: str = ""
    original_size: int = 0
    loaded: LoadedSource | None = None
    page_dpis: list[float] = field(default_factory=list)
    pages_with_text: set[int] = field(default_factory=set)
    ocr: dict[int, OcrPage] = field(default_factory=dict)
    page_texts: list[str] = field(default_factory=list)
    pdfa_path: Path | None = None
    pdfa_report: PdfaReport | None = None

    def event(self, step: str, outcome: str = "ok", **detail) -> None:
        self.events.append(Event(step, outcome, now(), detail or None))


# -- the steps ---------------------------------------------------------------------------


def receive(job: Job) -> None:
    """Copy the file into staging and hash the copy: everything after works on that copy."""
    job.format = sniff_format(job.source)
    job.original_copy = job.staging / f"original{_SUFFIX_FOR_FORMAT[job.format]}"
    job.original_sha256, job.original_size = copy_and_hash(job.source, job.original_copy)
    job.event("received", name=job.source.name, format=job.format, size=job.original_size,
              sha256=job.original_sha256)


def load_pages(job: Job) -> None:
    """Build the page images untouched, and note their resolution and existing text."""
    max_pixels = int(job.config.ocr.max_page_megapixels * 1_000_000)
    job.loaded = load_source(job.original_copy, max_pixels=max_pixels)
    force = job.options.force_ocr or job.config.ocr.force_ocr
    for index, page in enumerate(job.loaded.pdf.pages):
        dpi = image_dpi(page)
        if dpi is None:
            dpi = _DEFAULT_DPI
        width_pt, height_pt = page_geometry(page).displayed_size
        pixels = (width_pt / 72 * dpi) * (height_pt / 72 * dpi)
        if pixels > max_pixels:
            raise TooManyPixels(f"trang {index + 1}: trang quá lớn để nhận dạng ({pixels / 1e6:.0f} triệu điểm ảnh)")
        job.page_dpis.append(dpi)
        if has_text(page) and not force:
            job.pages_with_text.add(index)
    if force and job.format == "pdf":
        _strip_existing_text(job)
    job.event("loaded", pages=len(job.page_dpis), kept_text_pages=sorted(i + 1 for i in job.pages_with_text))


def _strip_existing_text(job: Job) -> None:
    """--force-ocr: drop an old text layer so the new one is the only one.

    A page whose text is visible (a born-digital page) cannot lose its text without losing
    what it shows; it is replaced by an image of itself, as OCRmyPDF's --force-ocr does.
    """
    for index, page in enumerate(job.loaded.pdf.pages):
        if has_text(page) and not strip_invisible_text(page):
            rasterise_page(job.loaded.pdf, index, dpi=job.page_dpis[index], work=job.staging)


def recognise_text(job: Job) -> None:
    """OCR the pages that have no text yet, in parallel."""
    todo = [i for i in range(len(job.page_dpis)) if i not in job.pages_with_text]
    if not todo:
        job.event("ocr", "skipped", reason="PDF đã có lớp chữ")
        return
    check_languages(job.config.ocr.language)
    base = job.staging / "pages.pdf"
    job.loaded.pdf.save(base)
    jobs = [
        PageJob(base, i + 1, job.page_dpis[i], job.config.ocr.language, *_image_source(job, i))
        for i in todo
    ]
    workers = job.config.ocr.workers or available_cpus()
    results = ocr_pages(jobs, workers)
    job.ocr = dict(zip(todo, results))
    confidences = [r.mean_confidence for r in results if r.mean_confidence is not None]
    job.event(
        "ocr",
        engine=results[0].engine,
        pages=[i + 1 for i in todo],
        mean_confidence=round(sum(confidences) / len(confidences), 1) if confidences else None,
    )


def _image_source(job: Job, index: int) -> tuple[Path | None, int]:
    """The input image itself is the page when it was an image file shown upright: OCR it
    directly instead of rasterising the page again (the same pixels, less work)."""
    if job.format == "pdf" or page_geometry(job.loaded.pdf.pages[index]).rotate:
        return None, 0
    return job.original_copy, index


def write_archival_pdf(job: Job) -> None:
    """Lay the text under the images, write PDF/A-2u, validate it; a failure stops here."""
    add_text_layers(job.loaded.pdf, job.ocr)
    job.pdfa_path = job.staging / "document.pdf"
    info = DocumentInfo(
        title=unicodedata.normalize("NFC", job.source.name),
        source_name=unicodedata.normalize("NFC", job.source.name),
        created=dt.datetime.now(VIETNAM).replace(microsecond=0),
        creator_tool=f"sohoa {__version__}",
        language=job.config.language,
    )
    job.pdfa_report = write_pdfa(job.loaded.pdf, info, job.pdfa_path)
    job.page_texts = _page_texts(job)
    job.event("pdfa", flavour="PDF/A-2u", validator=job.pdfa_report.validator, passed=True)


def _page_texts(job: Job) -> list[str]:
    texts = []
    for index in range(len(job.page_dpis)):
        if index in job.ocr:
            texts.append(job.ocr[index].text)
        else:
            texts.append(_pdftotext(job.pdfa_path, index + 1))
    return texts


def _pdftotext(pdf: Path, page_number: int) -> str:
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-f", str(page_number), "-l", str(page_number), str(pdf), "-"],
        capture_output=True,
        check=True,
    )
    return unicodedata.normalize("NFC", result.stdout.decode("utf-8", errors="replace")).strip()


def _metadata(job: Job) -> dict:
    text = "\n".join(job.page_texts)
    return {
        "title": unicodedata.normalize("NFC", job.source.name),
        "number": find_document_number(text),
        "language": job.config.language,
        "agency": job.config.agency_name,
        "page_count": len(job.page_dpis),
        "text_source": "existing" if not job.ocr else ("ocr" if not job.pages_with_text else "mixed"),
        # Blank sheets are kept (an archive keeps every sheet) and named here.
        "blank_pages": sorted(i + 1 for i, ocr in job.ocr.items() if ocr.blank),
    }


def _page_records(job: Job) -> list[PageRecord]:
    records = []
    for index, text in enumerate(job.page_texts):
        ocr = job.ocr.get(index)
        records.append(
            PageRecord(
                number=index + 1,
                text_source="ocr" if ocr else "existing",
                dpi=round(job.page_dpis[index], 2),
                width_px=ocr.width if ocr else None,
                height_px=ocr.height if ocr else None,
                ocr_confidence=round(ocr.mean_confidence, 1) if ocr and ocr.mean_confidence is not None else None,
                text=text,
                rotation=ocr.rotation if ocr else 0,
                skew=ocr.skew if ocr else None,
                blank=ocr.blank if ocr else False,
            )
        )
    return records


def record(job: Job, catalog: Catalog, archive: ArchiveStore, index: SearchIndex) -> ArchivedDocument:
    """Archive, index and catalogue the document as one unit.

    The catalog transaction is opened first (to number the document), the archive folder
    and the index entry are written inside it, and the commit comes last. If anything
    fails, the transaction rolls back and what was written is removed again; if the
    process dies instead, the catalog has no row, and the leftovers (an archive folder no
    row points to, an index entry for an unused number) are replaced when the number or
    the file comes again.
    """
    pdfa_sha256 = sha256_file(job.pdfa_path)
    pdfa_size = job.pdfa_path.stat().st_size
    files = ArchiveStore.layout(job.original_sha256, job.original_copy.suffix)
    metadata = _metadata(job)
    pages = _page_records(job)
    stored = indexed = False
    try:
        with catalog.transaction() as db:
            document_id = Catalog.insert_document(db, {
                "received_at": job.events[0].at,
                "original_name": unicodedata.normalize("NFC", job.source.name),
                "original_format": job.format,
                "original_sha256": job.original_sha256,
                "original_size": job.original_size,
                "archive_dir": files.directory,
                "original_file": files.original_file,
                "pdfa_file": files.pdfa_file,
                "pdfa_sha256": pdfa_sha256,
                "pdfa_size": pdfa_size,
                "sidecar_file": files.sidecar_file,
                "sidecar_sha256": "",
                "page_count": len(pages),
                "metadata_json": json.dumps(metadata, ensure_ascii=False),
            })
            job.event("archived", directory=files.directory)
            sidecar = _sidecar(document_id, job, files, pdfa_sha256, pdfa_size, metadata, pages)
            archive.store(files, original=job.original_copy, pdfa=job.pdfa_path, sidecar=sidecar)
            stored = True
            db.execute(
                "UPDATE documents SET sidecar_sha256 = ? WHERE id = ?",
                (hashlib.sha256(sidecar).hexdigest(), document_id),
            )
            Catalog.insert_pages(db, document_id, pages)
            index.add(IndexedDocument(
                doc_id=document_id,
                text="\n\n".join(job.page_texts),
                number=metadata["number"],
                title=metadata["title"],
            ))
            indexed = True
            job.event("indexed", engine=job.config.index_engine)
            Catalog.insert_events(db, document_id, job.events)
    except BaseException:
        if indexed:
            _quietly(index.delete, document_id)
        if stored:
            archive.discard(files)
        raise
    return ArchivedDocument(
        id=document_id,
        source=job.source,
        duplicate=False,
        pdfa_path=archive.path(files.pdfa_file),
        page_count=len(pages),
        original_sha256=job.original_sha256,
        pdfa_sha256=pdfa_sha256,
        metadata=metadata,
    )


def _quietly(action, *args) -> None:
    try:
        action(*args)
    except Exception:  # the original error is the one to report
        log.exception("could not undo a partial write")


def _sidecar(document_id: int, job: Job, files: ArchivedFiles, pdfa_sha256: str, pdfa_size: int,
             metadata: dict, pages: list[PageRecord]) -> bytes:
    """The record's description kept beside its files, readable without sohoa."""
    sidecar = {
        "id": document_id,
        "original": {
            "name": unicodedata.normalize("NFC", job.source.name),
            "file": Path(files.original_file).name,
            "format": job.format,
            "size": job.original_size,
            "sha256": job.original_sha256,
        },
        "pdfa": {
            "file": Path(files.pdfa_file).name,
            "flavour": "PDF/A-2u",
            "size": pdfa_size,
            "sha256": pdfa_sha256,
            "validator": job.pdfa_report.validator,
        },
        "metadata": metadata,
        "pages": [
            {"number": p.number, "text_source": p.text_source, "dpi": p.dpi, "ocr_confidence": p.ocr_confidence,
             "rotation": p.rotation, "skew": p.skew, "blank": p.blank}
            for p in pages
        ],
        "events": [{"step": e.step, "outcome": e.outcome, "at": e.at, "detail": e.detail} for e in job.events],
    }
    return json.dumps(sidecar, ensure_ascii=False, indent=2).encode("utf-8")


# -- one file, start to end --------------------------------------------------------------


def ingest_file(source: Path, *, home: Home, config: Config, catalog: Catalog, archive: ArchiveStore,
                index: SearchIndex, options: IngestOptions = IngestOptions()) -> ArchivedDocument:
    """Take one file through every step. Raises InputRejected (or another error) on failure,
    having written nothing."""
    home.staging_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ingest-", dir=home.staging_dir) as staging:
        job = Job(source=source, staging=Path(staging), home=home, config=config, options=options)
        receive(job)
        existing = catalog.find_by_original_sha256(job.original_sha256)
        if existing is not None:
            return _already_archived(existing, job, catalog, archive)
        load_pages(job)
        recognise_text(job)
        write_archival_pdf(job)
        return record(job, catalog, archive, index)


def _already_archived(document_id: int, job: Job, catalog: Catalog, archive: ArchiveStore) -> ArchivedDocument:
    row = catalog.get(document_id)
    return ArchivedDocument(
        id=row.id,
        source=job.source,
        duplicate=True,
        pdfa_path=archive.path(row.pdfa_file),
        page_count=row.page_count,
        original_sha256=row.original_sha256,
        pdfa_sha256=row.pdfa_sha256,
        metadata=row.metadata,
    )
