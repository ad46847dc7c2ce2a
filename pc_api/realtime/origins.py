"""Which browser origins may open a Socket.IO connection.

The access cookie rides along with a cross-site WebSocket, so a foreign page must
not be able to connect (cross-site WebSocket hijacking): only the API's own origin
(as the browser reached it) and the configured web-client / public URLs are let in.
Clients that send no ``Origin`` (scripts, Node, mobile) are not affected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from pc_core.settings import Settings


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_checker(settings: Settings) -> Callable[[str | None, dict[str, Any]], bool]:
    configured = {_origin_of(settings.app_url), _origin_of(settings.public_url)}

    def allowed(origin: str | None, environ: dict[str, Any] | None = None) -> bool:
        if not origin:
            return True
        origin = origin.lower().rstrip("/")
        if origin in configured:
            return True
        environ = environ or {}
        host = environ.get("HTTP_HOST")
        if host:
            scheme = environ.get("wsgi.url_scheme", "http")
            if origin == f"{scheme}://{host}".lower():
                return True
        return False

    return allowed
