"""Domain errors → ``{"detail": ...}`` with the right status code, never a 500 for
bad input."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from pc_api.conditional import etag
from pc_core.errors import DomainError, PreconditionFailed, TooManyRequests, Unauthorized


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(_: Request, exc: DomainError) -> JSONResponse:
        headers: dict[str, str] = {}
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, Unauthorized):
            headers["WWW-Authenticate"] = "Bearer"
        body: dict[str, Any] = {"detail": exc.detail}
        if isinstance(exc, PreconditionFailed):
            # The version the caller missed, so it can show it (RFC 9110 §13.1.1).
            body["current"] = jsonable_encoder(exc.current)
            headers["ETag"] = etag(exc.revision)
        return JSONResponse(body, status_code=exc.status_code, headers=headers)
