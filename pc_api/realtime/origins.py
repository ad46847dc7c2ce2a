"""Which browser origins may open a Socket.IO connection.

The access cookie rides along with a cross-site WebSocket, so a foreign page must
not be able to connect (cross-site WebSocket hijacking): only our origins
(``pc_core.security.origins``: the API's own origin as the browser reached it, the configured
web-client / public URLs and ``PC_ALLOWED_ORIGINS``) are let in. Clients that send
no ``Origin`` (scripts, Node, mobile) are not affected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pc_core.security.origins import OriginPolicy
from pc_core.settings import Settings


def origin_checker(settings: Settings) -> Callable[[str | None, dict[str, Any]], bool]:
    policy = OriginPolicy(settings)

    def allowed(origin: str | None, environ: dict[str, Any] | None = None) -> bool:
        if not origin:
            return True
        environ = environ or {}
        return policy.allows(origin, environ.get("wsgi.url_scheme", "http"),
                             environ.get("HTTP_HOST"))

    return allowed
