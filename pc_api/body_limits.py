"""Request body limits, enforced while the body streams in.

Without them a 50 MB body to any JSON route was read and parsed whole (hundreds of
MiB of API memory for one request). Each request gets a limit by path:

- ``/v1/leads/import``: the CSV limit (``PC_IMPORT_MAX_BYTES``) plus a little for
  the multipart envelope (the route still reports a too-large *file* itself);
- ``/v1/webhooks/*`` and ``/v1/meetings/webhooks/*``: ``PC_MAX_WEBHOOK_BYTES``;
- everything else: ``PC_MAX_JSON_BYTES``.

A declared ``Content-Length`` over the limit is refused before the app runs; a
chunked (or lying) body is counted chunk by chunk as the app reads it and refused as
soon as it passes the limit, so at most one chunk beyond the limit is ever held.
The answer is 413 ``{"detail": ...}`` with ``Connection: close``, so the server
stops reading the rest instead of draining it.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pc_core.settings import Settings

IMPORT_PATH = "/v1/leads/import"
WEBHOOK_PREFIXES = ("/v1/webhooks/", "/v1/meetings/webhooks/")
# Boundaries, part headers and the optional partner_id field around the CSV file.
MULTIPART_ENVELOPE = 64 * 1024


def _size(limit: int) -> str:
    if limit >= 1024 * 1024 and limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MB"
    if limit >= 1024 and limit % 1024 == 0:
        return f"{limit // 1024} KB"
    return f"{limit} bytes"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the body passes the limit. An HTTPException, so
    code that wraps body parsing (FastAPI turns other errors into a 400) lets it
    through; the middleware answers 413 whatever the app made of it."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body too large: the limit for this route is "
                              f"{_size(limit)}")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.json_limit = settings.max_json_bytes
        self.webhook_limit = settings.max_webhook_bytes
        self.import_limit = settings.import_max_bytes + MULTIPART_ENVELOPE

    def limit_for(self, path: str) -> int:
        if path == IMPORT_PATH:
            return self.import_limit
        if path.startswith(WEBHOOK_PREFIXES):
            return self.webhook_limit
        return self.json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await _refuse(scope, receive, send, 400, "invalid Content-Length header")
                return
            if int(declared) > limit:
                await _refuse(scope, receive, send, 413, BodyTooLarge(limit).detail)
                return

        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # whatever the app answered; the 413 goes out below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
            # Whatever the app made of the cut-off body, the answer is the 413.
        if exceeded and not started:
            await _refuse(scope, receive, send, 413, BodyTooLarge(limit).detail)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    response = JSONResponse({"detail": detail}, status_code=status,
                            headers={"Connection": "close"})
    await response(scope, receive, send)
