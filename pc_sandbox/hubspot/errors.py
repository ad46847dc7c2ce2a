"""HubSpot-shaped error answers, raised as exceptions from anywhere in a request.

The router cannot install app-level exception handlers (``pc_sandbox/app.py`` is shared), so
the custom route class in ``routing.py`` turns these into JSON responses.
"""

from __future__ import annotations

import uuid
from typing import Any

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
    "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def correlation_id() -> str:
    """A fresh correlation id, as HubSpot attaches to every error."""
    return str(uuid.uuid4())


class HubSpotError(Exception):
    """An error answer: HTTP status, JSON body, extra headers."""

    def __init__(
        self, status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(body.get("message", ""))
        self.status_code = status_code
        self.body = body
        self.headers = headers or {}


def api_error(
    status_code: int,
    message: str,
    category: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    context: dict[str, list[str]] | None = None,
    sub_category: str | None = None,
    headers: dict[str, str] | None = None,
) -> HubSpotError:
    """The standard CRM error body: status/message/correlationId/category (+errors/context)."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
    }
    if sub_category:
        body["subCategory"] = sub_category
    if errors is not None:
        body["errors"] = errors
    if context is not None:
        body["context"] = context
    return HubSpotError(status_code, body, headers)


def validation_error(message: str, errors: list[dict[str, Any]] | None = None) -> HubSpotError:
    """400 VALIDATION_ERROR, HubSpot's answer to malformed input and exceeded input limits."""
    return api_error(400, message, "VALIDATION_ERROR", errors=errors)


def not_found(message: str = "resource not found") -> HubSpotError:
    """404 OBJECT_NOT_FOUND."""
    return api_error(404, message, "OBJECT_NOT_FOUND")


def unauthorized() -> HubSpotError:
    """401 for a missing, unknown or expired bearer token (HubSpot does not say which)."""
    return api_error(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")


def missing_scopes(required: list[str]) -> HubSpotError:
    """403 MISSING_SCOPES naming the scope the call needs."""
    return api_error(
        403,
        "This app hasn't been granted all required scopes to make this call. Read more about "
        "required scopes here: https://developers.hubspot.com/scopes.",
        "MISSING_SCOPES",
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": required},
            }
        ],
    )


def rate_limited(policy: str, retry_after: int, group: str) -> HubSpotError:
    """429 with HubSpot's rate-limit body (errorType/policyName) and ``Retry-After``."""
    message = {
        "SECONDLY": "You have reached your secondly limit.",
        "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
        "DAILY": "You have reached your daily limit.",
    }.get(policy, "You have reached your secondly limit.")
    body = {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
        "groupName": group,
    }
    return HubSpotError(429, body, {"Retry-After": str(max(1, retry_after))})


def oauth_error(status: str, message: str, status_code: int = 400) -> HubSpotError:
    """The OAuth endpoints' error body: the error code sits in ``status``."""
    body = {
        "status": status,
        "message": message,
        "correlationId": correlation_id(),
        "requestId": uuid.uuid4().hex,
    }
    return HubSpotError(status_code, body)
