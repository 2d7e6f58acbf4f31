"""Verify the signatures of a PDF, as an archivist needs: one verdict, plain reasons.

For each signature: is it intact (the signed bytes hash to what was signed, the signature
value checks out); what does it cover (the whole file, or a revision followed only by
validation data and timestamps); does the signer's certificate chain reach a configured
trust root; was it revoked or expired at the time that counts; are its timestamps valid.
Both /adbe.pkcs7.detached and /ETSI.CAdES.detached are accepted; pyHanko does the checks.

Time that counts: a signature with an RFC 3161 timestamp is judged at the timestamp's
time (the timestamp proves it existed then), with the revocation data embedded in the
file's DSS; a signature without one is judged now. Revocation is read from the file only
(offline) unless `online` is asked for; a signature whose file holds no revocation data is
then reported as not checked for revocation, a warning, not a failure.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.crypt.api import AuthStatus
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    EmbeddedPdfSignature,
    SignatureCoverageLevel,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko_certvalidator import ValidationContext

from core.clock import in_vietnam
from core.errors import SohoaError
from signing.byte_range import byte_range_problem, revision_ends
from signing.identity import TEST_IDENTITY_MARK

ACCEPTED_SUBFILTERS = ("/adbe.pkcs7.detached", "/ETSI.CAdES.detached", "/ETSI.RFC3161")


@dataclass(frozen=True)
class VerifyPolicy:
    trust_roots: tuple[asn1_x509.Certificate, ...]
    online: bool = False


@dataclass(frozen=True)
class SignatureCheck:
    """The verdict on one signature or document timestamp."""

    field: str
    kind: str  # "signature" or "document-timestamp"
    subfilter: str
    signer: str
    time: str | None  # proven by a timestamp, else the signer's own claim; ISO 8601 +07:00
    time_proven: bool
    intact: bool
    coverage: str  # "whole-file", "revision+validation-data", "revision+signatures", "modified"
    trusted: bool  # the chain reached a trust root; never for the test identity
    revocation: str  # "good", "revoked", "not-checked", "no-service" (the cert names none), "unknown"
    timestamp_ok: bool | None  # the signature's own timestamp; None when it has none
    test_identity: bool
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    # "valid"; "untrusted" (unchanged, but the certificate or timestamp does not check
    # out); "modified" (the signed bytes, or the file after signing, were changed);
    # "invalid" (no signature value that checks, or a ByteRange that leaves bytes unsigned)
    state: str = "valid"

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {
            "field": self.field, "kind": self.kind, "subfilter": self.subfilter.lstrip("/"),
            "signer": self.signer, "time": self.time, "time_proven": self.time_proven, "intact": self.intact,
            "coverage": self.coverage, "trusted": self.trusted, "revocation": self.revocation,
            "timestamp_ok": self.timestamp_ok, "test_identity": self.test_identity, "ok": self.ok,
            "state": self.state, "problems": list(self.problems), "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class PdfVerification:
    signatures: tuple[SignatureCheck, ...]
    problems: tuple[str, ...] = ()  # about the file as a whole
    level: str | None = None  # PAdES level the file shows: B-B, B-T, B-LT, B-LTA

    @property
    def signed(self) -> bool:
        return any(s.kind == "signature" for s in self.signatures)

    @property
    def ok(self) -> bool:
        return not self.problems and all(s.ok for s in self.signatures)


def _vn(moment: dt.datetime | None) -> str | None:
    return in_vietnam(moment) if moment else None


def _tst_time(signed_data: cms.SignedData) -> dt.datetime | None:
    try:
        info = signed_data["encap_content_info"]["content"].parsed
        return info["gen_time"].native if isinstance(info, tsp.TSTInfo) else None
    except Exception:  # a damaged token is reported by the validation itself
        return None


def _signature_timestamp(sig: EmbeddedPdfSignature) -> dt.datetime | None:
    unsigned = sig.signer_info["unsigned_attrs"]
    if unsigned.native is None:
        return None
    for attribute in unsigned:
        if attribute["type"].native == "signature_time_stamp_token":
            for token in attribute["values"]:
                return _tst_time(token["content"])
    return None


def _who(certificate: asn1_x509.Certificate) -> str:
    names = certificate.subject.native
    return names.get("common_name") or certificate.subject.human_friendly


def _is_test_identity(certificate: asn1_x509.Certificate) -> bool:
    return TEST_IDENTITY_MARK in certificate.subject.human_friendly


# What a report says of a signature by the identity `sohoa init` makes: its root is trusted
# only so that the archive can check itself, so it is never called trusted.
TEST_SIGNATURE_LABEL = "chữ ký THỬ NGHIỆM (danh tính do sohoa init tạo, không có giá trị pháp lý)"
NO_REVOCATION_SERVICE = "chứng thư không khai báo dịch vụ thu hồi — không kiểm tra được"


def declares_revocation_service(certificate: asn1_x509.Certificate) -> bool:
    """Whether the certificate names an OCSP responder or a CRL distribution point."""
    try:
        return bool(certificate.ocsp_urls or certificate.crl_distribution_points
                    or certificate.delta_crl_distribution_points)
    except Exception:  # an unreadable extension names nothing that can be asked
        return False


def revocation_status(certificate: asn1_x509.Certificate, checked: bool) -> str:
    """"good" only when revocation was required of the validation and the certificate names
    a service that could have answered: pyHanko's validation passes a certificate that
    names none, which proves nothing about revocation."""
    if not declares_revocation_service(certificate):
        return "no-service"
    return "good" if checked else "not-checked"


def _trust_problem(status) -> tuple[str, str]:
    """(revocation state, Vietnamese reason) for an untrusted chain."""
    indic = str(getattr(status, "trust_problem_indic", "") or "")
    details = getattr(status, "revocation_details", None)
    if details is not None or "REVOKED" in indic:
        when = _vn(details.revocation_date) if details is not None else None
        who = "chứng thư của cơ quan cấp" if details is not None and details.ca_revoked else "chứng thư ký"
        return "revoked", f"{who} đã bị thu hồi" + (f" từ {when}" if when else "")
    if "NO_CERTIFICATE_CHAIN_FOUND" in indic or "NO_TRUSTED" in indic or "CHAIN_CONSTRAINTS" in indic:
        return "unknown", "chứng thư ký không dẫn tới gốc tin cậy nào đã cấu hình"
    if "OUT_OF_BOUNDS" in indic or "EXPIRED" in indic or "NOT_YET_VALID" in indic:
        return "unknown", "chứng thư ký hết hạn (hoặc chưa có hiệu lực) vào thời điểm ký"
    if "TRY_LATER" in indic or "REVOCATION" in indic or "REVINFO" in indic:
        return "unknown", "thiếu dữ liệu thu hồi (OCSP/CRL) để kiểm tra chứng thư"
    return "unknown", f"chứng thư ký không được tin cậy ({indic or 'không rõ lý do'})"


def _coverage(status) -> tuple[str, str | None, str | None]:
    """(coverage, problem, warning) from pyHanko's coverage and difference analysis."""
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return "whole-file", None, None
    if status.coverage == SignatureCoverageLevel.ENTIRE_REVISION:
        level = status.modification_level
        if level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES):
            return "revision+validation-data", None, None
        if level == ModificationLevel.FORM_FILLING and status.docmdp_ok is not False:
            return "revision+signatures", None, "sau chữ ký này tệp có thêm chữ ký hoặc điền biểu mẫu"
    return "modified", "tệp đã bị thay đổi sau khi ký (thêm trang, sửa nội dung...)", None


