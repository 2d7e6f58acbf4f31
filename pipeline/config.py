"""The data home and its config.toml: typed, immutable settings with commented defaults."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path("sohoa-data")
HOME_ENV = "SOHOA_HOME"

CONFIG_TEMPLATE = """\
# Cấu hình sohoa (sohoa configuration)
# Tạo bởi `sohoa init`. Dòng bắt đầu bằng # là chú thích; sửa giá trị rồi lưu lại.
# Created by `sohoa init`. Lines starting with # are comments.

[agency]
# Tên cơ quan lưu trữ, ghi vào siêu dữ liệu của tài liệu.
# The archiving agency's name, written into each record's metadata.
name = "Cơ quan chưa đặt tên"

[ocr]
# Ngôn ngữ nhận dạng của Tesseract: "vie" là tiếng Việt. Không nên thêm "+eng":
# dấu tiếng Việt bị mất nhiều hơn. (Tesseract language; "vie" alone reads Vietnamese best.)
language = "vie"
# Số trang nhận dạng song song; 0 = tự tính theo số CPU máy cho phép dùng.
# Pages OCR'd in parallel; 0 = as many as the CPUs this process may use.
workers = 0
# PDF đã có lớp chữ được giữ nguyên lớp chữ đó. true = luôn nhận dạng lại (lớp chữ cũ bị bỏ,
# trang không phải ảnh quét được chuyển thành ảnh). Có thể bật cho một lần chạy: --force-ocr.
# A PDF that already has text keeps it; true re-OCRs every page (also: --force-ocr).
force_ocr = false
# Giới hạn số điểm ảnh của một trang (triệu điểm ảnh); ảnh lớn hơn bị từ chối.
# Largest page accepted, in megapixels (A0 at 300 dpi is about 140).
max_page_megapixels = 250

[index]
# Bộ máy tìm kiếm. Search engine.
engine = "tantivy"

[metadata]
# Ngôn ngữ của tài liệu (mã ISO 639-1). Language of the documents.
language = "vi"
"""


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class OcrSettings:
    language: str = "vie"
    workers: int = 0
    force_ocr: bool = False
    max_page_megapixels: float = 250


@dataclass(frozen=True)
class Config:
    agency_name: str = "Cơ quan chưa đặt tên"
    ocr: OcrSettings = OcrSettings()
    index_engine: str = "tantivy"
    language: str = "vi"


def resolve_home(option: str | None) -> Path:
    """--home wins, then $SOHOA_HOME, then ./sohoa-data."""
    if option:
        return Path(option).expanduser().absolute()
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser().absolute()
    return DEFAULT_HOME.absolute()


def load_config(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Config()
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cấu hình sai cú pháp ({error})") from error
    ocr = data.get("ocr", {})
    try:
        settings = OcrSettings(
            language=str(ocr.get("language", "vie")),
            workers=int(ocr.get("workers", 0)),
            force_ocr=bool(ocr.get("force_ocr", False)),
            max_page_megapixels=float(ocr.get("max_page_megapixels", 250)),
        )
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{path}: giá trị trong [ocr] không hợp lệ ({error})") from error
    return Config(
        agency_name=str(data.get("agency", {}).get("name", Config.agency_name)),
        ocr=settings,
        index_engine=str(data.get("index", {}).get("engine", "tantivy")),
        language=str(data.get("metadata", {}).get("language", "vi")),
    )
