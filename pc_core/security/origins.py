"""Which browser origins count as ours: one rule for the CSRF check on
cookie-authenticated writes and for Socket.IO connections.

Ours are: the origin the browser reached this API at (scheme + ``Host``), the
configured ``PC_APP_URL`` and ``PC_PUBLIC_URL``, the extra ``PC_ALLOWED_ORIGINS``
and ``PC_CORS_ORIGINS``, and in development the Vite dev server (``npm run dev``, port 5173).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pc_core.settings import Settings

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
VITE_DEV_ORIGINS = ("http://localhost:5173", "http://127.0.0.1:5173")


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-case, default port dropped; ``None``
    for anything that is not an absolute http(s) URL (including ``Origin: null``)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class OriginPolicy:
    """Decides whether an ``Origin`` is one of ours (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        configured = [settings.app_url, settings.public_url, *settings.allowed_origin_list,
                      *settings.cors_origin_list]
        if settings.env == "development":
            configured += VITE_DEV_ORIGINS
        self.configured = {o for o in map(origin_of, configured) if o}

    def allows(self, origin: str | None, scheme: str, host: str | None) -> bool:
        """``origin`` (an Origin header, or a Referer) against ours, where ``scheme``
        and ``host`` are how this request reached us (``Host`` header)."""
        normalised = origin_of(origin)
        if normalised is None:
            return False
        if normalised in self.configured:
            return True
        if host:
            own_scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
            return normalised == origin_of(f"{own_scheme}://{host}")
        return False
