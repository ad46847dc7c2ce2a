"""Browser security headers on every answer, and CORS for ``PC_CORS_ORIGINS``.

Every answer (the web client's pages, its assets, the API's JSON, the refusals of
the CSRF and body-limit middlewares) carries:

- ``Content-Security-Policy``: scripts from our own origin only, never inline, no
  ``eval``; Stripe's hosts are added only when the client loads Stripe.js for its
  Payment Element (``stripe_mode == "stripe_js"``, pc_core/settings/client_config.py), as
  Stripe's CSP guide lists them. Against the sandbox the client posts the card
  confirmation to the sandbox itself, so only that origin joins ``connect-src``.
  ``frame-ancestors 'none'``: no other site may frame a page (the Pay button).
  FastAPI's ``/docs`` and ``/redoc`` pages load their bundles from jsDelivr and start
  them with one inline script; they get a policy of their own that allows those
  bundles and exactly that script (by its SHA-256), still no other inline script.
- ``X-Frame-Options: DENY`` (browsers without ``frame-ancestors``),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin`` (our URLs
  carry lead ids: no other site sees them).
- ``Strict-Transport-Security`` only when the request came over TLS: the scheme as
  the forwarded-headers middleware left it, so a trusted proxy's
  ``X-Forwarded-Proto: https`` counts and a forged one from anyone else does not.

CORS: with ``PC_CORS_ORIGINS`` empty (the default) no CORS header is ever sent, so a
browser lets only our own origin read answers. Listed origins get Starlette's
``CORSMiddleware`` with credentials; nothing else changes for them: the session
cookies stay ``SameSite=Lax`` (so they travel only between same-site origins such as
``app.example.com`` → ``api.example.com``; a client on another site signs in and
sends ``Authorization: Bearer``), and cookie-authenticated writes still need the
double-submit token and a listed ``Origin`` (pc_api/csrf.py). The login and refresh
answers carry the token in ``X-CSRF-Token`` too, exposed to listed origins only,
since their script cannot read our ``pc_csrf`` cookie.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pc_api.csrf import CSRF_HEADER
from pc_core.security.origins import origin_of
from pc_core.settings import Settings
from pc_core.settings.client_config import stripe_mode

HSTS = "max-age=31536000"
REFERRER_POLICY = "same-origin"
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
# Stripe's CSP guide: Stripe.js, its frames, and the API it calls.
STRIPE_SCRIPT = ("https://js.stripe.com", "https://*.js.stripe.com")
STRIPE_FRAME = ("https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com")
STRIPE_CONNECT = ("https://api.stripe.com",)
DOCS_CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
CORS_HEADERS = ("Accept", "Authorization", "Content-Type", CSRF_HEADER, "If-Match",
                "If-None-Match", "X-Request-ID")
CORS_EXPOSED = ("ETag", "Retry-After", "X-Request-ID", CSRF_HEADER)
CORS_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _join(directives: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def app_policy(settings: Settings) -> str:
    """The CSP of the web client (and of every non-HTML answer)."""
    script, frame, connect, img = ["'self'"], ["'none'"], ["'self'"], ["'self'", "data:"]
    if stripe_mode(settings) == "stripe_js":
        script += STRIPE_SCRIPT
        frame = list(STRIPE_FRAME)
        connect += STRIPE_CONNECT
        img.append("https://*.stripe.com")
    else:
        sandbox = origin_of(settings.stripe_api_base)
        if sandbox:
            connect.append(sandbox)
    return _join({
        "default-src": ["'self'"],
        "script-src": script,
        "style-src": ["'self'"],
        "img-src": img,
        "font-src": ["'self'"],
        "connect-src": connect,
        "frame-src": frame,
        "worker-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    })


def docs_policy(html: bytes) -> str:
    """The CSP of FastAPI's API docs: its CDN bundles and exactly its inline scripts."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]
    return _join({
        "default-src": ["'self'"],
        "script-src": ["'self'", DOCS_CDN, *hashes],
        # Swagger UI and ReDoc style their widgets inline; no script runs from styles.
        "style-src": ["'self'", DOCS_CDN, "https://fonts.googleapis.com", "'unsafe-inline'"],
        "font-src": ["'self'", "https://fonts.gstatic.com"],
        "img-src": ["'self'", "data:", "https://fastapi.tiangolo.com", "https://cdn.redoc.ly"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    })


class BrowserHeadersMiddleware:
    """Pure ASGI: adds the headers above to the start of every HTTP answer (buffering
    only the two small API-docs pages, to hash their inline script)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.policy = app_policy(settings).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fixed = [
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", REFERRER_POLICY.encode()),
        ]
        if scope.get("scheme") == "https":
            fixed.append((b"strict-transport-security", HSTS.encode()))

        def with_headers(message: Message, policy: bytes) -> Message:
            headers = [(k, v) for k, v in message.get("headers", [])
                       if k.lower() != b"content-security-policy"]
            headers += [*fixed, (b"content-security-policy", policy)]
            return {**message, "headers": headers}

        if scope.get("path") not in DOCS_PATHS:
            async def send_app(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = with_headers(message, self.policy)
                await send(message)

            await self.app(scope, receive, send_app)
            return

        held: list[Message] = []

        async def send_docs(message: Message) -> None:
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                body = b"".join(m.get("body", b"") for m in held[1:])
                await send(with_headers(held[0], docs_policy(body).encode()))
                for m in held[1:]:
                    await send(m)

        await self.app(scope, receive, send_docs)


def install_cors(app: FastAPI, settings: Settings) -> None:
    """CORS for ``PC_CORS_ORIGINS`` only; nothing at all when it is empty."""
    origins = [o for o in map(origin_of, settings.cors_origin_list) if o]
    if origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=origins, allow_credentials=True,
            allow_methods=list(CORS_METHODS), allow_headers=list(CORS_HEADERS),
            expose_headers=list(CORS_EXPOSED), max_age=600,
        )
