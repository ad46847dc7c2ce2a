"""Which calls a browser may make with the publishable key, and the CORS headers
its answers carry. Its own module because both the router (every answer) and the
browser routes (the preflights) need it, and the router sits below the routes."""

from __future__ import annotations

from fastapi import Request

from .settings import SETTINGS

# (method, path suffix) of the calls that accept the publishable key.
PUBLISHABLE_ROUTES = (
    ("POST", "/v1/payment_intents/{pi_id}/confirm"),
    ("GET", "/v1/payment_intents/{pi_id}"),
)


def cors_headers(request: Request) -> dict[str, str]:
    """CORS headers for an allowed ``Origin`` (none for other origins or no Origin)."""
    origin = request.headers.get("origin", "").rstrip("/")
    if not origin:
        return {}
    allowed = SETTINGS.cors_origins
    if "*" in allowed:
        return {"Access-Control-Allow-Origin": "*"}
    if origin in allowed:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}
