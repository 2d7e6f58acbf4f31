"""A signed PDF/A must still be PDF/A: the check run on every signed file before it is kept.

The same validator as ocr.pdfa (pikepdf.pdfa, PDF/A-2 rules) with the same tolerance for
the level-U declaration it does not know. pikepdf.pdfa does not check interactive forms
and reports the signature's /AcroForm and widget as "unsupported"; the PDF/A-2 rules that
apply to them are checked here instead (ISO 19005-2 6.3.2, 6.3.3, 6.4.1, 6.4.2, 6.4.3),
with the Unicode mapping of the appearance's font (level U) and the agreement of the Info
dictionary with the XMP metadata.
"""

from __future__ import annotations

import datetime as dt
import io

import pikepdf
import pikepdf.pdfa
from pikepdf import Name
from pikepdf.models.metadata import decode_pdf_date

from core.pdf.jpx import jpx_findings, without_checked_jpx
from core.pdf.streams import stream_findings
from core.pdf.conformance import PdfaReport, unicode_mapping_findings
from signing.byte_range import byte_range_problem, revision_ends
from core.pdf.xmp import extension_schema_findings, without_declared_extensions

VALIDATOR = (
    f"pikepdf.pdfa {pikepdf.__version__} (PDF/A-2 rules) + ToUnicode check (level U)"
    " + signature form check (ISO 19005-2 6.3-6.4)"
)
_ALLOWED_SUBFILTERS = {"/adbe.pkcs7.detached", "/ETSI.CAdES.detached", "/ETSI.RFC3161"}
_HIDDEN_FLAGS = 1 | 2 | 32 | 256  # Invisible, Hidden, NoView, ToggleNoView
_PRINT_FLAG = 4


def _is_level_u_declaration(finding) -> bool:
    # As in ocr.pdfa: pikepdf knows level B only and objects to the U we declare.
    return finding.rule == "ISO_19005_2:6.6.4-3" and "conformance is 'U'" in finding.message


def _is_unchecked_form(finding) -> bool:
    # Forms, widgets and the DSS (PAdES validation data, ISO 32000-2) are outside what
    # pikepdf checks; signature_form_findings and dss_findings do it.
    text = f"{finding.where} {finding.message}"
    return finding.kind == "unsupported" and any(key in text for key in ("/AcroForm", "Widget", "/DSS"))


def check_signed_pdfa(data: bytes) -> PdfaReport:
    """Validate the signed file's bytes; the report's findings are empty when it passes.

    Also run on PDFs that arrive signed (anything at all): a check that cannot be made is
    a finding, never an exception."""
    findings = []
    try:
        report = pikepdf.pdfa.validate_written(io.BytesIO(data), "2b")
        findings = [
            str(f) for f in report.findings if not _is_level_u_declaration(f) and not _is_unchecked_form(f)
        ]
        with pikepdf.open(io.BytesIO(data)) as pdf:
            # as in ocr.pdfa: the PDF/A extension schemas pikepdf does not know (header fields)
            findings = without_declared_extensions(findings, pdf) + extension_schema_findings(pdf)
            findings = without_checked_jpx(findings) + jpx_findings(pdf)  # as in ocr.pdfa (core/pdf/jpx.py)
            for check in (unicode_mapping_findings, lambda p: signature_form_findings(p, len(data)),
                          lambda p: byte_range_findings(p, data), dss_findings, metadata_agreement_findings):
                try:
                    findings += check(pdf)
                except Exception as error:  # a received file's odd values: not PDF/A, said so
                    findings.append(f"không kiểm tra được ({type(error).__name__}: {error})")
    except Exception as error:
        findings.append(f"không đọc được tệp để kiểm tra PDF/A ({type(error).__name__}: {error})")
    findings += stream_findings(data)  # ISO 19005-2 6.1.7.1, which pikepdf.pdfa does not see
    return PdfaReport("2u", VALIDATOR, not findings, tuple(findings))


def _fonts_of_appearance(stream, depth: int = 0) -> list[tuple[str, pikepdf.Object]]:
    resources = stream.get(Name.Resources)
    if not isinstance(resources, pikepdf.Dictionary) or depth > 8:
        return []
    found = [(str(name), font) for name, font in resources.get(Name.Font, {}).items()]
    for xobject in resources.get(Name.XObject, {}).values():
        if xobject.get(Name.Subtype) == Name.Form:
            found += _fonts_of_appearance(xobject, depth + 1)
    return found