def _entry(sig: EmbeddedPdfSignature, key: str):
    """An entry of the signature dictionary, resolved (and decrypted: .get() would hand back
    an encrypted file's proxy object), or None."""
    try:
        return sig.sig_object[key]
    except (KeyError, TypeError, ValueError):
        return None


class PasswordNeeded(SohoaError):
    """The file needs a password to be opened: its signatures cannot be checked."""

    code = "password-needed"


def open_reader(data: bytes) -> PdfFileReader:
    """pyHanko's reader over data. A file encrypted with an owner password only (opened by
    any viewer without asking) is decrypted with the empty user password, as pikepdf and
    pdfsig do; pyHanko would otherwise refuse to read anything in it."""
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    if reader.encrypted:
        try:
            opened = reader.decrypt("").status != AuthStatus.FAILED
        except Exception:  # an unknown security handler: no password can open it here
            opened = False
        if not opened:
            raise PasswordNeeded("tệp PDF có mật khẩu mở tệp: không kiểm tra được chữ ký")
    return reader


class _Verifier:
    def __init__(self, data: bytes, policy: VerifyPolicy):
        self.policy = policy
        self.data = data
        self.ends = revision_ends(data)
        self.reader = open_reader(data)
        try:
            self.dss = DocumentSecurityStore.read_dss(self.reader)
        except NoDSSFoundError:
            self.dss = None

    def context(self, moment: dt.datetime | None, *, require_revocation: bool) -> ValidationContext:
        kwargs = dict(
            trust_roots=list(self.policy.trust_roots),
            allow_fetching=self.policy.online,
            moment=moment,
            retroactive_revinfo=True,  # B-LT fetches OCSP just after the timestamp it covers
            revocation_mode="hard-fail" if require_revocation else "soft-fail",
        )
        if self.dss is not None:
            return self.dss.as_validation_context(kwargs)
        return ValidationContext(**kwargs)

    @property
    def has_revocation_data(self) -> bool:
        return self.dss is not None and bool(self.dss.ocsps or self.dss.crls)

    def signature(self, sig: EmbeddedPdfSignature) -> SignatureCheck:
        problems, warnings = [], []
        subfilter = str(_entry(sig, "/SubFilter") or "")
        if subfilter not in ACCEPTED_SUBFILTERS:
            problems.append(f"kiểu chữ ký {subfilter or '(không rõ)'} không được chấp nhận")
        shape = byte_range_problem(_entry(sig, "/ByteRange"), self.data, self.ends)
        if shape is not None:
            return self.broken(sig, "signature", subfilter, (*problems, shape), state="invalid")
        try:
            stamped_at = _signature_timestamp(sig)
            require = self.policy.online or self.has_revocation_data
            context = self.context(stamped_at, require_revocation=require)
            signer = sig.signer_cert
            status = validate_pdf_signature(sig, signer_validation_context=context)
        except Exception as error:  # whatever pyHanko trips on in a received file is the verdict
            return self.broken(sig, "signature", subfilter,
                               (*problems, f"chữ ký hỏng, không đọc được ({type(error).__name__}: {error})"))
        state = "valid"
        if not status.intact:
            problems.append("nội dung đã bị sửa sau khi ký (mã băm không khớp)")
            state = "modified"
        elif not status.valid:
            problems.append("giá trị chữ ký sai")
            state = "invalid"
        coverage, problem, warning = _coverage(status)
        problems += [problem] if problem else []
        warnings += [warning] if warning else []
        if problem and state == "valid":
            state = "modified"
        revocation = revocation_status(signer, require)
        if not status.trusted and status.intact and status.valid:  # a broken one has no trust to judge
            revocation, reason = _trust_problem(status)
            problems.append(reason)
        elif not status.trusted:
            revocation = "unknown"
        elif revocation == "no-service":
            warnings.append(NO_REVOCATION_SERVICE)
        elif not require:
            warnings.append("tệp không chứa dữ liệu thu hồi: chưa kiểm tra thu hồi (dùng --online)")
        timestamp_ok = None
        if status.timestamp_validity is not None:
            ts = status.timestamp_validity
            timestamp_ok = bool(ts.intact and ts.valid and ts.trusted)
            if not timestamp_ok:
                problems.append("dấu thời gian của chữ ký không hợp lệ hoặc không được tin cậy")
        test_identity = _is_test_identity(signer)
        if test_identity:
            warnings.append(TEST_SIGNATURE_LABEL)
        if state == "valid" and problems:
            state = "untrusted" if subfilter in ACCEPTED_SUBFILTERS else "invalid"
        claimed = stamped_at or status.signer_reported_dt
        return SignatureCheck(
            field=str(sig.field_name), kind="signature", subfilter=subfilter,
            signer=_who(signer), time=_vn(claimed), time_proven=bool(stamped_at and timestamp_ok),
            intact=bool(status.intact and status.valid), coverage=coverage,
            trusted=bool(status.trusted) and not test_identity,
            revocation=revocation, timestamp_ok=timestamp_ok, test_identity=test_identity,
            problems=tuple(problems), warnings=tuple(warnings), state=state,
        )

    def broken(self, sig: EmbeddedPdfSignature, kind: str, subfilter: str, problems: tuple[str, ...], *,
               state: str = "invalid") -> SignatureCheck:
        """The verdict on a signature that could not be validated at all."""
        try:
            certificate = sig.signer_cert
            signer, test_identity = _who(certificate), _is_test_identity(certificate)
        except Exception:  # no readable certificate either
            signer, test_identity = "(không đọc được)", False
        return SignatureCheck(
            field=str(sig.field_name), kind=kind, subfilter=subfilter, signer=signer, time=None,
            time_proven=False, intact=False, coverage="modified", trusted=False, revocation="unknown",
            timestamp_ok=None if kind == "signature" else False, test_identity=test_identity,
            problems=problems, state=state,
        )

    def document_timestamp(self, sig: EmbeddedPdfSignature, judged_at: dt.datetime | None) -> SignatureCheck:
        """judged_at: the time of the next document timestamp (which protects this one),
        or None for the newest one, judged now."""
        problems, warnings = [], []
        shape = byte_range_problem(_entry(sig, "/ByteRange"), self.data, self.ends)
        if shape is not None:
            return self.broken(sig, "document-timestamp", "/ETSI.RFC3161", (f"dấu thời gian tài liệu: {shape}",))
        try:
            stamped_at = _tst_time(sig.signed_data)
            require = self.policy.online or (judged_at is not None and self.has_revocation_data)
            status = validate_pdf_timestamp(sig, validation_context=self.context(judged_at, require_revocation=require))
        except Exception as error:
            return self.broken(sig, "document-timestamp", "/ETSI.RFC3161",
                               (f"dấu thời gian tài liệu hỏng ({type(error).__name__}: {error})",))
        state = "valid"
        if not (status.intact and status.valid):
            problems.append("dấu thời gian tài liệu không khớp nội dung tệp")
            state = "modified" if not status.intact else "invalid"
        coverage, problem, _ = _coverage(status)
        problems += [problem] if problem else []
        if problem and state == "valid":
            state = "modified"
        revocation = revocation_status(sig.signer_cert, require)
        if not status.trusted:
            revocation, reason = _trust_problem(status)
            problems.append("dấu thời gian tài liệu: " + reason)
            state = "untrusted" if state == "valid" else state
        return SignatureCheck(
            field=str(sig.field_name), kind="document-timestamp", subfilter="/ETSI.RFC3161",
            signer=_who(sig.signer_cert), time=_vn(stamped_at), time_proven=not problems,
            intact=bool(status.intact and status.valid), coverage=coverage, trusted=bool(status.trusted),
            revocation=revocation, timestamp_ok=not problems, test_identity=False,
            problems=tuple(problems), warnings=tuple(warnings), state=state,
        )


