"""config.toml, read in one place: every section's parser (pipeline.config's Config, the
watch service's settings, [audit], [database]) works on the tables read_config returns, and
a broken file is named by one message with one code, whichever part meets it first."""

from __future__ import annotations

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
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cấu hình sai cú pháp ({error})") from error
