"""The access log: every view and download of a document, by page and API alike (who,
when, what, from where). Written before the response leaves, so nothing is served that
the log does not hold; archivists read it at /nhat-ky-truy-cap/."""

from __future__ import annotations

import enum

from core.clock import now_text


class Access(enum.Enum):
    VIEW = "view"  # the document page, or its metadata through the API
    PAGE = "page"  # one page image
    DOWNLOAD_PDFA = "download-pdfa"
    DOWNLOAD_ORIGINAL = "download-original"

    @property
    def label(self) -> str:
        return {"view": "xem", "page": "xem trang", "download-pdfa": "tải PDF/A",
                "download-original": "tải bản gốc"}[self.value]


def client_address(request) -> str:
    # REMOTE_ADDR only: behind the reverse proxy the README describes, the proxy sets it
    # (X-Forwarded-For is the client's to forge, so it is not believed).
    return request.META.get("REMOTE_ADDR", "") or ""


def record_access(request, document, access: Access, *, page: int | None = None, channel: str = "web") -> None:
    from core.models import AccessLogEntry

    user = request.user if request.user.is_authenticated else None
    AccessLogEntry.objects.create(
        at=now_text(), user=user, username=user.get_username() if user else "", document_id=document.pk,
        action=access.value, page=page, address=client_address(request), channel=channel)
