"""The agency's signing identity: a PKCS#12 file or a key on a PKCS#11 token.

An identity is opened once per run and kept open (the token session logged in, the key
loaded), so each document costs one signature, not one key load. `create_test_identity`
makes the identity `sohoa init` installs so that the pipeline signs out of the box: its
own root and agency certificate, clearly named as a test identity nobody should trust.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets as random_secrets
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1, translate_pyca_cryptography_key_to_asn1
from pyhanko.sign.signers import Signer, SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from core.durable import fsync_dir, write_bytes_durably
from signing.errors import IdentityUnavailable, PinRejected
from signing.pin_pause import LoginGuard
from signing.secrets import read_secret, secret_source
from core.signing_settings import (
    TEST_KEYS_DIR,
    TEST_PIN_NAME,
    TEST_PKCS12_NAME,
    TEST_ROOT_NAME,
    Pkcs11Identity,
    Pkcs12Identity,
    SigningSettings,
)

log = logging.getLogger(__name__)

# Organisational unit of both test certificates: verification recognises it and warns.
TEST_IDENTITY_MARK = "sohoa THỬ NGHIỆM - KHÔNG TIN CẬY (test identity, not trusted)"


class LoadedKeySigner(SimpleSigner):
    """pyHanko's SimpleSigner keeps the key as ASN.1 and turns it back into a key object on
    every raw signature (load_der_private_key re-validates an RSA key each time, the
    larger part of a B-B signature's cost); this signer keeps the loaded key."""

    def __init__(self, key, certificate: asn1_x509.Certificate, chain: list[asn1_x509.Certificate]):
        registry = SimpleCertificateStore()
        registry.register_multiple(chain)
        super().__init__(
            signing_cert=certificate,
            signing_key=translate_pyca_cryptography_key_to_asn1(key),
            cert_registry=registry,
        )
        self._loaded_key = key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        try:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        except ValueError:
            return super().sign_raw(data, digest_algorithm)
        hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
        key = self._loaded_key
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, PKCS1v15(), hash_algorithm)
        if mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(hash_algorithm))
        return super().sign_raw(data, digest_algorithm)  # PSS, EdDSA...: pyHanko's own path


@dataclass
class AgencyIdentity:
    """An open identity: the pyHanko signer and what to say about it."""

    signer: Signer
    certificate: asn1_x509.Certificate
    description: str  # where the key lives, for the audit trail (never the PIN)
    _session: object = None  # the PKCS#11 session, closed by close()

    @property
    def subject(self) -> str:
        return self.certificate.subject.human_friendly

    def close(self) -> None:
        if self._session is not None:
            try:
                self._session.close()
            except Exception:  # closing a dead token session must not hide the real outcome
                log.warning("could not close the PKCS#11 session", exc_info=True)
            self._session = None

    def __enter__(self) -> AgencyIdentity:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_identity(settings: SigningSettings, guard: LoginGuard | None = None) -> AgencyIdentity:
    """Open the configured identity; IdentityUnavailable (one line) when it cannot be used,
    PinRejected when the token refuses the PIN. With a guard, the token login is taken in
    turn with the home's other processes and not tried while signing is paused."""
    identity = settings.identity
    if isinstance(identity, Pkcs12Identity):
        return _open_pkcs12(identity.path, read_secret(settings.pin_file, required=False))
    if isinstance(identity, Pkcs11Identity):
        pin = read_secret(settings.pin_file, required=True)
        source = secret_source(settings.pin_file)
        if guard is None:
            return _open_pkcs11(identity, pin, source)
        return guard.login(lambda: _open_pkcs11(identity, pin, source), token=identity.token_label, pin=pin)
    raise IdentityUnavailable("chưa cấu hình danh tính ký (pkcs12 hoặc pkcs11_module trong [signing])")


def _open_pkcs12(path: Path, passphrase: str | None) -> AgencyIdentity:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IdentityUnavailable(f"không thấy tệp khóa PKCS#12 {path}") from None
    except OSError as error:
        raise IdentityUnavailable(f"không đọc được tệp khóa PKCS#12 {path} ({error.strerror})") from None
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(
            data, passphrase.encode("utf-8") if passphrase is not None else None
        )
    except ValueError:
        raise IdentityUnavailable(f"{path}: sai mật khẩu hoặc tệp PKCS#12 hỏng") from None
    if key is None or certificate is None:
        raise IdentityUnavailable(f"{path}: tệp PKCS#12 không có khóa riêng kèm chứng thư")
    asn1_cert = translate_pyca_cryptography_cert_to_asn1(certificate)
    signer = LoadedKeySigner(key, asn1_cert, [translate_pyca_cryptography_cert_to_asn1(c) for c in chain])
    return AgencyIdentity(signer=signer, certificate=asn1_cert, description=f"PKCS#12 {path.name}")


