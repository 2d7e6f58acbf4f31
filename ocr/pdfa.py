"""PDF/A-2u writing: the scan pages, an invisible text layer, metadata, validation.

pikepdf.pdfa prepares the file (sRGB output intent, PDF/A-compatible XMP) and validates
the bytes it wrote against the PDF/A-2 rules; it knows the B level only, so the U level's
extra demand — every glyph maps to Unicode — is checked here on the fonts themselves.
A file that fails is an error: nothing unvalidated reaches the archive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pikepdf.pdfa
from pikepdf import Name

from core.errors import SohoaError
from core.pdf.jpx import jpx_findings, without_checked_jpx
from core.pdf.streams import file_stream_findings, settle_stream_ends
from core.pdf.pages import page_geometry
from core.ocr_results import OcrPage
from core.pdf.conformance import PdfaReport, unicode_mapping_findings
from ocr.textlayer import FONT_RESOURCE_NAME, add_glyphless_font, displayed_to_user_space, text_layer_content
from core.pdf.xmp import XmpCustomSchema, add_custom_schema, extension_schema_findings, without_declared_extensions

PDFA_PART = "2"
PDFA_CONFORMANCE = "U"


@dataclass(frozen=True)
class DocumentInfo:
    """What the PDF's XMP (Dublin Core) and Info dictionary say about the record."""

    title: str
    source_name: str  # the original file's name
    created: dt.datetime
    creator_tool: str
    language: str = "vi"
    identifier: str | None = None  # the document's number and symbol, when known
    description: str | None = None
    date: str | None = None  # dc:date: the document's issue date, ISO 8601
    creator: str | None = None  # dc:creator: the issuing body
    doc_type: str | None = None  # dc:type: "Quyết định", "Công văn" ...
    custom: XmpCustomSchema | None = None  # the rest, declared by a PDF/A extension schema


class PdfaInvalid(SohoaError):
    """The written file is not valid PDF/A-2u; it must not be archived."""

    code = "pdfa-invalid"

    def __init__(self, report: PdfaReport):
        first = report.findings[0] if report.findings else "không rõ"
        # What sohoa wrote failed its own check: sohoa's shortcoming, not the clerk's file.
        super().__init__(f"sohoa chưa tạo được bản PDF/A hợp lệ từ tệp này ({len(report.findings)} lỗi, ví dụ: "
                         f"{first}); tệp gốc không có lỗi cần sửa: hãy gửi tệp cho người quản trị hệ thống")
        self.report = report

    def __reduce__(self):  # rebuilt from its report when it crosses between the service's processes
        return type(self), (self.report,)


def add_text_layers(pdf: pikepdf.Pdf, layers: Mapping[int, OcrPage]) -> None:
    """Draw each OCR result invisibly over its page (0-based page index -> OcrPage)."""
    if not layers:
        return
    font = add_glyphless_font(pdf)
    for index, ocr in layers.items():
        page = pdf.pages[index]
        if ocr.rotation:
            # Set upright by the page's rotation: the scan itself is not touched.
            page.obj.Rotate = (page_geometry(page).rotate + ocr.rotation) % 360
        if not ocr.lines:
            continue
        geometry = page_geometry(page)
        content = text_layer_content(
            ocr, geometry.displayed_size, displayed_to_user_space(geometry.box, geometry.rotate)
        )
        page.add_resource(font, Name.Font, Name(FONT_RESOURCE_NAME), replace_existing=True)
        # Isolate the scan's own drawing so its graphics state cannot shift our text.
        page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
        page.contents_add(pdf.make_stream(b"\nQ\n" + content), prepend=False)


def _set_metadata(pdf: pikepdf.Pdf, info: DocumentInfo) -> None:
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=True) as meta:
        meta["dc:title"] = info.title
        meta["dc:language"] = [info.language]
        meta["dc:source"] = info.source_name
        meta["dc:format"] = "application/pdf"
        if info.identifier:
            meta["dc:identifier"] = info.identifier
        if info.description:
            meta["dc:description"] = info.description
        if info.date:
            meta["dc:date"] = [info.date]
        if info.creator:
            meta["dc:creator"] = [info.creator]
        if info.doc_type:
            meta["dc:type"] = [info.doc_type]
        meta["xmp:CreatorTool"] = info.creator_tool
        meta["pdf:Producer"] = info.creator_tool
        meta["xmp:CreateDate"] = info.created.isoformat()
        meta["xmp:ModifyDate"] = info.created.isoformat()
        meta["pdfaid:part"] = PDFA_PART
        meta["pdfaid:conformance"] = PDFA_CONFORMANCE
    if info.custom is not None:
        add_custom_schema(pdf, info.custom)
    pdf.Root.Lang = pikepdf.String(info.language)


def _is_level_u_declaration(finding: pikepdf.pdfa.Finding) -> bool:
    # pikepdf's validator knows level B only and so objects to the U we declare; level U
    # is B plus Unicode mappings, which unicode_mapping_findings checks instead.
    return finding.rule == "ISO_19005_2:6.6.4-3" and "conformance is 'U'" in finding.message


def write_pdfa(pdf: pikepdf.Pdf, info: DocumentInfo, out_path: Path) -> PdfaReport:
    """Save pdf as PDF/A-2u at out_path and validate the bytes written.

    Raises PdfaInvalid when the written file does not pass; the caller must discard it.
    """
    validator = f"pikepdf.pdfa {pikepdf.__version__} (PDF/A-2 rules) + ToUnicode check (level U)"
    pikepdf.pdfa.prepare(pdf, "2b", output_intent="sRGB")
    _set_metadata(pdf, info)  # after prepare(), which would declare level B
    # No object streams: their bytes are qpdf's to choose, and one in 256 would end with CR
    # before endstream (core/pdf/streams.py); every other stream's bytes are settled here.
    save_kwargs = pikepdf.pdfa.resolve_save_kwargs("2b", object_stream_mode=pikepdf.ObjectStreamMode.disable)
    settle_stream_ends(pdf)
    pdf.save(out_path, **save_kwargs)
    report = pikepdf.pdfa.validate_written(out_path, "2b", save_kwargs)
    findings = [str(f) for f in report.findings if not _is_level_u_declaration(f)]
    findings += file_stream_findings(out_path)  # what pikepdf.pdfa does not see (6.1.7.1)
    with pikepdf.open(out_path) as written:
        # pikepdf does not know PDF/A extension schemas; core/pdf/xmp.py checks ours
        findings = without_declared_extensions(findings, written) + extension_schema_findings(written)
        findings += unicode_mapping_findings(written)
        # pikepdf does not look into JPEG 2000 data (allowed in PDF/A-2); core/pdf/jpx.py does
        findings = without_checked_jpx(findings) + jpx_findings(written)
    result = PdfaReport("2u", validator, not findings, tuple(findings))
    if findings:
        raise PdfaInvalid(result)
    return result