def signature_form_findings(pdf: pikepdf.Pdf, file_size: int) -> list[str]:
    findings = []
    form = pdf.Root.get(Name.AcroForm)
    if form is not None:
        if bool(form.get(Name.NeedAppearances, False)):
            findings.append("AcroForm: NeedAppearances = true (ISO 19005-2 6.4.1)")
        if Name.XFA in form:
            findings.append("AcroForm: có XFA (ISO 19005-2 6.4.2)")
    last_range_end = None
    for number, page in enumerate(pdf.pages, start=1):
        for annot in page.obj.get(Name.Annots, []):
            if annot.get(Name.Subtype) != Name.Widget:
                continue
            where = f"trang {number}, ô {annot.get(Name.T, '')}"
            flags = int(annot.get(Name.F, 0))
            if not flags & _PRINT_FLAG or flags & _HIDDEN_FLAGS:
                findings.append(f"{where}: cờ /F {flags} (cần Print, không Hidden/NoView; ISO 19005-2 6.3.2)")
            if Name.A in annot or Name.AA in annot:
                findings.append(f"{where}: có hành động /A hoặc /AA (ISO 19005-2 6.4.1)")
            rect = [float(v) for v in annot.get(Name.Rect, [0, 0, 0, 0])]
            zero_size = rect[0] == rect[2] or rect[1] == rect[3]
            appearance = annot.get(Name.AP)
            if appearance is None and not zero_size:
                findings.append(f"{where}: thiếu dáng hiển thị /AP (ISO 19005-2 6.3.3)")
            elif appearance is not None:
                if set(appearance.keys()) != {"/N"}:
                    findings.append(f"{where}: /AP phải chỉ có /N (ISO 19005-2 6.3.3)")
                normal = appearance.get(Name.N)
                if isinstance(normal, pikepdf.Stream):
                    for name, font in _fonts_of_appearance(normal):
                        if Name.ToUnicode not in font:
                            findings.append(f"{where}: phông {name} không có ToUnicode")
            signature = annot.get(Name.V)
            if signature is None and Name.Parent in annot:
                signature = annot.Parent.get(Name.V)
            if signature is None:
                continue
            subfilter = str(signature.get(Name.SubFilter, ""))
            if subfilter not in _ALLOWED_SUBFILTERS:
                findings.append(f"{where}: SubFilter {subfilter or '(không có)'} (ISO 19005-2 6.4.3)")
            byte_range = list(signature.get(Name.ByteRange, []))
            if len(byte_range) != 4 or byte_range[0] != 0 or not all(type(v) is int for v in byte_range):
                findings.append(f"{where}: ByteRange không hợp lệ (ISO 19005-2 6.4.3)")
            else:
                last_range_end = max(last_range_end or 0, byte_range[2] + byte_range[3])
    if last_range_end is not None and last_range_end > file_size:
        findings.append("chữ ký trỏ ra ngoài tệp (ByteRange)")
    return findings


def byte_range_findings(pdf: pikepdf.Pdf, data: bytes) -> list[str]:
    """ISO 19005-2 6.4.3: a signature's ByteRange covers the file as signed, all but the
    /Contents hex string. "The file" is the revision the signature closes (later
    revisions may only add validation data and timestamps, as PAdES-LT/LTA do; veraPDF
    and the PDF Association read it so). Checked here for every signature, whatever
    shape its ByteRange has (signing/byte_range.py)."""
    findings = []
    ends = revision_ends(data)
    form = pdf.Root.get(Name.AcroForm)
    for field in form.get(Name.Fields, []) if form is not None else []:
        signature = field.get(Name.V)
        if not isinstance(signature, pikepdf.Dictionary) or Name.ByteRange not in signature:
            continue
        problem = byte_range_problem(signature.ByteRange, data, ends)
        if problem:
            findings.append(f"chữ ký {field.get(Name.T, '')}: {problem} (ISO 19005-2 6.4.3)")
    return findings


def dss_findings(pdf: pikepdf.Pdf) -> list[str]:
    """The DSS holds certificates, OCSP responses and CRLs as plain streams: PDF/A forbids
    external streams (6.1.7) and LZW (6.1.7.2) there as everywhere."""
    dss = pdf.Root.get(Name.DSS)
    if dss is None:
        return []
    streams = []
    for key in (Name.Certs, Name.OCSPs, Name.CRLs):
        streams += list(dss.get(key, []))
    for vri in dss.get(Name.VRI, {}).values():
        for key in (Name.Cert, Name.OCSP, Name.CRL):
            streams += list(vri.get(key, []))
    findings = []
    for stream in streams:
        if not isinstance(stream, pikepdf.Stream):
            findings.append("DSS: mục không phải là stream")
            continue
        if any(key in stream for key in (Name.F, Name.FFilter, Name.FDecodeParms)):
            findings.append("DSS: stream tham chiếu tệp ngoài (ISO 19005-2 6.1.7)")
        filters = stream.get(Name.Filter)
        names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)]
        if "/LZWDecode" in names or "/Crypt" in names:
            findings.append("DSS: stream nén LZW hoặc mã hóa (ISO 19005-2 6.1.7.2)")
    return findings


def metadata_agreement_findings(pdf: pikepdf.Pdf) -> list[str]:
    """Info entries that are present must say what the XMP says (Producer, dates)."""
    findings = []
    meta = pdf.open_metadata()
    info = pdf.docinfo
    producer = info.get(Name.Producer)
    if producer is not None and str(producer) != meta.get("pdf:Producer", ""):
        findings.append(f"Info /Producer «{producer}» khác XMP pdf:Producer «{meta.get('pdf:Producer', '')}»")
    for key, xmp_key in ((Name.ModDate, "xmp:ModifyDate"), (Name.CreationDate, "xmp:CreateDate")):
        if key in info and xmp_key in meta:
            try:
                same = decode_pdf_date(str(info[key])) == dt.datetime.fromisoformat(meta[xmp_key])
            except ValueError:
                same = False
            if not same:
                findings.append(f"Info {key} «{info[key]}» khác XMP {xmp_key} «{meta[xmp_key]}»")
    return findings
