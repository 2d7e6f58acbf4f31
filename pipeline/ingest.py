"""The recipe: the steps one scan goes through to become an archived record.

    receive -> load_pages -> recognise_text -> read_document_header -> write_archival_pdf
            -> sign_archival_pdf -> record

(A PDF that arrives already signed takes keep_signed_original instead of the two PDF/A
steps: it is archived byte for byte and its signatures are verified.)

Each step is a function over the Job (the document's working context) and appends an
event to the audit trail. Nothing reaches the archive, the index or the catalog before the
last step, which writes all three as one unit: a failure anywhere before leaves no trace
but the staging folder, which is removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

from core import clock
from core.events import Step
from core.record_metadata import RecordMetadata, SignatureLevel
from core.testpoints import pause_point
from index import SearchIndex
from ocr.cpus import available_cpus
from ocr.errors import TooManyPixels
from ocr.pages import PageJob, ocr_pages
from ocr.pdfa import DocumentInfo, PdfaReport, add_text_layers, write_pdfa
from ocr.normalise import pages_not_carried, unembedded_fonts
from core.pdf.pages import full_page_jpeg, image_dpi, page_geometry
from core.ocr_results import OcrPage
from ocr.scannertext import NONE as NO_TEXT
from ocr.scannertext import VISIBLE as VISIBLE_TEXT
from ocr.scannertext import strip_invisible_text, text_layer_kind
from ocr.sources import LoadedSource, load_source, rasterise_page, sniff_format
from ocr.tesseract import check_languages
from pipeline import __version__, index_queue
from core.archive import ArchivedFiles, ArchiveStore
from core.catalog import Catalog, Event, PageRecord
from core.confidentiality import Level
from core.config import Config
from core.durable import copy_and_hash, sha256_file
from core.home import Home
from core.lookup import document_types
from header import DocumentHeader, read_header
from header.pdfwords import text_layer_page
from header.record import header_metadata, xmp_schema
from pipeline.header_store import complete_record
from pipeline.staging import clean_stale_staging, staging_prefix
from signing.pdfa import check_signed_pdfa
from signing.sign import AgencySigner, load_trust_roots, open_agency_signer, sign_file
from signing.verify import VerifyPolicy, has_signatures, received_signature_verdict, verify_pdf
from core.names import printable

log = logging.getLogger(__name__)

_DEFAULT_DPI = 300  # for PDF pages without any image (born-digital), when they need OCR
_SUFFIX_FOR_FORMAT = {"pdf": ".pdf", "tiff": ".tif", "jpeg": ".jpg", "png": ".png"}


def now() -> str:
    return clock.now_text()


def _source_name(job: Job) -> str:
    """The name as recorded: NFC text, a non-UTF-8 name decoded (SQLite and JSON refuse
    the surrogates Python keeps its undecodable bytes as)."""
    return printable(job.source.name)


@dataclass(frozen=True)
class IngestOptions:
    force_ocr: bool = False
    # Who OCRs the pages (list of PageJob in, OcrPage in the same order out); None: a pool
    # of this process's own. The watch service passes its shared, fair OCR processes.
    page_reader: Callable[[list[PageJob]], list[OcrPage]] | None = None
    # Metadata the caller knows beforehand (a watch profile's defaults); what the document
    # itself says wins.
    metadata_defaults: dict = field(default_factory=dict)
    # Sign the PDF/A (a profile's choice); None: as [signing] enabled says.
    sign: bool | None = None
    # An open signing.sign.AgencySigner shared by many documents (the token logged in once);
    # None: the configured identity is opened for this document alone.
    signer: AgencySigner | None = None
    # A damaged PDF (ocr/damage.py) is archived as far as it can be read, the damage recorded
    # and the record flagged for review, instead of being refused (--accept-damaged, a
    # profile's accept_damaged = true).
    accept_damaged: bool = False


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
    # The verdict on the signatures the file arrived with (signing.verify.received_signature_verdict)
    input_signature: dict | None = None
    # Archived, but not searchable yet: the index writer was busy (pipeline/index_queue.py)
    index_pending: bool = False


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
    pages_with_text: set[int] = field(default_factory=set)  # visible text, kept
    redone_text_pages: set[int] = field(default_factory=set)  # an old text layer replaced by our OCR
    rasterised_pages: dict[int, dict] = field(default_factory=dict)  # page number -> why (reason, fonts|findings)
    ocr: dict[int, OcrPage] = field(default_factory=dict)
    page_texts: list[str] = field(default_factory=list)
    pdfa_path: Path | None = None
    pdfa_report: PdfaReport | None = None
    archival_flavour: str = "PDF/A-2u"
    signature: dict | None = None  # the agency's signature, or the verdict on a signed original
    input_signature: dict | None = None  # {"status", "message"} on the signatures it arrived with
    header: DocumentHeader | None = None  # number, date, summary ... read from the pages
    document_types: dict[str, str] | None = None  # symbol -> name, the home's table (core.lookup)

    def event(self, step: str, outcome: str = "ok", **detail) -> None:
        self.events.append(Event(step, outcome, now(), detail or None))


# -- the steps ---------------------------------------------------------------------------


def receive(job: Job) -> None:
    """Copy the file into staging and hash the copy: everything after works on that copy."""
    job.format = sniff_format(job.source)
    job.original_copy = job.staging / f"original{_SUFFIX_FOR_FORMAT[job.format]}"
    job.original_sha256, job.original_size = copy_and_hash(job.source, job.original_copy)
    job.event(Step.RECEIVED, name=_source_name(job), format=job.format, size=job.original_size,
              sha256=job.original_sha256)


def load_pages(job: Job) -> None:
    """Build the page images untouched, and note their resolution and existing text."""
    max_pixels = int(job.config.ocr.max_page_megapixels * 1_000_000)
    limits = job.config.limits
    job.loaded = load_source(job.original_copy, max_pixels=max_pixels, max_pages=limits.max_pages,
                             max_page_content=limits.max_page_content, accept_damaged=job.options.accept_damaged)
    _record_input_changes(job)
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
        kind = text_layer_kind(page) if job.format == "pdf" else NO_TEXT
        if kind == VISIBLE_TEXT and not force:
            job.pages_with_text.add(index)
        elif kind != NO_TEXT:
            job.redone_text_pages.add(index)
    _strip_old_text(job)
    _rasterise_unembedded(job)
    job.event(Step.LOADED, pages=len(job.page_dpis), kept_text_pages=sorted(i + 1 for i in job.pages_with_text),
              redone_text_pages=sorted(i + 1 for i in job.redone_text_pages),
              **({"notes": list(job.loaded.notes)} if job.loaded.notes else {}))


def _record_input_changes(job: Job) -> None:
    """What the archive copy left out or drew into its pages, and a damaged file's damage
    (accepted by the profile or --accept-damaged): in the audit trail and the record."""
    if job.loaded.normalised:
        job.event(Step.NORMALISED, **job.loaded.normalised)
    if job.loaded.damage is not None:
        job.event(Step.DAMAGED, "warning", message=job.loaded.damage.message(), **job.loaded.damage.as_detail())


def _rasterise_unembedded(job: Job) -> None:
    """PDF/A needs every font a page uses embedded, and a font cannot be embedded from
    here: a page kept with visible text in such a font (a born-digital page, a form or
    annotation drawn into the page in Helvetica) is carried over as an image of itself at
    its own resolution, and OCR'd; so is a page pikepdf.pdfa finds anything else on that
    PDF/A-2 does not take (ocr/normalise.py pages_not_carried)."""
    for index in sorted(job.pages_with_text):
        fonts = unembedded_fonts(job.loaded.pdf.pages[index])
        if fonts:
            _rasterise(job, index, {"reason": "phông chữ không nhúng", "fonts": sorted(set(fonts))})
    if job.format != "pdf":
        return
    # Anything else a page carries that PDF/A-2 does not take and normalise() could not mend
    for index, findings in pages_not_carried(job.loaded.pdf).items():
        _rasterise(job, index, {"reason": "trang không chuyển được nguyên dạng sang PDF/A", "findings": findings})


def _rasterise(job: Job, index: int, why: dict) -> None:
    """The page becomes an image of itself at its own resolution (poppler), OCR'd."""
    rasterise_page(job.loaded.pdf, index, dpi=job.page_dpis[index], work=job.staging)
    job.pages_with_text.discard(index)
    job.rasterised_pages[index + 1] = why


