"""What config.toml names must exist before anything starts: checked once, at start.

`sohoa ingest` and `sohoa watch` call check_configuration before they touch a file or
create a folder. A mistake there (a misspelt search engine, an OCR language whose pack is
not installed, a signing key, PIN file or token that cannot be read) would otherwise fail
every document one by one, under a reason that hides it ("index held by another process").
It is refused here in one Vietnamese line naming the setting and what to do.

Nothing is logged in to: a token is looked for by its label, its PIN is only checked to
be readable, so a start never spends one of a token's few PIN tries.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.config import Config, ConfigError


class StartupConfigError(ConfigError):
    """A setting of config.toml that cannot work on this machine."""


def check_configuration(config_path: Path, config: Config) -> None:
    """Raise StartupConfigError (one line) for the first setting `sohoa ingest` uses that
    cannot work: the search engine, [ocr] language, and the signing identity when
    [signing] enabled."""
    where = str(config_path)
    _check_engine(where, config.index_engine)
    _check_languages(where, [("[ocr] language", config.ocr.language)])
    if config.signing.enabled:
        _check_signing(where, config)


def check_watch_configuration(config_path: Path, config: Config, settings) -> None:
    """check_configuration for the watch service: every profile's language, and signing
    when any profile signs (watch_folders.settings.WatchSettings)."""
    where = str(config_path)
    _check_engine(where, config.index_engine)
    _check_languages(where, [("[ocr] language", config.ocr.language)]
                     + [(f"[profiles.{p.name}] ocr_language", p.ocr_language) for p in settings.profiles])
    if any(config.signing.enabled if p.sign is None else p.sign for p in settings.profiles):
        _check_signing(where, config)


def _check_engine(where: str, engine: str) -> None:
    from index.store import ENGINES, engine_class

    if engine not in ENGINES:
        raise StartupConfigError(
            f"{where}: [index] engine = «{engine}» không phải bộ máy tìm kiếm sohoa có; "
            f"sửa thành {' hoặc '.join(f'«{e}»' for e in ENGINES)} rồi chạy lại")
    try:
        engine_class(engine)
    except ImportError as error:
        raise StartupConfigError(
            f"{where}: [index] engine = «{engine}»: thư viện chưa cài trên máy này ({error.name}); "
            "cài lại sohoa (make run) hoặc chọn \"whoosh\"") from None


def _check_languages(where: str, wanted: list[tuple[str, str]]) -> None:
    from ocr.tesseract import TesseractError, tesseract_version

    import pytesseract

    try:
        tesseract_version()
        installed = set(pytesseract.get_languages(config=""))
    except (TesseractError, OSError, pytesseract.TesseractNotFoundError) as error:
        raise StartupConfigError(
            f"{where}: không chạy được Tesseract ({error}); cài tesseract-ocr rồi chạy lại") from None
    for setting, language in wanted:
        codes = [code for code in str(language).split("+")]
        missing = [code for code in codes if not code or code not in installed]
        if missing:
            code = missing[0]
            raise StartupConfigError(
                f"{where}: {setting} = «{language}»: máy chưa có gói ngôn ngữ Tesseract «{code}»; "
                f"cài gói tesseract-ocr-{code or '…'} (hoặc sửa {setting}, ví dụ \"vie\") rồi chạy lại")


def _check_signing(where: str, config: Config) -> None:
    from core.signing_settings import PIN_ENV, Pkcs11Identity, Pkcs12Identity

    signing = config.signing
    identity = signing.identity
    if isinstance(identity, Pkcs12Identity):
        _readable(where, "[signing] pkcs12", identity.path, "tệp khóa ký số PKCS#12")
    elif isinstance(identity, Pkcs11Identity):
        _readable(where, "[signing] pkcs11_module", identity.module, "thư viện PKCS#11 của token")
        _token_present(where, identity)
    if signing.pin_file is not None and not os.environ.get(PIN_ENV):
        _readable(where, "[signing] pin_file", signing.pin_file, "tệp mã PIN")
    elif isinstance(identity, Pkcs11Identity) and not os.environ.get(PIN_ENV):
        raise StartupConfigError(
            f"{where}: [signing] chưa có mã PIN của token: đặt pin_file (tệp chỉ người chạy sohoa đọc được) "
            f"hoặc biến môi trường {PIN_ENV}, hoặc tắt ký số ([signing] enabled = false)")


def _readable(where: str, setting: str, path: Path, what: str) -> None:
    if not path.exists():
        problem = "không có"
    elif not path.is_file():
        problem = "không phải là tệp"
    elif not os.access(path, os.R_OK):
        problem = "không đọc được (quyền tệp)"
    else:
        try:
            with open(path, "rb") as handle:
                handle.read(1)
            return
        except OSError as error:
            problem = f"không đọc được ({error.strerror})"
    raise StartupConfigError(
        f"{where}: {setting} = «{path}»: {what} {problem}; sửa {setting} cho đúng tệp "
        "(đọc được bởi người chạy sohoa) hoặc tắt ký số ([signing] enabled = false) rồi chạy lại")


def _token_present(where: str, identity) -> None:
    """The token is plugged in and answers to its label; no session, no login."""
    import pkcs11

    try:
        library = pkcs11.lib(str(identity.module))
        labels = [token.label for token in library.get_tokens() if token.label.strip()]
    except Exception as error:  # a library that is not PKCS#11, a broken driver
        raise StartupConfigError(
            f"{where}: [signing] pkcs11_module = «{identity.module}»: không nạp được thư viện PKCS#11 "
            f"({type(error).__name__}: {error}); kiểm tra đường dẫn thư viện của nhà cung cấp token") from None
    if identity.token_label not in labels:
        found = ", ".join(f"«{label}»" for label in labels) or "không có token nào"
        raise StartupConfigError(
            f"{where}: [signing] token_label = «{identity.token_label}»: không thấy token này (đang cắm: {found}); "
            "cắm token hoặc sửa token_label rồi chạy lại")
