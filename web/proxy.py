"""The browser's address behind the reverse proxy the README describes (nginx on the same
machine): gunicorn sees every request come from 127.0.0.1, which would put one address in
the access log for everyone and let five failed logins of one user name lock it out for the
whole office. nginx sets X-Real-IP to the address it saw (overwriting any a browser sent);
it is believed only from a loopback peer and only with SOHOA_HTTPS set (behind the proxy)."""

from __future__ import annotations

import ipaddress

from django.conf import settings

HEADER = "HTTP_X_REAL_IP"


def real_client_address(get_response):
    def middleware(request):
        if settings.SECURE_PROXY_SSL_HEADER and HEADER in request.META:
            try:
                peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
                told = ipaddress.ip_address(request.META[HEADER].strip())
            except ValueError:
                pass
            else:
                if peer.is_loopback:
                    request.META["REMOTE_ADDR"] = str(told)
        return get_response(request)

    return middleware