def _strip_old_text(job: Job) -> None:
    """Take the old text layer off the pages OCR'd again, so ours is the only one.

    A scanner's invisible OCR layer is taken out of the drawing (the images untouched), as
    OCRmyPDF's --redo-ocr does. A page whose text is visible (a born-digital page, under
    --force-ocr) cannot lose its text without losing what it shows; it is replaced by an
    image of itself, as OCRmyPDF's --force-ocr does.
    """
    for index in sorted(job.redone_text_pages):
        if not strip_invisible_text(job.loaded.pdf.pages[index]):
            rasterise_page(job.loaded.pdf, index, dpi=job.page_dpis[index], work=job.staging)


def recognise_text(job: Job) -> None:
    """OCR the pages that have no text yet, in parallel."""
    todo = [i for i in range(len(job.page_dpis)) if i not in job.pages_with_text]
    if not todo:
        job.event(Step.OCR, "skipped", reason="PDF đã có lớp chữ")
        return
    check_languages(job.config.ocr.language)
    base = job.staging / "pages.pdf"
    jobs = [
        PageJob(base, i + 1, job.page_dpis[i], job.config.ocr.language, *_image_source(job, i))
        for i in todo
    ]
    if any(page.image_file is None for page in jobs):
        job.loaded.pdf.save(base)  # poppler renders those pages from it
    if job.options.page_reader is not None:
        results = job.options.page_reader(jobs)
    else:
        results = ocr_pages(jobs, job.config.ocr.workers or available_cpus(),
                            memory_limit_mb=job.config.limits.memory_limit_mb)
    job.ocr = dict(zip(todo, results))
    confidences = [r.mean_confidence for r in results if r.mean_confidence is not None]
    job.event(
        Step.OCR,
        engine=results[0].engine,
        pages=[i + 1 for i in todo],
        mean_confidence=round(sum(confidences) / len(confidences), 1) if confidences else None,
    )


