"""One wrong PIN stops signing, for every process of a home, until a person fixes it.

A token counts wrong PINs and blocks itself after a few (3 to 10 on VNPT-CA and Viettel-CA
tokens), and every process that logs in with the same wrong PIN spends one more try. So
logins to the token are taken in turn (a lock file under the home), a refusal is written
down (signing-paused.json in the home) and, while it is there, the service's workers do
not try again: the service keeps every document to sign waiting in its inbox and
`sohoa status` says why. Only an operator's action tries again, once: a fresh start of
`sohoa watch` (which lifts the pause when the token takes the PIN) or a `sohoa ingest`,
and only with another PIN than the one refused: the service's unit restarts it after a
crash (Restart=on-failure), and a crash loop must not spend a try at every start. So the
pause keeps a salted scrypt digest of the refused PIN (never the PIN; the file is the
service user's only, like the PIN itself). An operator who fixed the token rather than the
PIN (unlocked it, set it to the configured PIN) deletes signing-paused.json.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from core.clock import now_text
from core.durable import fsync_dir
from signing.errors import PinRejected

log = logging.getLogger(__name__)

PAUSE_FILE = "signing-paused.json"
LOCK_FILE = Path("tmp") / "signing-login.lock"

T = TypeVar("T")


@dataclass(frozen=True)
class SigningPause:
    since: str  # ISO 8601, when the token refused the PIN
    reason: str  # one line: which token, what it said
    advice: str  # the sentence for the operator: signing stopped, what to fix, then restart
    refused_pin: str | None = None  # "salt:digest" of the refused PIN (hex), if known

    def as_error(self) -> PinRejected:
        return PinRejected(self.reason, self.advice)

    def refused(self, pin: str | None) -> bool:
        """True when pin is the very PIN the token refused."""
        if pin is None or not self.refused_pin or ":" not in self.refused_pin:
            return False
        salt, digest = self.refused_pin.split(":", 1)
        try:
            return _digest(pin, bytes.fromhex(salt)) == digest
        except ValueError:
            return False


def _digest(pin: str, salt: bytes) -> str:
    # scrypt, not a plain hash: a PIN is a few digits.
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=2 ** 14, r=8, p=1, dklen=32).hex()


def read_pause(home_root: Path) -> SigningPause | None:
    try:
        data = json.loads((home_root / PAUSE_FILE).read_text(encoding="utf-8"))
        return SigningPause(str(data["since"]), str(data["reason"]), str(data["advice"]), data.get("refused_pin"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        # Unreadable or damaged: still a pause (a guess that lets a worker try a wrong PIN
        # again could lock the token), with the usual advice.
        return SigningPause("?", "không đọc được ghi chú dừng ký số", f"Ký số đang dừng (xem {home_root / PAUSE_FILE}); "
                            "sửa mã PIN của token rồi khởi động lại dịch vụ.")


def clear_pause(home_root: Path) -> bool:
    """Lift the pause; True when there was one."""
    try:
        (home_root / PAUSE_FILE).unlink()
    except FileNotFoundError:
        return False
    fsync_dir(home_root)
    return True


def write_pause(home_root: Path, error: PinRejected, pin: str | None = None) -> None:
    since = now_text()
    salt = os.urandom(16)
    refused_pin = f"{salt.hex()}:{_digest(pin, salt)}" if pin is not None else None
    data = json.dumps({"since": since, "code": error.code, "reason": error.reason, "advice": error.advice,
                       "refused_pin": refused_pin}, ensure_ascii=False, indent=1).encode("utf-8")
    path = home_root / PAUSE_FILE
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(home_root)


@dataclass(frozen=True)
class LoginGuard:
    """How one process of the home logs in to the token.

    try_when_paused: an operator's action (a service start, `sohoa ingest`) tries once even
    though signing is paused; the service's workers never do.
    lifts_pause: a login that succeeds ends the pause (the service's start only: the pause
    is the service's state, which `sohoa status` reports).
    records_refusal: a refused PIN pauses the service's signing (not for `sohoa ingest`:
    its PIN may come from the operator's shell, not from where the service reads its own).
    """

    home_root: Path
    try_when_paused: bool = False
    lifts_pause: bool = False
    records_refusal: bool = True

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        lock_path = self.home_root / LOCK_FILE
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released when fd is closed
            yield
        finally:
            os.close(fd)

    def login(self, attempt: Callable[[], T], *, token: str, pin: str | None = None) -> T:
        """attempt() logs in to the token with pin; it runs one process at a time, not
        while signing is paused (unless try_when_paused, and never with the PIN the token
        refused), and a PinRejected from it pauses signing for the home."""
        with self._turn():
            pause = read_pause(self.home_root)
            same_pin = pause is not None and pause.refused(pin)
            if pause is not None and (same_pin or not self.try_when_paused):
                why = "same-pin-as-refused" if same_pin else "signing-paused"
                log.info("event=token-login-skipped token=%s reason=%s", json.dumps(token, ensure_ascii=False), why)
                raise pause.as_error()
            log.info("event=token-login token=%s", json.dumps(token, ensure_ascii=False))
            try:
                result = attempt()
            except PinRejected as error:
                # INFO: the caller tells people, in its own words (a console line, one stderr line).
                log.info("event=token-login-refused token=%s code=%s", json.dumps(token, ensure_ascii=False),
                         error.code)
                if self.records_refusal:
                    write_pause(self.home_root, error, pin)
                raise
            if pause is not None and self.lifts_pause:
                clear_pause(self.home_root)
            return result
