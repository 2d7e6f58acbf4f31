"""config.toml, read in one place: every section's parser (core.config's Config, the
watch service's settings, [audit], [database]) works on the tables read_config returns, and
a broken file is named by one message with one code, whichever part meets it first."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from core.errors import ConfigError


def read_config(path: Path) -> dict | None:
    """The file's TOML tables; None when there is no file (every setting at its default);
    ConfigError naming the file when it is not UTF-8 TOML."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except tomllib.TOMLDecodeError as error:
        # tomllib says where in English ("Invalid value (at line 3, column 9)"): the clerk gets the place.
        place = re.search(r"at line (\d+), column (\d+)", str(error)) or re.search(r"at end of document", str(error))
        where = (f" ở dòng {place[1]}, cột {place[2]}" if place and place.re.groups else
                 " ở cuối tệp" if place else "")
        raise ConfigError(f"{path}: cấu hình sai cú pháp TOML{where}; sửa chỗ đó rồi chạy lại") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: cấu hình sai cú pháp: không phải văn bản UTF-8 (byte thứ {error.start + 1}); "
                          "lưu lại tệp dạng UTF-8") from error