def _image_source(job: Job, index: int) -> tuple[Path | None, int]:
    """The scan itself when the page is nothing but the scan, upright: an image file's
    frame, or a PDF page's JPEG written out as it is. OCR reads it directly instead of
    rasterising the page again (the same pixels, less work)."""
    page = job.loaded.pdf.pages[index]
    if job.format != "pdf":
        return (None, 0) if page_geometry(page).rotate else (job.original_copy, index)
    jpeg = full_page_jpeg(page)
    if jpeg is None:
        return None, 0
    path = job.staging / f"page-{index + 1}.jpg"
    path.write_bytes(jpeg)
    return path, 0


def read_document_header(job: Job) -> None:
    """Read number, date, type, summary, bodies, signer ... from the OCR'd words (or the
    words of an existing text layer) where Nghị định 30 puts them."""
    pages = []
    for index, dpi in enumerate(job.page_dpis):
        if index in job.ocr:
            pages.append(job.ocr[index])
        elif job.format == "pdf":
            pages.append(text_layer_page(job.original_copy, index + 1, dpi))
        else:
            pages.append(None)
    job.header = read_header(pages, job.document_types)
    review = job.header.needing_review(job.config.records.review_threshold)
    job.event(Step.HEADER, fields=sorted(job.header.fields), review=review)


def write_archival_pdf(job: Job) -> None:
    """Lay the text under the images, write PDF/A-2u, validate it; a failure stops here."""
    add_text_layers(job.loaded.pdf, job.ocr)
    job.pdfa_path = job.staging / "document.pdf"
    # Dublin Core where a header field fits, the rest in the `vanban` XMP schema
    defaults = job.options.metadata_defaults
    found = _with_level({**defaults, **_header_metadata(job)}, defaults)
    info = DocumentInfo(
        title=found.get("summary") or _source_name(job),
        source_name=_source_name(job),
        created=clock.now().replace(microsecond=0),
        creator_tool=f"sohoa {__version__}",
        language=job.config.language,
        identifier=found.get("number"),
        date=found.get("issue_date"),
        creator=found.get("issuing_body"),
        doc_type=found.get("doc_type"),
        custom=xmp_schema(found, job.config.records),
    )
    job.pdfa_report = write_pdfa(job.loaded.pdf, info, job.pdfa_path)
    job.page_texts = _page_texts(job)
    job.event(Step.PDFA, flavour="PDF/A-2u", validator=job.pdfa_report.validator, passed=True)


