"""Stripe's error envelope, so the SDK raises its usual exception classes.

The SDK maps ``{"error": {"type", "code", "message", "param"}}`` plus the HTTP
status to ``InvalidRequestError``, ``CardError``, ``IdempotencyError`` and so on.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

DOC_BASE = "https://stripe.com/docs/error-codes/"


class StripeError(Exception):
    """An API failure rendered as a Stripe error body."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        """The JSON document Stripe answers with."""
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = DOC_BASE + self.code.replace("_", "-")
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}

    def response(self) -> JSONResponse:
        """As an HTTP response."""
        return JSONResponse(self.body(), status_code=self.status)


def not_found(kind: str, object_id: str, param: str = "id") -> StripeError:
    """Stripe's ``resource_missing`` error."""
    return StripeError(
        f"No such {kind}: '{object_id}'", status=404, code="resource_missing", param=param
    )


def missing_param(name: str) -> StripeError:
    """Stripe's ``parameter_missing`` error."""
    return StripeError(f"Missing required param: {name}.", code="parameter_missing", param=name)


def invalid_param(name: str, message: str) -> StripeError:
    """A parameter has the wrong shape or value."""
    return StripeError(message, code="parameter_invalid", param=name)


def unexpected_state(kind: str, message: str) -> StripeError:
    """An action that the object's current status does not allow."""
    return StripeError(message, code=f"{kind}_unexpected_state")
