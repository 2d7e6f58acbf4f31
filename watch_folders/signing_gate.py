"""Whether the service may start a document that signs: not once the token refused the PIN.

A token blocks its PIN after a few wrong tries (3 to 10 on VNPT-CA and Viettel-CA tokens),
so a refused PIN is never retried by the service: the document that met it goes back to
waiting (the try not counted), no other document of a profile that signs is started, and
those files wait in the inbox until the PIN is fixed and the service restarted. Profiles
that do not sign go on. The pause is written in the home (signing/pin_pause.py), where
`sohoa status` reads it and the workers find it.

At start, before any file is taken, the service logs in to the token once (not with the
very PIN the token refused last time: a restart after a crash must not spend a try): a
wrong PIN is said at once, and the files to sign wait from the start.
"""

from __future__ import annotations

import logging

from signing.errors import PinRejected, SigningError
from signing.pin_pause import LoginGuard, clear_pause, read_pause, write_pause
from core.signing_settings import Pkcs11Identity
from watch_folders.eventlog import EventLog
from watch_folders.jobs import JobRow
from watch_folders.settings import WatchSettings


class SigningGate:
    def __init__(self, home, settings: WatchSettings, events: EventLog):
        self.home_root = home.root
        self.signing = home.config().signing
        self.settings = settings
        self.events = events
        self.paused: str | None = None  # the operator's sentence, while signing is paused
        self._announced: set[int] = set()  # jobs already said to be waiting for the PIN

    def signs(self, profile_name: str) -> bool:
        profile = self.settings.profile(profile_name)
        wanted = profile.sign if profile is not None else None
        return self.signing.enabled if wanted is None else wanted

    def check_at_start(self) -> None:
        """One login to the token, before any file is taken (one try of the token's few:
        a restart is the operator's decision, so each start may spend one)."""
        if not isinstance(self.signing.identity, Pkcs11Identity) or \
                not any(self.signs(p.name) for p in self.settings.profiles):
            clear_pause(self.home_root)  # nothing here logs in to a token: no pause applies
            return
        from signing.identity import open_identity

        try:
            open_identity(self.signing, LoginGuard(self.home_root, try_when_paused=True, lifts_pause=True)).close()
        except PinRejected as refused:
            self.pause(refused.advice)
        except SigningError as error:
            # Not the PIN (the token unplugged, a label wrong): documents to sign try again
            # later as before; the first of them logs in, once, for all the workers.
            clear_pause(self.home_root)
            self.events("signing-unavailable", f"⚠ ký số chưa dùng được: {error.reason}; tài liệu cần ký sẽ "
                        "được thử lại", level=logging.WARNING, code=error.code, reason=error.reason)
        else:
            self.events("signing-ready", token=self.signing.identity.token_label)

    def pause(self, advice: str, job: JobRow | None = None) -> None:
        """The token refused the PIN (at start or in a worker): stop signing, say so once."""
        if self.paused is not None:
            return
        self.paused = advice
        if read_pause(self.home_root) is None:  # refused mid-signature, not at a guarded login
            write_pause(self.home_root, PinRejected(advice, advice))
        self.events("signing-paused", f"⚠ {advice}", level=logging.ERROR, code=PinRejected.code,
                    job=job.id if job else None, file=job.source_path if job else None, reason=advice)

    def holds(self, job: JobRow) -> bool:
        """True when the job must wait for the PIN (said once per job on the console)."""
        if self.paused is None or not self.signs(job.profile):
            return False
        if job.id not in self._announced:
            self._announced.add(job.id)
            self.events("waiting-for-pin", f"… {job.source_path}: để chờ trong thư mục nhận, ký số đang dừng "
                        "vì mã PIN của token", job=job.id, file=job.source_path)
        return True
