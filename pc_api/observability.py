"""Request ids, access log lines, request metrics and ``/metrics`` for the API.

``install_observability(app, settings)`` adds, in one call:

- ``RequestObservabilityMiddleware``: a request id per request, taken from
  ``X-Request-ID`` when the caller (or the ingress) sent a sane one, else generated,
  and returned in ``X-Request-ID``; it opens the log context (request id, method,
  route; the auth dependency adds user and partner), observes
  ``pc_http_request_duration_seconds{method,route,status}`` by route *template*, and
  writes one access line per request in place of uvicorn's (logger
  ``pc_api.access``, message ``GET /path?query HTTP/1.1`` with the query's secrets
  redacted, plus route, status, ``duration_ms``, ``client_ip``, the ids).
  ``/socket.io`` is passed through untouched (long polls would swamp the latency
  figures; connections are counted by the Socket.IO server).
- ``GET /metrics`` on the API port, only with ``PC_METRICS_TOKEN`` set, and only
  for ``Authorization: Bearer <that token>`` (401 otherwise); without a token the
  route answers 404, so nothing is public by default.
- ``PC_METRICS_PORT``: the same exposition on a port of its own (no token; the
  port is not behind the ingress, and the NetworkPolicy admits only the monitoring
  namespace), started and stopped with the app.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pc_core.observability import context
from pc_core.observability import metrics as m
from pc_core.observability.log_redaction import redact_url
from pc_core.observability.platform_collector import platform_registry
from pc_core.settings import Settings

log = logging.getLogger(__name__)
access_log = logging.getLogger("pc_api.access")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}")
UNMATCHED = "<unmatched>"
#: Paths not worth an access line or a latency sample (scrapes, the liveness probe).
QUIET_PATHS = frozenset({"/metrics", "/livez"})
SOCKETIO_PREFIX = "/socket.io"


def request_id_from(value: str | None) -> str:
    """The caller's id if it is short and plain (no spaces, quotes or control
    characters that could forge log lines), else a fresh one."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def request_target(scope: Scope) -> str:
    """Path and query string, the query's secret parameters redacted (OAuth
    ``code``/``state``, tokens, keys: ``pc_core.observability.log_redaction``)."""
    query = (scope.get("query_string") or b"").decode("latin-1")
    return redact_url(f"{scope.get('path', '')}?{query}") if query else scope.get("path", "")


def client_ip(scope: Scope) -> str | None:
    """The client's address (after the trusted-proxy rewrite of X-Forwarded-For)."""
    client = scope.get("client")
    return client[0] if client else None


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None) or getattr(route, "path_format", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestObservabilityMiddleware:
    """Pure ASGI (no body buffering), so streaming and large uploads pass unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(SOCKETIO_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = request_id_from(
            headers.get(b"x-request-id", b"").decode("latin-1") or None)
        method = scope.get("method", "GET")
        token = context.start(request_id=request_id, method=method)
        status = 500
        started = time.perf_counter()
        m.HTTP_IN_FLIGHT.inc()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                context.bind(route=route_template(scope), status=status)
                message = {**message, "headers": [
                    *[(k, v) for k, v in message.get("headers", [])
                      if k.lower() != b"x-request-id"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = 500
            context.bind(route=route_template(scope))
            log.exception("unhandled error")
            raise
        finally:
            duration = time.perf_counter() - started
            m.HTTP_IN_FLIGHT.dec()
            route = route_template(scope)
            path = scope.get("path", "")
            if path not in QUIET_PATHS:
                m.HTTP_DURATION.labels(method, route, str(status)).observe(duration)
                context.bind(route=route, status=status, duration_ms=round(duration * 1000, 2))
                access_log.log(logging.ERROR if status >= 500 else logging.INFO,
                               "%s %s HTTP/%s", method, request_target(scope),
                               scope.get("http_version", "1.1"), extra={
                                   "path": path, "client_ip": client_ip(scope)})
            context.end(token)


def _metrics_router(render: Callable[[], bytes], token: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        if not token:
            return Response(status_code=404)
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.encode(), token.encode()):
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(render(), media_type=m.CONTENT_TYPE)

    @router.get("/livez")
    async def livez() -> dict[str, str]:
        """Liveness: the event loop answers (no store checks, unlike /health, so a
        database outage does not make Kubernetes restart every API pod)."""
        return {"status": "ok"}

    return router


def install_observability(app: FastAPI, settings: Settings) -> None:
    """Add the middleware, ``/metrics`` + ``/livez``, and the metrics port's server
    to ``app`` (call after the other middleware that should be inside it)."""
    extra = platform_registry(app.state.pc.db, settings.metrics_db_interval_seconds)
    app.state.metrics_registry = extra
    app.add_middleware(RequestObservabilityMiddleware)
    app.include_router(_metrics_router(lambda: m.render(extra), settings.metrics_token))
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        server = None
        if settings.metrics_port:
            server = m.serve(settings.metrics_host, settings.metrics_port, extra)
        application.state.metrics_server = server
        try:
            async with inner(application) as state:
                yield state
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
            m.mark_process_dead()

    app.router.lifespan_context = lifespan