def _open_pkcs11(identity: Pkcs11Identity, pin: str, pin_source: str) -> AgencyIdentity:
    # Imported here: python-pkcs11 loads only when a token is configured.
    import pkcs11
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

    where = f"token «{identity.token_label}»"
    if not identity.module.is_file():
        raise IdentityUnavailable(f"không thấy thư viện PKCS#11 {identity.module}")
    try:
        session = open_pkcs11_session(
            str(identity.module), token_criteria=TokenCriteria(label=identity.token_label), user_pin=pin
        )
    except pin_refusal_types() as error:
        raise pin_refusal(error, where, pin_source) from None
    except pkcs11.exceptions.PKCS11Error as error:
        raise IdentityUnavailable(f"{where}: không mở được token ({type(error).__name__})") from None
    except Exception as error:  # pyHanko reports a missing token with its own error types
        raise IdentityUnavailable(f"{where}: không dùng được token ({error})") from None
    signer = PKCS11Signer(
        session, key_label=identity.key_label, cert_label=identity.cert_label or identity.key_label,
        other_certs_to_pull=None,  # the chain stored on the token goes into the signature
    )
    try:
        certificate = signer.signing_cert  # fetched now: a wrong label fails here, not mid-run
    except Exception as error:
        session.close()
        raise IdentityUnavailable(
            f"{where}: không thấy chứng thư/khóa «{identity.cert_label or identity.key_label}» ({error})"
        ) from None
    description = f"PKCS#11 {identity.module.name}, token {identity.token_label}, khóa {identity.key_label}"
    return AgencyIdentity(signer=signer, certificate=certificate, description=description, _session=session)


def pin_refusal(error: Exception, where: str, pin_source: str) -> PinRejected:
    """The token's refusal of the PIN, by python-pkcs11's exception for its CKR_PIN_* code."""
    import pkcs11

    errors = pkcs11.exceptions
    if isinstance(error, errors.PinLocked):
        return PinRejected(
            f"{where}: mã PIN đã bị khóa (nhập sai quá số lần cho phép)",
            f"Mã PIN của token ký số đã bị khóa ({where}): đã dừng ký số. Mở khóa token bằng công cụ của "
            f"nhà cung cấp chữ ký số (VNPT-CA, Viettel-CA…), đặt mã PIN đúng trong {pin_source} "
            "rồi khởi động lại dịch vụ.")
    if isinstance(error, errors.PinExpired):
        return PinRejected(
            f"{where}: mã PIN đã hết hạn, token đòi đổi mã PIN",
            f"Mã PIN của token ký số đã hết hạn ({where}): đã dừng ký số. Đổi mã PIN bằng công cụ của nhà "
            f"cung cấp chữ ký số, ghi mã mới vào {pin_source} rồi khởi động lại dịch vụ.")
    what = {errors.PinLenRange: "mã PIN sai độ dài", errors.PinInvalid: "mã PIN có ký tự token không nhận"}
    detail = next((text for kind, text in what.items() if isinstance(error, kind)), "sai mã PIN")
    return PinRejected(
        f"{where}: {detail} (mã PIN lấy từ {pin_source})",
        f"Mã PIN của token ký số sai ({where}): đã dừng ký số để token không bị khóa. Sửa mã PIN trong "
        f"{pin_source} rồi khởi động lại dịch vụ.")


def pin_refusal_types() -> tuple[type[Exception], ...]:
    import pkcs11

    errors = pkcs11.exceptions
    return (errors.PinIncorrect, errors.PinLocked, errors.PinLenRange, errors.PinInvalid, errors.PinExpired)


# -- the embedded test identity ------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddedIdentityFiles:
    pkcs12: Path
    pin_file: Path
    root_certificate: Path


