"""The PaymentIntent state machine, shared by the API routes and the admin shortcuts.

Statuses follow Stripe: ``requires_payment_method`` -> ``requires_confirmation``
-> (confirm) ``succeeded`` | ``requires_capture`` (manual capture) | back to
``requires_payment_method`` with ``last_payment_error`` on a decline, which is
answered with HTTP 402 ``card_error`` like the real API.
"""

from __future__ import annotations

import copy
from typing import Any

from . import state
from .charges import new_charge
from .errors import StripeError, invalid_param, missing_param, not_found, unexpected_state
from .events import emit
from .ids import new_id, now
from .params import Params, get_bool, get_dict, get_int, get_list, get_str, merge_metadata
from .test_cards import outcome_for, payment_method_object
from .transfers import on_destination_charge

CANCELABLE = {
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "requires_capture",
    "processing",
}
CONFIRMABLE = {"requires_payment_method", "requires_confirmation", "requires_action"}


def get_payment_intent(st: state.StripeState, pi_id: str, param: str = "id") -> dict[str, Any]:
    """A stored PaymentIntent or Stripe's 404."""
    pi = st.table("payment_intent").get(pi_id)
    if pi is None:
        raise not_found("payment_intent", pi_id, param)
    return pi


def _check_customer(st: state.StripeState, customer: str | None) -> None:
    if customer and customer not in st.table("customer"):
        raise not_found("customer", customer, "customer")


def _transfer_data(params: Params) -> dict[str, Any] | None:
    raw = get_dict(params, "transfer_data")
    if not raw:
        return None
    if not raw.get("destination"):
        raise missing_param("transfer_data[destination]")
    data: dict[str, Any] = {"destination": raw["destination"]}
    if raw.get("amount"):
        data["amount"] = int(raw["amount"])
    return data


def create(st: state.StripeState, params: Params) -> dict[str, Any]:
    """POST /v1/payment_intents; confirms straight away when ``confirm=true``."""
    amount = get_int(params, "amount", required=True, minimum=1)
    currency = (get_str(params, "currency", required=True) or "").lower()
    customer = get_str(params, "customer")
    _check_customer(st, customer)
    fee = get_int(params, "application_fee_amount")
    if fee is not None and fee > (amount or 0):
        raise invalid_param("application_fee_amount", "application_fee_amount must be <= amount.")
    payment_method = get_str(params, "payment_method")
    apm = get_dict(params, "automatic_payment_methods")
    pi_id = new_id("pi")
    pi: dict[str, Any] = {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "application_fee_amount": fee,
        "automatic_payment_methods": (
            {"allow_redirects": apm.get("allow_redirects", "always"), "enabled": True}
            if apm.get("enabled") == "true"
            else None
        ),
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": get_str(params, "capture_method") or "automatic_async",
        "client_secret": f"{pi_id}_secret_{new_id('s', 24)[2:]}",
        "confirmation_method": get_str(params, "confirmation_method") or "automatic",
        "created": now(),
        "currency": currency,
        "customer": customer,
        "description": get_str(params, "description"),
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": merge_metadata({}, params),
        "next_action": None,
        "on_behalf_of": get_str(params, "on_behalf_of"),
        "payment_method": payment_method,
        "payment_method_types": [str(t) for t in get_list(params, "payment_method_types")]
        or ["card"],
        "receipt_email": get_str(params, "receipt_email"),
        "statement_descriptor": get_str(params, "statement_descriptor"),
        "status": "requires_confirmation" if payment_method else "requires_payment_method",
        "transfer_data": _transfer_data(params),
        "transfer_group": get_str(params, "transfer_group"),
    }
    st.table("payment_intent")[pi_id] = pi
    emit(st, "payment_intent.created", pi)
    if get_bool(params, "confirm"):
        confirm(st, pi, {})
    return pi


UPDATABLE = ("description", "receipt_email", "statement_descriptor", "transfer_group")


