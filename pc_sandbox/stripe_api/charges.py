"""Charges: the record of each payment attempt behind a PaymentIntent.

Refunds and ``charge.*`` events point at charges, so they exist even though the
app only talks PaymentIntents.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from . import state
from .errors import not_found
from .ids import new_id, now
from .params import Params, form_params, get_str
from .render import list_page, respond
from .routing import StripeRoute
from .test_cards import Outcome

router = APIRouter(route_class=StripeRoute)


def new_charge(
    st: state.StripeState, pi: dict[str, Any], result: Outcome, captured: bool
) -> dict[str, Any]:
    """Record one attempt to charge ``pi`` with the card outcome ``result``."""
    charge = {
        "id": new_id("ch"),
        "object": "charge",
        "amount": pi["amount"],
        "amount_captured": pi["amount"] if result.ok and captured else 0,
        "amount_refunded": 0,
        "application_fee_amount": pi.get("application_fee_amount"),
        "balance_transaction": None,
        "captured": result.ok and captured,
        "created": now(),
        "currency": pi["currency"],
        "customer": pi.get("customer"),
        "description": pi.get("description"),
        "failure_code": None if result.ok else result.code,
        "failure_message": None if result.ok else result.message,
        "livemode": False,
        "metadata": dict(pi.get("metadata") or {}),
        "outcome": {
            "network_status": "approved_by_network" if result.ok else "declined_by_network",
            "reason": None if result.ok else result.decline_code,
            "type": "authorized" if result.ok else "issuer_declined",
        },
        "paid": result.ok,
        "payment_intent": pi["id"],
        "payment_method": pi.get("payment_method"),
        "payment_method_details": {
            "type": "card",
            "card": {"brand": result.brand, "last4": result.last4},
        },
        "receipt_email": pi.get("receipt_email"),
        "refunded": False,
        "status": "succeeded" if result.ok else "failed",
        "transfer_data": pi.get("transfer_data"),
        "transfer_group": pi.get("transfer_group"),
    }
    st.table("charge")[charge["id"]] = charge
    return charge


def get_charge(st: state.StripeState, charge_id: str, param: str = "id") -> dict[str, Any]:
    """A stored charge or Stripe's 404."""
    charge = st.table("charge").get(charge_id)
    if charge is None:
        raise not_found("charge", charge_id, param)
    return charge


@router.get("/v1/charges/{charge_id}")
def retrieve_charge(charge_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    """GET /v1/charges/{id}."""
    with state.reading() as st:
        return respond(st, get_charge(st, charge_id), params)


@router.get("/v1/charges")
def list_charges(params: Params = Depends(form_params)) -> JSONResponse:
    """GET /v1/charges, filterable by ``payment_intent`` and ``customer``."""
    pi = get_str(params, "payment_intent")
    customer = get_str(params, "customer")
    with state.reading() as st:
        items = [
            c
            for c in st.table("charge").values()
            if (pi is None or c["payment_intent"] == pi)
            and (customer is None or c["customer"] == customer)
        ]
        return list_page(st, items, params, "/v1/charges")