def sign_archival_pdf(job: Job) -> None:
    """The agency's PAdES signature as an incremental update of the validated PDF/A; the
    signed file is checked as PDF/A again, and it is what gets archived and hashed."""
    enabled = job.config.signing.enabled if job.options.sign is None else job.options.sign
    if not enabled:
        job.event(Step.SIGNED, "skipped", reason="ký số đã tắt (cấu hình hoặc hồ sơ)")
        return
    signed_path = job.staging / "document-signed.pdf"
    if job.options.signer is not None:
        result = sign_file(job.options.signer, job.pdfa_path, signed_path)
    else:
        with open_agency_signer(job.config.signing, job.config.verify.trust_roots) as signer:
            result = sign_file(signer, job.pdfa_path, signed_path)
    job.pdfa_path = signed_path
    job.pdfa_report = result.pdfa
    job.signature = result.as_detail()
    job.event(Step.SIGNED, **job.signature)


def keep_signed_original(job: Job) -> None:
    """A PDF that arrives signed (born digital, from another agency) is archived byte for
    byte: any rewrite would break its signatures. They are verified and the verdict kept
    in the audit trail; its text (pages without any were OCR'd) goes to the index."""
    job.pdfa_path = job.staging / "document.pdf"
    shutil.copyfile(job.original_copy, job.pdfa_path)
    data = job.pdfa_path.read_bytes()
    job.pdfa_report = check_signed_pdfa(data)
    job.archival_flavour = "PDF/A" if job.pdfa_report.passed else "PDF (bản gốc đã ký, giữ nguyên)"
    job.event(Step.PDFA, "skipped", reason="PDF đã được ký: lưu nguyên từng byte, không chuyển đổi",
              is_pdfa=job.pdfa_report.passed)
    job.page_texts = _page_texts(job)
    roots = tuple(load_trust_roots(job.config.verify.trust_roots))
    verdict = verify_pdf(data, VerifyPolicy(roots, online=False))
    job.input_signature = received_signature_verdict(verdict)
    job.signature = {
        "received_signed": True,
        "ok": verdict.ok,
        "level": verdict.level,
        "input_signature": job.input_signature,
        "problems": list(verdict.problems),
        "signatures": [check.as_dict() for check in verdict.signatures],
    }
    job.event(Step.SIGNATURE_VERIFIED, "ok" if verdict.ok else "failed", **job.signature)


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
    found = _found_metadata(job)
    defaults = job.options.metadata_defaults
    return _with_level({**defaults, **{k: v for k, v in found.items() if v is not None or k not in defaults}},
                       defaults)


def _with_level(metadata: dict, defaults: dict) -> dict:
    """The stronger of the page's stamp and the level given beforehand (a profile's
    `confidentiality`, `ingest --confidentiality`): a profile never lowers a stamp, and a
    stamp the reader missed does not lower the profile's level."""
    given = defaults.get("confidentiality")
    if Level.of_mark(given) > Level.of_mark(metadata.get("confidentiality")):
        return {**metadata, "confidentiality": given}
    return metadata


def _found_metadata(job: Job) -> dict:
    return {
        "title": _source_name(job),
        # The header reader's number (its `Số:` row, else a `Số:` line above the body): the
        # one reader, whose number the PDF/A's XMP holds too. Null when it found none.
        "number": None,
        "language": job.config.language,
        "agency": job.config.agency_name,
        "page_count": len(job.page_dpis),
        # one page's source for all of them, or "mixed"
        "text_source": sources.pop() if len(sources := set(_text_sources(job))) == 1 else "mixed",
        # Blank sheets are kept (an archive keeps every sheet) and named here.
        "blank_pages": sorted(i + 1 for i, ocr in job.ocr.items() if ocr.blank),
        # number, issue_date, doc_type, summary, issuing_body ... with each field's detail
        **{k: v for k, v in _header_metadata(job).items() if k != "number" or v},
        **_input_changes(job),
        **_review_flags(job),
        **_signature_level(job),
    }


