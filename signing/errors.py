"""Why signing or verification could not be done, in words an archivist understands.

Each error carries a Vietnamese reason for people and a stable English code for logs and
JSON output, like ocr.errors.
"""

from __future__ import annotations

from core.errors import SohoaError


class SigningError(SohoaError):
    """The document could not be signed; nothing was archived."""

    code = "signing-failed"


class SigningConfigError(SigningError):
    """The [signing] or [verify] section of config.toml is wrong."""

    code = "signing-config"


class IdentityUnavailable(SigningError):
    """The PKCS#12 file or the PKCS#11 token, key or certificate cannot be used."""

    code = "identity-unavailable"


class PinRejected(IdentityUnavailable):
    """The token refused the PIN (wrong, locked, expired, of the wrong length).

    Not a "try again later": a VNPT-CA or Viettel-CA token blocks its PIN after 3 to 10
    wrong tries, so one refusal stops all signing until a person fixes the PIN.
    `advice` says, in one sentence for the operator, what was refused and what to do.
    """

    code = "signing-pin"

    def __init__(self, reason: str, advice: str = ""):
        super().__init__(reason)
        self.advice = advice or reason
        self.args = (reason, self.advice)  # survives pickling between the service's processes


class SecretMissing(IdentityUnavailable):
    """No PIN or passphrase in the environment or in the configured file."""

    code = "secret-missing"


class TimestampUnavailable(SigningError):
    """The timestamp service did not answer or answered with an error."""

    code = "timestamp-unavailable"


class RevocationDataMissing(SigningError):
    """B-LT and B-LTA need revocation data for the whole chain; some could not be had."""

    code = "revocation-data-missing"


class SignedPdfaInvalid(SigningError):
    """The signed file is no longer valid PDF/A; it must not be archived."""

    code = "signed-pdfa-invalid"