def embedded_identity_files(home_root: Path) -> EmbeddedIdentityFiles:
    keys = home_root / TEST_KEYS_DIR
    return EmbeddedIdentityFiles(keys / TEST_PKCS12_NAME, keys / TEST_PIN_NAME, keys / TEST_ROOT_NAME)


_TEST_SUFFIX = " (THỬ NGHIỆM)"
# X.520 ub-common-name and ub-organization-name (RFC 5280), which the cryptography library
# counts in UTF-8 bytes: a Vietnamese letter takes two or three of them.
_NAME_LIMIT = 64


def _fit(text: str, limit: int = _NAME_LIMIT) -> str:
    """A name cut to what a certificate may hold; full Vietnamese agency names often run
    longer ("Chi cục An toàn vệ sinh thực phẩm tỉnh …"). The signature block and the config
    keep the whole name."""
    if len(text.encode("utf-8")) <= limit:
        return text
    while len((text + "…").encode("utf-8")) > limit:
        text = text[:-1]
    return text.rstrip() + "…"


def _name(common_name: str, organisation: str, code: str = "") -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _fit(organisation)),
        # organizationIdentifier (2.5.4.97): the agency's identifier code, when it has one
        *([x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, code)] if code else []),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, TEST_IDENTITY_MARK),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def create_test_identity(home_root: Path, agency_name: str, agency_code: str = "") -> EmbeddedIdentityFiles | None:
    """Create the test identity under home/keys unless it exists; returns the files, or
    None when they were already there. The root's private key is not kept: nothing else
    can ever be issued under this root."""
    files = embedded_identity_files(home_root)
    if files.pkcs12.exists():
        return None
    files.pkcs12.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = _name("sohoa gốc THỬ NGHIỆM - KHÔNG TIN CẬY", "sohoa")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365 * 20))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    agency_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    agency = (
        x509.CertificateBuilder()
        .subject_name(_name(_fit(agency_name, _NAME_LIMIT - len(_TEST_SUFFIX.encode())) + _TEST_SUFFIX, agency_name,
                            agency_code))
        .issuer_name(root_name)
        .public_key(agency_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365 * 10))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(agency_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    passphrase = random_secrets.token_urlsafe(24)
    bundle = pkcs12.serialize_key_and_certificates(
        f"{agency_name} (THỬ NGHIỆM)".encode(), agency_key, agency, [root],
        serialization.BestAvailableEncryption(passphrase.encode()),
    )
    _write_private(files.pin_file, (passphrase + "\n").encode())
    _write_private(files.pkcs12, bundle)
    write_bytes_durably(files.root_certificate, root.public_bytes(serialization.Encoding.PEM))
    fsync_dir(files.pkcs12.parent)
    return files


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign, content_commitment=not cert_sign, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
        encipher_only=False, decipher_only=False,
    )


def _write_private(path: Path, data: bytes) -> None:
    """Like write_bytes_durably, readable by the owner only from the first byte."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def renew_test_identity(home_root: Path, agency_name: str, agency_code: str = "") -> Path | None:
    """A new test identity in the agency's (new) name. The old one is kept, moved to
    keys/previous-<time>/, and its root stays in the trusted roots file (new root first),
    so signatures made before still verify. Returns the old identity's folder, or None
    when there was none (the new one is then simply created)."""
    files = embedded_identity_files(home_root)
    if not files.pkcs12.exists():
        create_test_identity(home_root, agency_name, agency_code)
        return None
    keys = files.pkcs12.parent
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    # Made aside first: the old identity is moved only once the new one is whole.
    making = keys / f".renewing-{os.getpid()}"
    fresh = create_test_identity(making, agency_name, agency_code)
    kept = keys / f"previous-{stamp}"
    kept.mkdir(mode=0o700)
    old_roots = files.root_certificate.read_bytes() if files.root_certificate.exists() else b""
    for old in (files.pkcs12, files.pin_file, files.root_certificate):
        if old.exists():
            os.rename(old, kept / old.name)
    os.rename(fresh.pin_file, files.pin_file)
    os.rename(fresh.pkcs12, files.pkcs12)
    write_bytes_durably(files.root_certificate, fresh.root_certificate.read_bytes() + old_roots)
    for leftover in (fresh.root_certificate, fresh.pkcs12.parent):
        leftover.unlink() if leftover.is_file() else leftover.rmdir()
    making.rmdir()
    fsync_dir(keys)
    return kept