def _signature_level(job: Job) -> dict:
    """The agency's PAdES level, typed (what timestamp renewal selects on); absent when the
    pipeline did not sign (signing off, or a received signed original kept as it came)."""
    level = SignatureLevel.parse((job.signature or {}).get("level"))
    return {"signature_level": level.value} if level and not (job.signature or {}).get("received_signed") else {}


def _input_changes(job: Job) -> dict:
    """What the archive copy did with the input's forms, annotations, page extras and
    damage (ocr/normalise.py, ocr/damage.py): only what happened, absent otherwise."""
    found = {}
    if job.loaded is not None and job.loaded.normalised:
        found["input_changes"] = job.loaded.normalised
    if job.rasterised_pages:
        found["rasterised_pages"] = {str(n): why for n, why in sorted(job.rasterised_pages.items())}
    if job.loaded is not None and job.loaded.damage is not None:
        found["damaged"] = job.loaded.damage.as_detail()
    return found


def _review_flags(job: Job) -> dict:
    """Junk archived all the same (an archive loses nothing) but never silently: a scan whose
    every page is blank, a page too small to be a sheet of a document (a thumbnail), under
    `needs_review` with the reasons; `sohoa review` lists them, ingest and watch warn."""
    reasons = []
    blank = [i for i, ocr in job.ocr.items() if ocr.blank]
    if job.page_dpis and len(blank) == len(job.page_dpis):  # a blank back of a sheet is normal
        reasons.append("trang trắng" if len(blank) == 1 else f"cả {len(blank)} trang đều trắng")
    smallest = job.config.ingest.min_page_mm
    for index, page in enumerate(job.loaded.pdf.pages if job.loaded is not None and smallest else ()):
        width, height = (side / 72 * 25.4 for side in page_geometry(page).displayed_size)
        if min(width, height) < smallest:
            where = f"trang {index + 1}: " if len(job.page_dpis) > 1 else ""
            reasons.append(f"{where}ảnh quá nhỏ để là một trang văn bản ({width:.0f} × {height:.0f} mm)")
    return {"needs_review": reasons} if reasons else {}


def _header_metadata(job: Job) -> dict:
    if job.header is None:
        return {}
    return header_metadata(job.header, job.config.records.review_threshold)


def _text_sources(job: Job) -> list[str]:
    """Per page: "ocr" (no text before), "redone-ocr" (an old text layer, a scanner's OCR,
    replaced by ours; or a page with text rasterised: --force-ocr, unembedded fonts) or
    "kept" (visible text of a born-digital page)."""
    redone = job.redone_text_pages | {number - 1 for number in job.rasterised_pages}
    return ["kept" if i not in job.ocr else "redone-ocr" if i in redone else "ocr"
            for i in range(len(job.page_dpis))]


