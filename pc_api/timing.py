"""``Server-Timing`` on every answer: total time and time spent in MongoDB.

Browsers' developer tools show it, and the benchmarks use it to report the
platform's own time apart from the database's. The database time comes from
pymongo's command monitoring, summed per request through a context variable.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _Bucket:
    __slots__ = ("db_ns",)

    def __init__(self) -> None:
        self.db_ns = 0


_current: ContextVar[_Bucket | None] = ContextVar("pc_db_time", default=None)


class DbTimeListener(CommandListener):
    """Adds each command's duration to the current request's bucket."""

    def started(self, event: CommandStartedEvent) -> None:
        pass

    def _add(self, micros: int) -> None:
        bucket = _current.get()
        if bucket is not None:
            bucket.db_ns += micros * 1000

    def succeeded(self, event: CommandSucceededEvent) -> None:
        self._add(event.duration_micros)

    def failed(self, event: CommandFailedEvent) -> None:
        self._add(event.duration_micros)


class ServerTimingMiddleware:
    """Pure ASGI middleware (no response buffering) adding the header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bucket = _Bucket()
        token = _current.set(bucket)
        start = time.perf_counter_ns()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                total_ms = (time.perf_counter_ns() - start) / 1e6
                db_ms = bucket.db_ns / 1e6
                value = (
                    f"app;dur={total_ms - db_ms:.3f}, db;dur={db_ms:.3f}, "
                    f"total;dur={total_ms:.3f}"
                )
                headers = list(message.get("headers", []))
                headers.append((b"server-timing", value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_timing)
        finally:
            _current.reset(token)
