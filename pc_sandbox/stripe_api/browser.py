"""What Stripe.js does from the customer's browser, against the sandbox.

The web client confirms a PaymentIntent the way Stripe.js's ``confirmCardPayment``
does: a form POST to ``/v1/payment_intents/{id}/confirm`` carrying the publishable
key (``key=pk_...``), the intent's ``client_secret`` and the typed card
(``payment_method_data[type]=card``, ``[card][number]``, ``[exp_month]``,
``[exp_year]``, ``[cvc]``). The test card numbers behave as Stripe documents them
(4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined with
``card_declined``...). Answers to a publishable key show the reduced PaymentIntent
Stripe gives browsers (no metadata, customer or transfer data).

Cross-origin: the app runs on the API's origin, the sandbox on another port, so the
answers carry CORS headers for ``PC_SANDBOX_STRIPE_CORS_ORIGINS`` (default any: no
cookie is involved, the key and client secret travel in the body) and preflights of
the browser routes are answered.
"""

from __future__ import annotations

import copy
import hmac
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from . import payment_flow as flow
from . import state
from .cors import cors_headers
from .errors import StripeError, invalid_param, missing_param
from .params import Params, get_dict, get_str
from .test_cards import CARD_NUMBERS

# What a browser may read of a PaymentIntent (Stripe's publishable-key view).
BROWSER_FIELDS = (
    "id", "object", "amount", "canceled_at", "cancellation_reason", "capture_method",
    "client_secret", "confirmation_method", "created", "currency", "description",
    "last_payment_error", "livemode", "next_action", "payment_method",
    "payment_method_types", "receipt_email", "status",
)

router = APIRouter()


def is_publishable(request: Request) -> bool:
    return getattr(request.state, "stripe_key", None) == "publishable"


@router.options("/v1/payment_intents/{pi_id}/confirm")
@router.options("/v1/payment_intents/{pi_id}")
def preflight(pi_id: str, request: Request) -> Response:
    """CORS preflight (a browser asks before sending an Authorization header)."""
    headers = cors_headers(request)
    if not headers:
        return Response(status_code=403)
    headers.update({
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, Stripe-Version",
        "Access-Control-Max-Age": "600",
    })
    return Response(status_code=204, headers=headers)


def browser_view(pi: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(pi.get(k)) for k in BROWSER_FIELDS}


def check_client_secret(pi: dict[str, Any], params: Params) -> None:
    """A publishable key works only together with the intent's client secret."""
    given = get_str(params, "client_secret")
    if given is None:
        raise missing_param("client_secret")
    if not hmac.compare_digest(given.encode(), str(pi["client_secret"]).encode()):
        raise invalid_param("client_secret", "The client_secret provided does not match the "
                                             "client_secret associated with the PaymentIntent.")


def _card_error(code: str, message: str, param: str) -> StripeError:
    return StripeError(message, status=402, type="card_error", code=code, param=param)


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_payment_method(params: Params) -> str:
    """The test PaymentMethod matching typed card details, after Stripe's checks."""
    data = get_dict(params, "payment_method_data")
    if data.get("type") != "card":
        raise missing_param("payment_method_data[type]")
    card = data.get("card") if isinstance(data.get("card"), dict) else {}
    number = "".join(str(card.get("number") or "").split())
    if not number:
        raise missing_param("payment_method_data[card][number]")
    if not number.isdigit() or not 12 <= len(number) <= 19 or not _luhn_ok(number):
        raise _card_error("incorrect_number", "Your card number is incorrect.",
                          "payment_method_data[card][number]")
    try:
        month, year = int(card.get("exp_month") or 0), int(card.get("exp_year") or 0)
    except ValueError:
        month, year = 0, 0
    year = year + 2000 if 0 <= year < 100 else year
    if not 1 <= month <= 12:
        raise _card_error("invalid_expiry_month", "Your card's expiration month is invalid.",
                          "payment_method_data[card][exp_month]")
    today = datetime.now(UTC)
    if (year, month) < (today.year, today.month) or year > today.year + 50:
        raise _card_error("invalid_expiry_year", "Your card's expiration year is invalid.",
                          "payment_method_data[card][exp_year]")
    cvc = str(card.get("cvc") or "")
    if not (cvc.isdigit() and len(cvc) in (3, 4)):
        raise _card_error("invalid_cvc", "Your card's security code is invalid.",
                          "payment_method_data[card][cvc]")
    return CARD_NUMBERS.get(number, "pm_card_visa")


def confirm(st: state.StripeState, pi: dict[str, Any], params: Params) -> JSONResponse:
    """``confirmCardPayment``: typed card (or a test ``pm_...``) → confirmed intent, or
    Stripe's 402 ``card_error`` whose ``payment_intent`` is the browser's view."""
    check_client_secret(pi, params)
    payment_method = get_str(params, "payment_method") or card_payment_method(params)
    try:
        flow.confirm(st, pi, {"payment_method": payment_method})
    except StripeError as exc:
        if isinstance(exc.extra.get("payment_intent"), dict):
            exc.extra["payment_intent"] = browser_view(exc.extra["payment_intent"])
        raise
    return JSONResponse(browser_view(pi))


def retrieve(pi: dict[str, Any], params: Params) -> JSONResponse:
    check_client_secret(pi, params)
    return JSONResponse(browser_view(pi))
