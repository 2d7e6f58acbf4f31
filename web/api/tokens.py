"""API tokens for machines: made, listed and revoked by `sohoa token`, checked by
web.api_auth. Only the key's SHA-256 is stored, so a copy of the database (a backup, a
replica) hands out no working key; the key itself is shown once, when it is made.

No Django REST framework here: the command line uses this module with Django's minimal
settings (core.database), where DRF is not installed."""

from __future__ import annotations

import hashlib
import secrets

from core.clock import now_text

KEY_PREFIX = "sohoa_"  # says what the string is when it turns up in a script or a log


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_token(user, name: str, *, using: str = "default"):
    """A new token for `user`: (the ApiToken row, the key to hand over once)."""
    from core.models import ApiToken

    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.using(using).create(
        key_sha256=key_hash(key), user=user, name=name, created_at=now_text())
    return token, key


def token_for_key(key: str, *, using: str = "default"):
    """The token row whose key this is, with its user, or None."""
    from core.models import ApiToken

    return ApiToken.objects.using(using).select_related("user").filter(key_sha256=key_hash(key)).first()
