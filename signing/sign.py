"""Sign an archival PDF/A: a PAdES approval signature in an incremental update.

Levels (ETSI EN 319 142-1): B-B is the signature alone; B-T adds an RFC 3161 timestamp on
it; B-LT also embeds the certificates and revocation data (OCSP, CRL) needed to validate
it later, and refuses to sign when any is missing (pyHanko would otherwise sign without
them); B-LTA closes with a document timestamp, which `sohoa timestamp renew` extends.

Approval signatures only: a certification signature would make Acrobat reject the
document timestamps that keep the record verifiable for decades.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator import ValidationContext

from core import patches
from core.clock import in_vietnam, now_text
from core.pdf.conformance import PdfaReport
from signing.appearance import appearance_font, missing_characters, place_block, stamp_style
from signing.errors import (
    IdentityUnavailable,
    PinRejected,
    RevocationDataMissing,
    SignedPdfaInvalid,
    SigningConfigError,
    SigningError,
    TimestampUnavailable,
)
from signing.identity import AgencyIdentity, open_identity
from signing.pdfa import check_signed_pdfa
from signing.pin_pause import LoginGuard
from signing.secrets import secret_source
from core.signing_settings import Pkcs11Identity, SigningSettings

FIELD_NAME = "ChuKySoCoQuan"  # the agency's signature field
TIMESTAMP_TIMEOUT = 20  # seconds; a TSA on the other side of the country can be slow


@dataclass(frozen=True)
class SignedDocument:
    """What was signed, for the audit trail and the sidecar."""

    level: str
    signed_at: str  # ISO 8601 with +07:00, the time shown on the page
    signer: str  # the certificate's subject
    identity: str  # where the key is (file or token), never the PIN
    subfilter: str
    field: str
    visible: bool
    pdfa: PdfaReport

    def as_detail(self) -> dict:
        return {
            "level": f"PAdES {self.level}",
            "signed_at": self.signed_at,
            "signer": self.signer,
            "identity": self.identity,
            "subfilter": self.subfilter,
            "field": self.field,
            "appearance": "visible" if self.visible else "invisible",
            "validator": self.pdfa.validator,
        }


def load_trust_roots(paths) -> list[asn1_x509.Certificate]:
    try:
        return list(load_certs_from_pemder([str(p) for p in paths]))
    except (OSError, ValueError) as error:
        raise SigningConfigError(f"không đọc được chứng thư gốc tin cậy ({error})") from None


class AgencySigner:
    """Signs PDF/A bytes with one open identity and one configuration, many times."""

    def __init__(self, identity: AgencyIdentity, settings: SigningSettings, trust_roots=()):
        # pyHanko's writers as PDF/A needs them (core/patches.py, applied at start)
        patches.require("pyhanko_xmp_structures_as_resources", "pyhanko_unambiguous_stream_ends")
        self.identity = identity
        self.settings = settings
        self.trust_roots = list(trust_roots)
        self.font = appearance_font(settings.font_dir) if settings.visible else None
        if self.font is not None:
            missing = missing_characters(settings.agency_name, self.font)
            if missing:
                raise SigningConfigError(f"tên cơ quan có ký tự phông chữ ký không có: {missing!r}")
        self.style = stamp_style(self.font) if self.font is not None else None
        self.timestamper = (
            HTTPTimeStamper(settings.timestamp_url, timeout=TIMESTAMP_TIMEOUT) if settings.needs_timestamp else None
        )

    def _validation_context(self) -> ValidationContext | None:
        if not self.settings.embeds_validation_data:
            return None
        # 'require': every certificate of the chain must have revocation data, or no signature.
        return ValidationContext(trust_roots=self.trust_roots, allow_fetching=True, revocation_mode="require")

    def sign(self, data: bytes) -> tuple[bytes, SignedDocument]:
        """Return the signed file (the input plus an incremental update) and its description.

        Raises a SigningError subclass; SignedPdfaInvalid when the result is not PDF/A.
        """
        keep_declared_xmp_prefixes(data)
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        _align_info_with_xmp(writer)
        settings = self.settings
        style = self.style
        if settings.visible:
            # In page 1's emptiest corner, upright as displayed (signing/appearance.py).
            box, style = place_block(data, settings.agency_name, self.font, self.style)
            spec = fields.SigFieldSpec(FIELD_NAME, on_page=0, box=box)
        else:
            spec = fields.SigFieldSpec(FIELD_NAME, on_page=0)  # no box: an invisible signature
        metadata = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            embed_validation_info=settings.embeds_validation_data,
            use_pades_lta=settings.level == "B-LTA",
            validation_context=self._validation_context(),
        )
        pdf_signer = signers.PdfSigner(
            metadata, self.identity.signer, timestamper=self.timestamper,
            stamp_style=style, new_field_spec=spec,
        )
        output = io.BytesIO()
        try:
            pdf_signer.sign_pdf(writer, output=output, appearance_text_params={"agency": settings.agency_name})
        except Exception as error:
            raise _signing_error(error, settings) from error
        signed = output.getvalue()
        report = check_signed_pdfa(signed)
        if not report.passed:
            raise SignedPdfaInvalid(f"bản đã ký không còn là PDF/A hợp lệ ({report.findings[0]})")
        return signed, SignedDocument(
            level=settings.level,
            signed_at=_signing_time(signed),
            signer=self.identity.subject,
            identity=self.identity.description,
            subfilter="ETSI.CAdES.detached",
            field=FIELD_NAME,
            visible=settings.visible,
            pdfa=report,
        )


def _align_info_with_xmp(writer: IncrementalPdfFileWriter) -> None:
    """pyHanko writes its name as the XMP producer but appends it to the Info producer, and
    stamps the Info and XMP modification dates with two separate clock readings. PDF/A
    wants the two to agree: the Info producer becomes pyHanko's, as in the XMP, and the
    optional Info /ModDate is dropped (the XMP keeps xmp:ModifyDate), in this update and
    every later one pyHanko makes."""
    try:
        info_ref = writer.trailer.raw_get("/Info")
    except KeyError:
        return
    info = info_ref.get_object()
    if "/ModDate" in info:
        del info["/ModDate"]
    info["/Producer"] = generic.TextStringObject(VENDOR)
    if isinstance(info_ref, generic.IndirectObject):
        writer.mark_update(info_ref)


def _signing_time(signed: bytes) -> str:
    reader = PdfFileReader(io.BytesIO(signed))
    ours = [s for s in reader.embedded_regular_signatures if s.field_name == FIELD_NAME]
    when = ours[-1].self_reported_timestamp if ours else None
    return in_vietnam(when) if when else now_text()


def _signing_error(error: Exception, settings: SigningSettings) -> SigningError:
    """One line for the clerk: which part failed and why, told by the type of the error
    pyHanko raised or of the one behind it (a pyHanko SigningError wraps the certificate
    validator's, a TimestampRequestError the network's)."""
    import aiohttp
    from pkcs11.exceptions import PKCS11Error
    from pyhanko.sign.timestamps import TimestampRequestError
    from pyhanko_certvalidator.errors import (
        CRLValidationError, InsufficientRevinfoError, OCSPValidationError, PathError, RevokedError, ValidationError,
    )

    if isinstance(error, SigningError):
        return error
    refusal = _pin_refusal_among_causes(error, settings)
    if refusal is not None:  # a token that asks for the PIN again at each signature
        return refusal
    level = settings.level
    for cause in _causes(error):
        text = f"{type(cause).__name__}: {cause}"
        if isinstance(cause, (TimestampRequestError, aiohttp.ClientError)):
            return TimestampUnavailable(f"không lấy được dấu thời gian từ {settings.timestamp_url} ({text})")
        if isinstance(cause, RevokedError):
            return RevocationDataMissing(f"chứng thư ký đã bị thu hồi, không ký ở mức {level} ({text})")
        if isinstance(cause, (InsufficientRevinfoError, CRLValidationError, OCSPValidationError)):
            return RevocationDataMissing(f"thiếu dữ liệu thu hồi cho mức {level}, không ký ({text})")
        if isinstance(cause, (PathError, ValidationError)):
            return RevocationDataMissing(
                f"không kiểm tra được chứng thư ký cho mức {level} (gốc tin cậy, thu hồi), không ký ({text})"
            )
        if isinstance(cause, PKCS11Error):
            return IdentityUnavailable(f"token ký không trả lời ({text})")
    return SigningError(f"không ký được ({type(error).__name__}: {error})")


def _causes(error: BaseException | None) -> Iterator[BaseException]:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _pin_refusal_among_causes(error: BaseException, settings: SigningSettings) -> PinRejected | None:
    if not isinstance(settings.identity, Pkcs11Identity):
        return None
    from signing.identity import pin_refusal, pin_refusal_types

    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, pin_refusal_types()):
            return pin_refusal(error, f"token «{settings.identity.token_label}»", secret_source(settings.pin_file))
        error = error.__cause__ or error.__context__
    return None


def sign_file(signer: AgencySigner, source: Path, destination: Path) -> SignedDocument:
    """Sign source into destination (written whole, then renamed into place)."""
    signed, result = signer.sign(source.read_bytes())
    tmp = destination.with_name(f".{destination.name}.signing")
    tmp.write_bytes(signed)
    tmp.replace(destination)
    return result


@contextmanager
def open_agency_signer(signing: SigningSettings, trust_root_files=(),
                       guard: LoginGuard | None = None) -> Iterator[AgencySigner]:
    """The configured identity, opened once (PIN entered, key loaded) for many documents;
    the token login under the guard when one is given (signing.pin_pause)."""
    roots = load_trust_roots(trust_root_files) if signing.embeds_validation_data and trust_root_files else []
    identity = open_identity(signing, guard)
    try:
        yield AgencySigner(identity, signing, roots)
    finally:
        identity.close()


def keep_declared_xmp_prefixes(data: bytes) -> None:
    """pyHanko re-serialises the XMP packet when it signs or timestamps; a namespace lxml
    does not know gets a made-up prefix (`ns1`), while PDF/A wants the prefix the packet's
    extension schema declares (core/pdf/xmp.py). Register the declared prefixes first, in every
    process that writes (ingest, `timestamp renew`)."""
    from lxml import etree

    from core.pdf.xmp import PDFA_EXTENSION, PDFA_SCHEMA

    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            metadata = pdf.Root.get("/Metadata")
            packet = metadata.read_bytes() if isinstance(metadata, pikepdf.Stream) else None
        root = etree.fromstring(packet) if packet else None
    except (pikepdf.PdfError, etree.XMLSyntaxError):
        return  # signing itself reports a damaged file
    if root is None:
        return
    for schemas in root.iter(f"{{{PDFA_EXTENSION}}}schemas"):
        for entry in schemas.iter():
            prefix = _xmp_field(entry, PDFA_SCHEMA, "prefix")
            namespace = _xmp_field(entry, PDFA_SCHEMA, "namespaceURI")
            if prefix and namespace:
                etree.register_namespace(prefix, namespace)


def _xmp_field(node, namespace: str, name: str) -> str | None:
    """A field written as a child element (text, or rdf:resource for a URI) or, by
    pyHanko, as an attribute."""
    value = node.get(f"{{{namespace}}}{name}")
    if value is None:
        child = node.find(f"{{{namespace}}}{name}")
        if child is not None:
            value = child.text or child.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}resource")
    return value.strip() if value else None
