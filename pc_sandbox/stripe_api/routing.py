"""The route class every ``/v1`` endpoint uses.

The sandbox only owns a router (the app is shared), so instead of app-level
exception handlers this wraps each endpoint: API-key check, Idempotency-Key
replay, Stripe error bodies, and the ``Request-Id`` / ``Stripe-Version`` headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from . import idempotency
from .auth import authenticate, publishable_refused
from .cors import PUBLISHABLE_ROUTES, cors_headers
from .errors import StripeError
from .events import CURRENT_REQUEST
from .ids import new_id
from .settings import SETTINGS

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

# One asyncio lock per key in flight, so concurrent retries replay instead of racing.
_key_locks: dict[str, asyncio.Lock] = {}


async def _idempotent(request: Request, key: str, original: Handler) -> Response:
    idempotency.validate_key(key)
    body = await request.body()
    print_ = idempotency.fingerprint(request.method, request.url.path, body)
    lock = _key_locks.setdefault(key, asyncio.Lock())
    try:
        async with lock:
            record = idempotency.lookup(key, print_)
            if record is not None:
                response = Response(record.body, record.status, media_type="application/json")
                response.headers["Idempotent-Replayed"] = "true"
                return response
            response = await _call(original, request)
            if idempotency.should_save(response.status_code):
                idempotency.save(key, print_, response.status_code, bytes(response.body))
            return response
    finally:
        if not lock.locked():
            _key_locks.pop(key, None)


async def _call(original: Handler, request: Request) -> Response:
    try:
        return await original(request)
    except StripeError as exc:
        return exc.response()


class StripeRoute(APIRoute):
    """APIRoute that speaks Stripe's conventions around the endpoint."""

    def _publishable_ok(self) -> bool:
        """Only the calls Stripe.js makes accept the publishable key."""
        return any(self.path.endswith(path) and method in self.methods
                   for method, path in PUBLISHABLE_ROUTES)

    def get_route_handler(self) -> Handler:
        original = super().get_route_handler()
        publishable_ok = self._publishable_ok()

        async def handler(request: Request) -> Response:
            request_id = new_id("req", 14)
            key = request.headers.get("Idempotency-Key")
            CURRENT_REQUEST.set({"id": request_id, "idempotency_key": key})
            try:
                kind = await authenticate(request)
                if kind == "publishable" and not publishable_ok:
                    raise publishable_refused()
                request.state.stripe_key = kind
                if request.method == "POST" and key:
                    response = await _idempotent(request, key, original)
                else:
                    response = await _call(original, request)
            except StripeError as exc:
                response = exc.response()
            response.headers["Request-Id"] = request_id
            response.headers["Stripe-Version"] = (
                request.headers.get("Stripe-Version") or SETTINGS.api_version
            )
            if key:
                response.headers["Idempotency-Key"] = key
            response.headers.update(cors_headers(request))
            return response

        return handler