def _page_records(job: Job) -> list[PageRecord]:
    records = []
    for index, text in enumerate(job.page_texts):
        ocr = job.ocr.get(index)
        records.append(
            PageRecord(
                number=index + 1,
                text_source=_text_sources(job)[index],
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
    """Archive and catalogue the document as one unit, then hand it to the index.

    The catalog transaction is opened first (to number the document), the archive folder
    is written inside it, and the commit comes last. If anything fails, the transaction
    rolls back and the folder is removed again; if the process dies instead, the catalog
    has no row, and the folder no row points to is replaced when the file comes again.
    The committed document waits for the index until the index writer is free
    (pipeline/index_queue.py): a busy or failing index never fails it, nor has its OCR,
    PDF/A or signature done again.
    """
    pdfa_sha256 = sha256_file(job.pdfa_path)
    pdfa_size = job.pdfa_path.stat().st_size
    files = ArchiveStore.layout(job.original_sha256, job.original_copy.suffix)
    metadata = _metadata(job)
    pages = _page_records(job)
    stored = False
    try:
        with catalog.transaction() as db:
            document_id = Catalog.insert_document(db, {
                "received_at": job.events[0].at,
                "original_name": _source_name(job),
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
                "metadata_json": RecordMetadata.from_mapping(metadata).to_json(),
                # who may see it (the web's rule): the level of the mark the metadata holds
                "confidentiality": int(Level.of_mark(metadata.get("confidentiality"))),
            })
            # The Thông tư 05 record and the duplicate check need the document's number.
            metadata = complete_record(db, document_id, metadata, defaults=job.config.records,
                                       language=job.config.language, process_link=files.sidecar_file)
            if metadata.get("duplicate_of"):
                job.event(Step.DUPLICATE, "warning", of=metadata["duplicate_of"], number=metadata.get("number"))
            job.event(Step.ARCHIVED, directory=files.directory)
            sidecar = _sidecar(document_id, job, files, pdfa_sha256, pdfa_size, metadata, pages)
            archive.store(files, original=job.original_copy, pdfa=job.pdfa_path, sidecar=sidecar)
            stored = True
            Catalog.update_document(db, document_id, sidecar_sha256=hashlib.sha256(sidecar).hexdigest(),
                                    sidecar_size=len(sidecar))
            Catalog.insert_pages(db, document_id, pages)
            # No "indexed" event yet: the document waits for the index (index_queue).
            Catalog.insert_events(db, document_id, job.events)
            pause_point("before-commit")  # crash tests: archive folder written, no row yet
    except BaseException:
        if stored:
            archive.discard(files)
        raise
    index_pending = _hand_to_index(catalog, index, document_id)
    return ArchivedDocument(
        id=document_id,
        source=job.source,
        duplicate=False,
        pdfa_path=archive.path(files.pdfa_file),
        page_count=len(pages),
        original_sha256=job.original_sha256,
        pdfa_sha256=pdfa_sha256,
        metadata=metadata,
        input_signature=job.input_signature or received_signature_verdict(None),
        index_pending=index_pending,
    )


def _hand_to_index(catalog: Catalog, index: SearchIndex, document_id: int) -> bool:
    """Index what waits (this document and any other), if the writer is free within a
    moment; True when this document still waits. The document is archived either way."""
    try:
        return document_id in index_queue.drain(catalog, index).waiting
    except Exception:  # the record is committed: whatever fails here, it only waits
        log.warning("document %d archived; its index entry waits", document_id, exc_info=True)
        return True


def _sidecar(document_id: int, job: Job, files: ArchivedFiles, pdfa_sha256: str, pdfa_size: int,
             metadata: dict, pages: list[PageRecord]) -> bytes:
    """The record's description kept beside its files, readable without sohoa."""
    sidecar = {
        "id": document_id,
        "original": {
            "name": _source_name(job),
            "file": Path(files.original_file).name,
            "format": job.format,
            "size": job.original_size,
            "sha256": job.original_sha256,
        },
        "pdfa": {
            "file": Path(files.pdfa_file).name,
            "flavour": job.archival_flavour,
            "size": pdfa_size,
            "sha256": pdfa_sha256,
            "validator": job.pdfa_report.validator,
        },
        "signature": job.signature,
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
    clean_stale_staging(home.staging_dir)  # what a killed run left
    with tempfile.TemporaryDirectory(prefix=staging_prefix(), dir=home.staging_dir) as staging:
        job = Job(source=source, staging=Path(staging), home=home, config=config, options=options,
                  document_types=document_types(catalog.alias))
        receive(job)
        pause_point("received")  # crash tests: the copy staged, nothing else done
        existing = catalog.find_by_original_sha256(job.original_sha256)
        if existing is not None:
            return _already_archived(existing, job, catalog, archive)
        load_pages(job)
        recognise_text(job)
        pause_point("text-recognised")  # crash tests: every page read, nothing written
        read_document_header(job)
        if job.format == "pdf" and has_signatures(job.original_copy):
            keep_signed_original(job)
        else:
            write_archival_pdf(job)
            sign_archival_pdf(job)
        return record(job, catalog, archive, index)


def _already_archived(document_id: int, job: Job, catalog: Catalog, archive: ArchiveStore) -> ArchivedDocument:
    row = catalog.get(document_id)
    verified = [e.detail for e in catalog.events(document_id) if e.step == Step.SIGNATURE_VERIFIED and e.detail]
    return ArchivedDocument(
        id=row.id,
        source=job.source,
        duplicate=True,
        pdfa_path=archive.path(row.pdfa_file),
        page_count=row.page_count,
        original_sha256=row.original_sha256,
        pdfa_sha256=row.pdfa_sha256,
        metadata=row.metadata,
        input_signature=verified[-1].get("input_signature") if verified else received_signature_verdict(None),
    )
