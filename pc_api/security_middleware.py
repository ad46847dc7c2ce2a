"""The HTTP-level defences, installed by ``create_app`` in one call.

Outermost first:

1. Forwarded headers (uvicorn's ``ProxyHeadersMiddleware``): ``X-Forwarded-For`` and
   ``X-Forwarded-Proto`` rewrite the client address and scheme only when the direct
   peer is in ``PC_TRUSTED_PROXIES`` (default: nobody). Installed in the app, so it
   holds however the server is started; run uvicorn with ``--no-proxy-headers`` so it
   does not apply its own (it trusts 127.0.0.1 by default). Everything inside — the
   login throttle, logs, the CSRF same-origin check — sees the resulting address.
2. Browser security headers on every answer (``pc_api/browser_headers.py``): inside
   the forwarded headers, so HSTS sees the scheme a trusted proxy reported.
3. CORS for ``PC_CORS_ORIGINS`` (none when empty), outside the refusals below so a
   listed origin's script can read them.
4. Body limits (``pc_api/body_limits.py``).
5. CSRF for cookie sessions (``pc_api/csrf.py``).
"""

from __future__ import annotations

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from pc_api.body_limits import BodyLimitMiddleware
from pc_api.browser_headers import BrowserHeadersMiddleware, install_cors
from pc_api.csrf import CSRFMiddleware
from pc_core.settings import Settings


def install_security_middleware(app: FastAPI, settings: Settings) -> None:
    """Add the middlewares; call after the app's other ``add_middleware`` calls
    (the last added runs first)."""
    app.add_middleware(CSRFMiddleware, settings=settings)
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    install_cors(app, settings)
    app.add_middleware(BrowserHeadersMiddleware, settings=settings)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
