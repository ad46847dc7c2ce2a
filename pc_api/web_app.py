"""Serving the built web client (``web/dist``) from the API, at ``/``.

Same origin as ``/v1`` and ``/socket.io``, so the HttpOnly session cookies carry the
session and no CORS is involved. Rules:

- ``/assets/*`` are Vite's content-hashed files: cached for a year, ``immutable``.
  A missing asset is a plain 404 (never ``index.html``, which a browser would try
  to run as JavaScript).
- Other files at the top of ``dist`` (favicon, robots.txt) and ``index.html`` are
  ``no-cache``: revalidated every time (ETag), so a new build is seen at once.
- Any other GET/HEAD that accepts HTML and is not an API path gets ``index.html``:
  the client's router (history mode) owns those URLs, e.g. the OAuth return
  ``/settings/hubspot?success=true``.
- API paths (``/v1``, ``/docs``, ``/redoc``, ``/openapi.json``, ``/health``,
  ``/socket.io``) are untouched: an unknown one stays FastAPI's JSON 404.

It is the router's *default* handler (what runs when no route matched), not a
catch-all route, so a wrong method on a real route still answers 405 and nothing
shadows a route added later. The dist folder is read per request: building the
client while the API runs needs no restart. Without a build, ``/`` explains how to
make one instead of failing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from pc_core.settings import Settings

API_PREFIXES = ("/v1", "/docs", "/redoc", "/openapi.json", "/health", "/socket.io")
ASSETS_PREFIX = "/assets/"
LONG_CACHE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Partner Connector</title></head>
<body><main>
<h1>The web client is not built</h1>
<p>Run <code>make install</code> (or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>)
and reload. The API is running: see <a href="/docs">/docs</a>.</p>
</main></body></html>
"""


def is_api_path(path: str) -> bool:
    """Paths the web client never owns, whatever the Accept header says."""
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES)


def _accepts_html(scope: Scope) -> bool:
    return "text/html" in Headers(scope=scope).get("accept", "")


class WebClient:
    """The router's fallback: static files of the build, else ``index.html`` for
    browser navigations, else the original 404."""

    def __init__(self, dist: Path, fallback: ASGIApp) -> None:
        self.dist = dist
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (scope["type"] != "http" or scope["method"] not in ("GET", "HEAD")
                or is_api_path(path)):
            await self.fallback(scope, receive, send)
            return
        response = self._response(scope, path)
        if response is None:
            await self.fallback(scope, receive, send)
        else:
            await response(scope, receive, send)

    def _response(self, scope: Scope, path: str) -> Response | None:
        index = self.dist / "index.html"
        if not index.is_file():
            if path == "/" or _accepts_html(scope):
                return HTMLResponse(NOT_BUILT, status_code=503,
                                    headers={"Cache-Control": NO_CACHE})
            return None
        files = StaticFiles(directory=self.dist, check_dir=False)
        relative = path.lstrip("/")
        if relative and "\x00" not in relative:
            full, stat = files.lookup_path(relative)
            if stat is not None and Path(full).is_file():
                response = files.file_response(full, stat, scope)
                cache = LONG_CACHE if path.startswith(ASSETS_PREFIX) else NO_CACHE
                response.headers["Cache-Control"] = cache
                return response
        if path.startswith(ASSETS_PREFIX):
            return PlainTextResponse("Not Found", status_code=404)
        if path != "/" and not _accepts_html(scope):
            return None
        stat = index.stat()
        response = files.file_response(str(index), stat, scope)
        response.headers["Cache-Control"] = NO_CACHE
        return response


def install_web_client(app: FastAPI, settings: Settings) -> None:
    """Serve the web client from ``app``; call after every router is included."""
    app.router.default = WebClient(settings.web_dist_dir, app.router.default)
