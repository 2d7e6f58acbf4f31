"""Renew the archival timestamp chain of a B-LTA document (PAdES-LTA).

A document timestamp proves the file existed unchanged at its time, but only as long as
its TSA certificate can be validated. Before that certificate expires, a new document
timestamp is added over everything, after the validation data of the previous one (its
chain and revocation data go into the DSS): the chain of timestamps then carries the proof
forward, for decades. Like signing, it is an incremental update and the file stays PDF/A.
"""

from __future__ import annotations

import io

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

from core import patches
from signing.errors import SignedPdfaInvalid, SigningError, TimestampUnavailable
from signing.pdfa import check_signed_pdfa
from signing.sign import TIMESTAMP_TIMEOUT, _align_info_with_xmp, keep_declared_xmp_prefixes

TIMESTAMP_FIELD = "DauThoiGianLuuTru"  # field name prefix of renewal timestamps


def add_archival_timestamp(data: bytes, timestamp_url: str, trust_roots: list[asn1_x509.Certificate]) -> bytes:
    """The file with the previous timestamp's validation data and a fresh document
    timestamp appended. Raises TimestampUnavailable, SigningError or SignedPdfaInvalid."""
    patches.require("pyhanko_xmp_structures_as_resources", "pyhanko_unambiguous_stream_ends")
    keep_declared_xmp_prefixes(data)
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    context = ValidationContext(trust_roots=trust_roots, allow_fetching=True, revocation_mode="require")
    output = io.BytesIO(data)
    output.seek(0, io.SEEK_END)
    writer = IncrementalPdfFileWriter(output)
    _align_info_with_xmp(writer)
    md_algorithm = "sha256"
    previous = reader.embedded_timestamp_signatures
    try:
        if previous:
            status = validate_pdf_timestamp(previous[-1], validation_context=context)
            if not (status.intact and status.valid and status.trusted):
                raise SigningError("dấu thời gian tài liệu hiện có không hợp lệ: không gia hạn trên nó")
            md_algorithm = status.md_algorithm
            DocumentSecurityStore.supply_dss_in_writer(
                writer, previous[-1].pkcs7_content, paths=(status.validation_path,), validation_context=context,
            )
        number = len(previous) + 1
        stamper = signers.PdfTimeStamper(
            HTTPTimeStamper(timestamp_url, timeout=TIMESTAMP_TIMEOUT), field_name=f"{TIMESTAMP_FIELD}{number}"
        )
        stamper.timestamp_pdf(writer, md_algorithm, validation_context=context, in_place=True)
    except SigningError:
        raise
    except Exception as error:
        raise TimestampUnavailable(f"không thêm được dấu thời gian từ {timestamp_url} ({type(error).__name__}: {error})") from error
    renewed = output.getvalue()
    report = check_signed_pdfa(renewed)
    if not report.passed:
        raise SignedPdfaInvalid(f"bản gia hạn không còn là PDF/A hợp lệ ({report.findings[0]})")
    return renewed