def verify_pdf(data: bytes, policy: VerifyPolicy) -> PdfVerification:
    """Every signature and document timestamp of the file, checked."""
    try:
        verifier = _Verifier(data, policy)
        embedded = verifier.reader.embedded_signatures
    except PasswordNeeded as error:
        return PdfVerification(signatures=(), problems=(str(error),))
    except Exception as error:  # not a readable PDF at all: that is the verdict
        return PdfVerification(signatures=(), problems=(f"không đọc được tệp PDF ({type(error).__name__}: {error})",))
    checks = []
    doc_timestamps = [s for s in embedded if s.sig_object_type == "/DocTimeStamp"]
    times = [_tst_time(s.signed_data) for s in doc_timestamps]
    for sig in embedded:
        if sig.sig_object_type == "/DocTimeStamp":
            index = doc_timestamps.index(sig)
            judged_at = times[index + 1] if index + 1 < len(times) else None
            checks.append(verifier.document_timestamp(sig, judged_at))
        else:
            checks.append(verifier.signature(sig))
    return PdfVerification(signatures=tuple(checks), level=_level(checks, verifier))


# Worst first: the verdict on a file is that of its worst signature.
_SEVERITY = ("modified", "invalid", "untrusted", "valid")


def received_signature_verdict(verification: PdfVerification | None) -> dict:
    """The one verdict `ingest` reports on the signatures a file arrived with:
    {"status": "valid" | "untrusted" | "modified" | "invalid" | "none", "message": one line}.
    "modified" and "invalid" mean the signature no longer vouches for the file."""
    if verification is None:
        return {"status": "none", "message": "tệp nhận vào không có chữ ký số"}
    checks = list(verification.signatures)
    if not checks:
        reason = verification.problems[0] if verification.problems else "không tìm thấy chữ ký nào đọc được"
        return {"status": "invalid", "message": f"không kiểm tra được chữ ký số: {reason}"}
    worst = min(checks, key=lambda c: _SEVERITY.index(c.state) if c.state in _SEVERITY else 0)
    signers = ", ".join(dict.fromkeys(c.signer for c in checks if c.kind == "signature")) or worst.signer
    reason = worst.problems[0] if worst.problems else ""
    status = worst.state
    if status == "valid" and verification.problems:
        status, reason = "invalid", verification.problems[0]
    message = {
        "valid": f"chữ ký số của {signers} còn nguyên vẹn và hợp lệ",
        "untrusted": f"chữ ký số của {signers} còn nguyên vẹn nhưng chưa xác thực được: {reason}",
        "modified": f"tệp đã bị sửa sau khi {worst.signer} ký, chữ ký không còn giá trị: {reason}",
        "invalid": f"chữ ký số của {worst.signer} không hợp lệ: {reason}",
    }[status]
    return {"status": status, "message": message}


