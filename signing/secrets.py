"""The PIN of a token or the passphrase of a PKCS#12 file: from the environment or a file.

Never from the command line (other users see it in the process list) and never logged:
the value only ever goes to the library that unlocks the key.
"""

from __future__ import annotations

import os
from pathlib import Path

from signing.errors import SecretMissing
from core.signing_settings import PIN_ENV


def read_secret(pin_file: Path | None, *, required: bool) -> str | None:
    """$SOHOA_SIGNING_PIN if set, else the first line of pin_file, else None (or an error)."""
    value = os.environ.get(PIN_ENV)
    if value:
        return value
    if pin_file is not None:
        try:
            text = pin_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SecretMissing(f"không thấy tệp mã PIN {pin_file}") from None
        except OSError as error:
            raise SecretMissing(f"không đọc được tệp mã PIN {pin_file} ({error.strerror})") from None
        lines = text.splitlines()
        if lines and lines[0]:
            return lines[0]
        raise SecretMissing(f"tệp mã PIN {pin_file} rỗng")
    if required:
        raise SecretMissing(f"chưa có mã PIN: đặt biến môi trường {PIN_ENV} hoặc pin_file trong [signing]")
    return None


def secret_source(pin_file: Path | None) -> str:
    """Where read_secret takes the PIN from, to tell the operator where to fix it."""
    if os.environ.get(PIN_ENV):
        return f"biến môi trường {PIN_ENV} của dịch vụ"
    if pin_file is not None:
        return f"tệp {pin_file}"
    return f"biến môi trường {PIN_ENV} hoặc pin_file trong [signing] của config.toml"
