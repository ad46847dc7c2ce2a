"""Stripe-shaped 404 for ``/v1`` paths the sandbox does not implement.

Without it the SDK would get FastAPI's ``{"detail": ...}`` and report an
unreadable response instead of a clear ``InvalidRequestError``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .errors import StripeError
from .routing import StripeRoute

router = APIRouter(route_class=StripeRoute)


@router.api_route("/v1/{rest:path}", methods=["GET", "POST", "DELETE"])
def unknown(rest: str, request: Request) -> JSONResponse:
    """Unrecognized request URL, as Stripe words it."""
    raise StripeError(
        f"Unrecognized request URL ({request.method}: /v1/{rest}). The Stripe sandbox of "
        "Partner Connector implements PaymentIntents, Customers, Charges, Refunds, "
        "Invoices, Invoice Items and Events.",
        status=404,
    )
