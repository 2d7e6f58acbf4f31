"""Signing and verification settings: the [signing] and [verify] sections of config.toml.

Typed, immutable values, checked when the config is read, so a mistake is reported once,
in one line, before any document is touched. Relative paths are relative to the data home.
In the bottom layer, beside the typed Config (core/config.py) that holds them; the signing
package uses them. A wrong value raises ValueError naming the key (load_config turns it into
a ConfigError naming the file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
APPEARANCES = ("visible", "invisible")
PIN_ENV = "SOHOA_SIGNING_PIN"  # the PIN or passphrase; wins over pin_file

# The identity `sohoa init` creates, under the home's keys/ folder. The names say, in
# Vietnamese, that it is a test identity and not trusted.
TEST_KEYS_DIR = "keys"
TEST_PKCS12_NAME = "sohoa-THU-NGHIEM-khong-tin-cay.p12"
TEST_PIN_NAME = "sohoa-THU-NGHIEM-khong-tin-cay.pin"
TEST_ROOT_NAME = "sohoa-THU-NGHIEM-goc-khong-tin-cay.pem"


@dataclass(frozen=True)
class Pkcs12Identity:
    path: Path


@dataclass(frozen=True)
class Pkcs11Identity:
    module: Path  # the vendor's PKCS#11 library, e.g. VNPT-CA's libcryptoki.so, OpenSC, SoftHSM2
    token_label: str
    key_label: str
    cert_label: str | None = None  # defaults to key_label, as on most Vietnamese tokens


@dataclass(frozen=True)
class SigningSettings:
    enabled: bool = True
    level: str = "B-B"
    visible: bool = True
    agency_name: str = "Cơ quan chưa đặt tên"
    identity: Pkcs12Identity | Pkcs11Identity | None = None
    pin_file: Path | None = None
    timestamp_url: str | None = None
    font_dir: Path = Path("fonts")  # where the appearance font is derived once

    @property
    def needs_timestamp(self) -> bool:
        return self.level != "B-B"

    @property
    def embeds_validation_data(self) -> bool:
        return self.level in ("B-LT", "B-LTA")

    def uses_test_identity(self, home_root: Path) -> bool:
        return self.identity == Pkcs12Identity(home_root / TEST_KEYS_DIR / TEST_PKCS12_NAME)


@dataclass(frozen=True)
class VerifySettings:
    trust_roots: tuple[Path, ...] = ()
    online: bool = False  # fetch revocation data (OCSP, CRL) instead of only what the file holds
    renew_within_days: int = 365
    timestamp_url: str | None = None  # for `timestamp renew`; the [signing] one by default


def _path(value, base: Path, key: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} phải là một đường dẫn")
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _text(section: dict, key: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} phải là chuỗi ký tự")
    return value.strip() or None


def parse_signing(section: dict, *, base: Path, agency_name: str) -> SigningSettings:
    """Read [signing]; raises ValueError naming the bad key. Without an identity
    (or without the section) the home's test identity is used."""
    level = str(section.get("level", "B-B")).upper()
    if level not in LEVELS:
        raise ValueError(f"[signing] level = {section.get('level')!r}: chọn một trong {', '.join(LEVELS)}")
    appearance = str(section.get("appearance", "visible")).lower()
    if appearance not in APPEARANCES:
        raise ValueError(f"[signing] appearance = {section.get('appearance')!r}: chọn visible hoặc invisible")
    timestamp_url = _text(section, "timestamp_url")
    enabled = section.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError("[signing] enabled phải là true hoặc false")
    if enabled and level != "B-B" and not timestamp_url:
        raise ValueError(f"[signing] level = {level!r} cần timestamp_url (dịch vụ cấp dấu thời gian)")

    module = _text(section, "pkcs11_module")
    pkcs12 = _text(section, "pkcs12")
    if module and pkcs12:
        raise ValueError("[signing]: chỉ đặt một trong pkcs12 hoặc pkcs11_module")
    identity: Pkcs12Identity | Pkcs11Identity | None = None
    if module:
        token_label, key_label = _text(section, "token_label"), _text(section, "key_label")
        if not token_label or not key_label:
            raise ValueError("[signing] pkcs11_module cần token_label và key_label")
        identity = Pkcs11Identity(
            module=_path(module, base, "pkcs11_module"),
            token_label=token_label,
            key_label=key_label,
            cert_label=_text(section, "cert_label"),
        )
    elif pkcs12:
        identity = Pkcs12Identity(_path(pkcs12, base, "pkcs12"))
    else:
        # No identity configured (a home made before signing existed): the test identity.
        identity = Pkcs12Identity(base / TEST_KEYS_DIR / TEST_PKCS12_NAME)
        section = {"pin_file": f"{TEST_KEYS_DIR}/{TEST_PIN_NAME}", **section}
    pin_file = _text(section, "pin_file")
    return SigningSettings(
        enabled=enabled,
        level=level,
        visible=appearance == "visible",
        agency_name=agency_name,
        identity=identity,
        pin_file=_path(pin_file, base, "pin_file") if pin_file else None,
        timestamp_url=timestamp_url,
        font_dir=base / "fonts",
    )


def parse_verify(section: dict, *, base: Path, signing: SigningSettings) -> VerifySettings:
    """Read [verify]; raises ValueError naming the bad key."""
    roots = section.get("trust_roots", [f"{TEST_KEYS_DIR}/{TEST_ROOT_NAME}"])
    if isinstance(roots, str):
        roots = [roots]
    if not isinstance(roots, list):
        raise ValueError("[verify] trust_roots phải là danh sách đường dẫn")
    online = section.get("online", False)
    if not isinstance(online, bool):
        raise ValueError("[verify] online phải là true hoặc false")
    try:
        window = int(section.get("renew_within_days", 365))
    except (TypeError, ValueError) as error:
        raise ValueError("[verify] renew_within_days phải là số ngày") from error
    if window < 0:
        raise ValueError("[verify] renew_within_days không được âm")
    return VerifySettings(
        trust_roots=tuple(_path(root, base, "trust_roots") for root in roots),
        online=online,
        renew_within_days=window,
        timestamp_url=_text(section, "timestamp_url") or signing.timestamp_url,
    )