def _level(checks: list[SignatureCheck], verifier: _Verifier) -> str | None:
    signatures = [c for c in checks if c.kind == "signature"]
    if not signatures:
        return None
    if any(c.kind == "document-timestamp" for c in checks):
        return "B-LTA"
    if verifier.has_revocation_data:
        return "B-LT"
    return "B-T" if signatures[-1].timestamp_ok is not None else "B-B"


def newest_timestamp_expiry(data: bytes) -> tuple[str, dt.datetime] | None:
    """("document-timestamp" or "signature-timestamp", expiry of its TSA certificate) for
    the newest timestamp in the file, or None when it has none."""
    reader = open_reader(data)
    embedded = reader.embedded_signatures
    doc_timestamps = [s for s in embedded if s.sig_object_type == "/DocTimeStamp"]
    if doc_timestamps:
        return "document-timestamp", doc_timestamps[-1].signer_cert["tbs_certificate"]["validity"]["not_after"].native
    for sig in reversed(embedded):
        unsigned = sig.signer_info["unsigned_attrs"]
        if unsigned.native is None:
            continue
        for attribute in unsigned:
            if attribute["type"].native == "signature_time_stamp_token":
                token = attribute["values"][0]["content"]
                certs = [c.chosen for c in token["certificates"]]
                signer_serial = token["signer_infos"][0]["sid"].chosen
                for cert in certs:
                    if isinstance(signer_serial, cms.IssuerAndSerialNumber) and cert.serial_number == signer_serial[
                        "serial_number"
                    ].native:
                        return "signature-timestamp", cert["tbs_certificate"]["validity"]["not_after"].native
    return None


def has_signatures(path) -> bool:
    """Whether the PDF holds a filled signature field (a signature or document timestamp)."""
    import pikepdf

    def signed(field, depth: int = 0) -> bool:
        if depth > 16:
            return False
        if field.get("/FT") == "/Sig" and field.get("/V") is not None:
            return True
        return any(signed(kid, depth + 1) for kid in field.get("/Kids", []))

    try:
        with pikepdf.open(path) as pdf:
            form = pdf.Root.get("/AcroForm")
            return form is not None and any(signed(f) for f in form.get("/Fields", []))
    except pikepdf.PdfError:
        return False  # the loading step reports the damage
