"""``/v1/refunds``: money back on a succeeded PaymentIntent (or its charge)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from . import state, transfers
from .charges import get_charge
from .errors import StripeError, invalid_param, missing_param, not_found
from .events import emit
from .ids import new_id, now
from .params import Params, form_params, get_bool, get_int, get_str, merge_metadata
from .payment_flow import get_payment_intent
from .render import list_page, respond
from .routing import StripeRoute

router = APIRouter(route_class=StripeRoute)

REASONS = {"duplicate", "fraudulent", "requested_by_customer"}


def _charge_to_refund(st: state.StripeState, params: Params) -> dict[str, Any]:
    pi_id = get_str(params, "payment_intent")
    charge_id = get_str(params, "charge")
    if pi_id:
        pi = get_payment_intent(st, pi_id, "payment_intent")
        if pi["status"] != "succeeded" or not pi["latest_charge"]:
            raise StripeError(
                f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                code="charge_not_refundable",
                param="payment_intent",
            )
        return get_charge(st, pi["latest_charge"], "payment_intent")
    if charge_id:
        return get_charge(st, charge_id, "charge")
    raise missing_param("payment_intent")


@router.post("/v1/refunds")
def create_refund(params: Params = Depends(form_params)) -> JSONResponse:
    """Refund all or part (``amount``) of what is left on the charge."""
    with state.changing() as st:
        charge = _charge_to_refund(st, params)
        if not charge["paid"] or not charge["captured"]:
            raise StripeError(
                f"Charge {charge['id']} has not been captured.", code="charge_not_refundable"
            )
        left = charge["amount_captured"] - charge["amount_refunded"]
        if left <= 0:
            raise StripeError(
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = get_int(params, "amount", minimum=1) or left
        if amount > left:
            raise invalid_param(
                "amount",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
            )
        if charge.get("disputed"):
            raise StripeError(f"Charge {charge['id']} has been charged back; cannot issue a "
                              "refund.", code="charge_disputed")
        reverse_transfer = get_bool(params, "reverse_transfer")
        refund_fee = get_bool(params, "refund_application_fee")
        transfers.check_reversible(st, charge, reverse_transfer, refund_fee)
        reason = get_str(params, "reason")
        if reason and reason not in REASONS:
            raise invalid_param("reason", f"Invalid reason: {reason}")
        refund = {
            "id": new_id("re"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": charge["id"],
            "created": now(),
            "currency": charge["currency"],
            "metadata": merge_metadata({}, params),
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "status": "succeeded",
        }
        st.table("refund")[refund["id"]] = refund
        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        transfers.on_refund(st, charge, refund, reverse_transfer, refund_fee)
        emit(st, "refund.created", refund)
        emit(st, "charge.refunded", charge, previous_attributes=previous)
        return respond(st, refund, params)


@router.get("/v1/refunds/{refund_id}")
def retrieve_refund(refund_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    """Retrieve a refund."""
    with state.reading() as st:
        refund = st.table("refund").get(refund_id)
        if refund is None:
            raise not_found("refund", refund_id)
        return respond(st, refund, params)


@router.get("/v1/refunds")
def list_refunds(params: Params = Depends(form_params)) -> JSONResponse:
    """List refunds, newest first, by ``payment_intent`` or ``charge``."""
    pi = get_str(params, "payment_intent")
    charge = get_str(params, "charge")
    with state.reading() as st:
        items = [
            r
            for r in st.table("refund").values()
            if (pi is None or r["payment_intent"] == pi)
            and (charge is None or r["charge"] == charge)
        ]
        return list_page(st, items, params, "/v1/refunds")
