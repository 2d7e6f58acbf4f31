"""Token authentication for the REST API: `Authorization: Token <key>`.

The key is looked up by its SHA-256 (web.api.tokens; the database holds no key), so a
revoked token, which `sohoa token revoke` deletes, is refused as any unknown key is: 401
with a Vietnamese `detail`. A request without the header is left to the next class
(the browser's session), and then to IsAuthenticated, which also answers 401."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from core.clock import now_text

KEYWORD = "Token"


class HashedTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        # As text, not DRF's bytes: a header with characters beyond Latin-1 is refused
        # with a reason rather than failing to encode.
        parts = str(request.META.get("HTTP_AUTHORIZATION", "")).split()
        if not parts or parts[0].lower() != KEYWORD.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Tiêu đề Authorization sai dạng; gửi đúng một mã: Authorization: Token <mã>")
        key = parts[1]
        if not key.isascii():
            raise exceptions.AuthenticationFailed("Mã truy cập có ký tự lạ; hãy chép lại mã đúng như khi được cấp")
        from web.api.tokens import token_for_key

        token = token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed(
                "Mã truy cập không đúng hoặc đã bị thu hồi; xin quản trị cấp mã mới (sohoa token add)")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("Tài khoản của mã truy cập này đã bị khóa")
        _note_use(token)
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to a request with no or a bad key.
        return KEYWORD


def _note_use(token) -> None:
    """last_used_at, to the minute: one write a minute per token at most, not one per call."""
    moment = now_text()
    if (token.last_used_at or "")[:16] != moment[:16]:
        type(token).objects.filter(pk=token.pk).update(last_used_at=moment)
        token.last_used_at = moment