def update(st: state.StripeState, pi: dict[str, Any], params: Params) -> dict[str, Any]:
    """POST /v1/payment_intents/{id}: amount, metadata and friends before confirmation."""
    if pi["status"] in ("succeeded", "canceled", "processing"):
        raise unexpected_state(
            "payment_intent",
            f"This PaymentIntent's status is {pi['status']}, so it cannot be updated.",
        )
    amount = get_int(params, "amount", minimum=1)
    if amount is not None:
        pi["amount"] = amount
    if get_str(params, "currency"):
        pi["currency"] = (get_str(params, "currency") or "").lower()
    if "customer" in params:
        _check_customer(st, get_str(params, "customer"))
        pi["customer"] = get_str(params, "customer")
    if get_str(params, "payment_method"):
        pi["payment_method"] = get_str(params, "payment_method")
        pi["status"] = "requires_confirmation"
    fee = get_int(params, "application_fee_amount")
    if fee is not None:
        pi["application_fee_amount"] = fee
    if "transfer_data" in params:
        pi["transfer_data"] = _transfer_data(params)
    for name in UPDATABLE:
        if name in params:
            pi[name] = get_str(params, name)
    pi["metadata"] = merge_metadata(pi["metadata"], params)
    return pi


def confirm(st: state.StripeState, pi: dict[str, Any], params: Params) -> dict[str, Any]:
    """Charge the payment method; raises the 402 ``card_error`` on a decline."""
    if pi["status"] not in CONFIRMABLE:
        raise unexpected_state(
            "payment_intent",
            f"You cannot confirm this PaymentIntent because it has a status of {pi['status']}.",
        )
    payment_method = get_str(params, "payment_method") or pi.get("payment_method")
    if not payment_method:
        raise StripeError(
            "You cannot confirm this PaymentIntent because it's missing a payment method. "
            "To confirm the PaymentIntent with a test card, pass payment_method=pm_card_visa.",
            code="payment_intent_unexpected_state",
        )
    pi["payment_method"] = payment_method
    result = outcome_for(payment_method)
    manual = pi["capture_method"] == "manual"
    charge = new_charge(st, pi, result, captured=not manual)
    pi["latest_charge"] = charge["id"]
    if not result.ok:
        pi["status"] = "requires_payment_method"
        error = {
            "type": "card_error",
            "code": result.code,
            "decline_code": result.decline_code,
            "message": result.message,
            "charge": charge["id"],
            "payment_method": payment_method_object(payment_method),
        }
        pi["last_payment_error"] = error
        emit(st, "charge.failed", charge)
        emit(st, "payment_intent.payment_failed", pi)
        raise StripeError(
            result.message or "Your card was declined.",
            status=402,
            type="card_error",
            code=result.code,
            extra={
                "decline_code": result.decline_code,
                "charge": charge["id"],
                "payment_intent": copy.deepcopy(pi),
                "payment_method": payment_method_object(payment_method),
            },
        )
    pi["last_payment_error"] = None
    if manual:
        pi["status"] = "requires_capture"
        pi["amount_capturable"] = pi["amount"]
        emit(st, "charge.succeeded", charge)
        emit(st, "payment_intent.amount_capturable_updated", pi)
        return pi
    pi["status"] = "succeeded"
    pi["amount_received"] = pi["amount"]
    emit(st, "charge.succeeded", charge)
    on_destination_charge(st, pi, charge)
    emit(st, "payment_intent.succeeded", pi)
    return pi


def capture(st: state.StripeState, pi: dict[str, Any], params: Params) -> dict[str, Any]:
    """POST /v1/payment_intents/{id}/capture for manual-capture intents."""
    if pi["status"] != "requires_capture":
        raise unexpected_state(
            "payment_intent",
            f"This PaymentIntent could not be captured because it has a status of {pi['status']}.",
        )
    amount = get_int(params, "amount_to_capture") or pi["amount_capturable"]
    if amount > pi["amount_capturable"]:
        raise invalid_param("amount_to_capture", "amount_to_capture exceeds the capturable amount.")
    charge = st.table("charge")[pi["latest_charge"]]
    charge.update(captured=True, amount_captured=amount)
    pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
    emit(st, "charge.captured", charge)
    on_destination_charge(st, pi, charge)
    emit(st, "payment_intent.succeeded", pi)
    return pi


def cancel(st: state.StripeState, pi: dict[str, Any], params: Params) -> dict[str, Any]:
    """POST /v1/payment_intents/{id}/cancel."""
    if pi["status"] not in CANCELABLE:
        raise unexpected_state(
            "payment_intent",
            "You cannot cancel this PaymentIntent because it has a status of "
            f"{pi['status']}. Only a PaymentIntent with one of the following statuses may be "
            f"canceled: {', '.join(sorted(CANCELABLE))}.",
        )
    pi.update(
        status="canceled",
        canceled_at=now(),
        cancellation_reason=get_str(params, "cancellation_reason") or "requested_by_customer",
        amount_capturable=0,
    )
    emit(st, "payment_intent.canceled", pi)
    return pi
