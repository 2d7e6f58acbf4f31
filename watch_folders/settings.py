"""The [watch] and [profiles.*] sections of config.toml: typed, immutable, checked once.

A home created before the service existed has neither section; it gets the same defaults
`sohoa init` writes today, so `sohoa watch` works there too.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from core.confidentiality import Level
from core.config_file import read_config
from core.config import Config, ConfigError

AFTER_DONE = ("delete", "move")


@dataclass(frozen=True)
class Profile:
    """One inbox folder and how its files are processed."""

    name: str  # the folder under inbox/, NFC
    title: str
    ocr_language: str = "vie"
    sign: bool | None = None  # None: as [signing] says
    after_done: str = "delete"  # or "move": to done/<name>/
    metadata: tuple[tuple[str, str], ...] = ()  # defaults for the record's metadata
    # A damaged or truncated PDF is archived as far as it can be read, the damage recorded
    # and flagged for review, instead of being refused (ocr/damage.py).
    accept_damaged: bool = False
    # The least confidentiality level of what comes in here (core.confidentiality.Level): a
    # stamp read on the page raises it, never lowers it (pipeline/ingest.py).
    confidentiality: int = 0

    def metadata_defaults(self) -> dict[str, str]:
        level = Level(self.confidentiality)
        return {**dict(self.metadata), **({"confidentiality": level.label} if level else {})}


DEFAULT_PROFILES = (
    Profile("van-ban-den", "Văn bản đến", sign=False, after_done="move",
            metadata=(("register", "Sổ văn bản đến"), ("reliability", "02"))),
    Profile("van-ban-di", "Văn bản đi", sign=True, after_done="move",
            metadata=(("register", "Sổ văn bản đi"), ("reliability", "02"))),
    Profile("luu-tru", "Số hóa tài liệu lưu trữ", sign=True, after_done="delete",
            metadata=(("reliability", "02"),)),
)


@dataclass(frozen=True)
class WatchSettings:
    quiet_seconds: float = 5.0
    incomplete_seconds: float = 60.0
    rescan_seconds: float = 30.0
    workers: int = 0  # OCR processes; 0 = available_cpus()
    documents_in_flight: int = 0  # 0 = OCR processes + 2
    retry_seconds: float = 10.0
    max_attempts: int = 5
    stop_grace_seconds: float = 30.0
    profiles: tuple[Profile, ...] = DEFAULT_PROFILES

    def profile(self, name: str) -> Profile | None:
        name = unicodedata.normalize("NFC", name)
        return next((p for p in self.profiles if p.name == name), None)


def load_watch_settings(config_path: Path) -> WatchSettings:
    data = read_config(config_path)
    return WatchSettings() if data is None else parse_watch_settings(data, where=str(config_path))


def parse_watch_settings(data: dict, *, where: str = "config.toml") -> WatchSettings:
    watch = data.get("watch", {})
    defaults = WatchSettings()
    try:
        numbers = {
            key: type(getattr(defaults, key))(watch.get(key, getattr(defaults, key)))
            for key in ("quiet_seconds", "incomplete_seconds", "rescan_seconds", "workers",
                        "documents_in_flight", "retry_seconds", "max_attempts", "stop_grace_seconds")
        }
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where}: giá trị trong [watch] không hợp lệ ({error})") from error
    negative = [key for key, value in numbers.items() if value < 0]
    if negative:
        raise ConfigError(f"{where}: [watch] {negative[0]} không được âm")
    if numbers["max_attempts"] < 1:
        raise ConfigError(f"{where}: [watch] max_attempts phải từ 1 trở lên")
    profiles = data.get("profiles")
    parsed = DEFAULT_PROFILES if profiles is None else _parse_profiles(profiles, where)
    return WatchSettings(**numbers, profiles=parsed)


def _parse_profiles(table: object, where: str) -> tuple[Profile, ...]:
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{where}: [profiles] cần ít nhất một hồ sơ, ví dụ [profiles.van-ban-den]")
    profiles = []
    for raw_name, values in table.items():
        name = unicodedata.normalize("NFC", str(raw_name))
        if not name or name.startswith(".") or "/" in name or "\\" in name or name in ("..",):
            raise ConfigError(f"{where}: tên hồ sơ {raw_name!r} không dùng làm tên thư mục được")
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: [profiles.{name}] phải là một bảng")
        after_done = str(values.get("after_done", "delete"))
        if after_done not in AFTER_DONE:
            raise ConfigError(f"{where}: [profiles.{name}] after_done = {after_done!r}: chọn \"delete\" hoặc \"move\"")
        sign = values.get("sign")
        if sign is not None and not isinstance(sign, bool):
            raise ConfigError(f"{where}: [profiles.{name}] sign phải là true hoặc false")
        accept_damaged = values.get("accept_damaged", False)
        if not isinstance(accept_damaged, bool):
            raise ConfigError(f"{where}: [profiles.{name}] accept_damaged phải là true hoặc false")
        metadata = values.get("metadata", {})
        if not isinstance(metadata, dict):
            raise ConfigError(f"{where}: [profiles.{name}.metadata] phải là một bảng")
        try:
            level = Level.parse(str(values.get("confidentiality", Level.THUONG.label)))
        except ValueError as error:
            raise ConfigError(f"{where}: [profiles.{name}] confidentiality: {error}") from None
        profiles.append(Profile(
            name=name,
            title=str(values.get("title", name)),
            ocr_language=str(values.get("ocr_language", "vie")),
            sign=sign,
            after_done=after_done,
            accept_damaged=accept_damaged,
            confidentiality=int(level),
            metadata=tuple((str(k), unicodedata.normalize("NFC", str(v))) for k, v in metadata.items()),
        ))
    return tuple(profiles)


def profile_config(config: Config, profile: Profile) -> Config:
    """The pipeline's config with this profile's OCR language (signing on or off is passed
    to the recipe as an option: IngestOptions.sign)."""
    return dataclasses.replace(config, ocr=dataclasses.replace(config.ocr, language=profile.ocr_language))
