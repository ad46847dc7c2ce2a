"""CSRF defence for cookie sessions (double-submit token + same-origin check).

A browser attaches the session cookies to requests a foreign page triggers, and
SameSite=Lax lets same-site subdomains through. So an unsafe request
(POST/PUT/PATCH/DELETE) that would be authenticated by the ``pc_access`` or
``pc_refresh`` cookie must also

- carry ``X-CSRF-Token`` equal to the ``pc_csrf`` cookie (set at login and
  refresh, readable by our page's script only: a foreign page can neither read
  the cookie nor send a custom header cross-origin without a CORS preflight), and
- come from one of our origins (``Origin``, or ``Referer`` when there is none;
  ``pc_core.security.origins``),

else 403 ``{"detail": "CSRF check failed: ..."}``. Requests with
``Authorization: Bearer`` or ``X-API-Key`` (never sent by a browser on its own),
requests without session cookies, webhooks and Socket.IO (its own origin check)
are not affected. Sign-in needs no token (there is no session yet) but a foreign
``Origin`` is refused there too, so a page cannot sign a visitor into another
account.

A plain ASGI middleware: it decides from the headers alone, before any body
(a multipart upload included) is read.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from pc_api.deps import ACCESS_COOKIE, REFRESH_COOKIE
from pc_core.security.origins import OriginPolicy
from pc_core.settings import Settings

CSRF_COOKIE = "pc_csrf"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_PATH = "/v1/auth/login"
# Authenticated by their own signatures or checks, never by the session cookie.
EXEMPT_PREFIXES = ("/v1/webhooks/", "/v1/meetings/webhooks/", "/socket.io")


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def _has_bearer(headers: Headers) -> bool:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(value.strip())


class CSRFMiddleware:
    """Refuses cookie-authenticated unsafe requests that fail the checks above."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.policy = OriginPolicy(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            problem = self.problem(scope)
            if problem is not None:
                response = JSONResponse({"detail": f"CSRF check failed: {problem}"}, 403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _origin_problem(self, scope: Scope, headers: Headers) -> str | None:
        origin = headers.get("origin")
        source = "Origin"
        if origin is None:
            origin, source = headers.get("referer"), "Referer"
        if origin is None:
            return "the request has neither an Origin nor a Referer header"
        if not self.policy.allows(origin, scope.get("scheme", "http"), headers.get("host")):
            return f"{source} {origin[:200]!r} is not one of this site's origins"
        return None

    def problem(self, scope: Scope) -> str | None:
        """Why this request must be refused, or ``None`` to let it through."""
        path: str = scope["path"]
        if path.startswith(EXEMPT_PREFIXES):
            return None
        headers = Headers(scope=scope)
        if path == LOGIN_PATH:
            # No session yet, so no token; but not from a foreign page either.
            if headers.get("origin") is None:
                return None
            return self._origin_problem(scope, headers)
        if _has_bearer(headers) or headers.get("x-api-key"):
            return None
        cookies = cookie_parser(headers.get("cookie", ""))
        if not (cookies.get(ACCESS_COOKIE) or cookies.get(REFRESH_COOKIE)):
            return None  # not a cookie session: the route's own auth decides
        origin_problem = self._origin_problem(scope, headers)
        if origin_problem is not None:
            return origin_problem
        sent = headers.get(CSRF_HEADER.lower(), "")
        expected = cookies.get(CSRF_COOKIE, "")
        if not sent:
            return f"missing {CSRF_HEADER} header (copy it from the {CSRF_COOKIE} cookie)"
        if not expected:
            return f"no {CSRF_COOKIE} cookie; sign in again"
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            return f"{CSRF_HEADER} does not match the {CSRF_COOKIE} cookie"
        return None
