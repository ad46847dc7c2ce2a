"""Money moving to connected accounts: destination-charge transfers, their
reversals, application fees and their refunds, payouts and balances.

As Stripe documents destination charges (docs/external-apis.md "Stripe Connect"):
a PaymentIntent with ``transfer_data[destination]`` and ``application_fee_amount``
creates, when its charge succeeds, a Transfer of ``amount - application_fee_amount``
to the destination (``source_transaction`` = the charge, ``charge.transfer`` = the
transfer) and an Application Fee the platform keeps. A refund with
``reverse_transfer=true`` reverses the transfer in proportion to the amount refunded
(a Transfer Reversal: ``transfer.reversed``), and ``refund_application_fee=true``
refunds the fee in proportion (``application_fee.refunded``); reversing a
destination-charge transfer is allowed up to the charge even if it takes the
connected account's balance below zero.

A connected account's balance (``GET /v1/balance`` with ``Stripe-Account``) is what
was transferred, minus reversals and payouts; money is ``available`` at once here
(Stripe makes it pending for a few days first). ``POST /_sandbox/accounts/{id}/payout``
pays the available balance out (Stripe does it on the account's payout schedule),
with ``payout.paid``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from . import state
from .errors import StripeError, not_found
from .events import emit
from .ids import new_id, now
from .params import Params, form_params, get_str
from .render import list_page, respond
from .routing import StripeRoute

router = APIRouter(route_class=StripeRoute)
admin = APIRouter(prefix="/_sandbox", tags=["stripe sandbox admin"])


def on_destination_charge(st: state.StripeState, pi: dict[str, Any],
                          charge: dict[str, Any]) -> None:
    """A succeeded (captured) destination charge: the transfer and the platform's fee."""
    destination = (pi.get("transfer_data") or {}).get("destination")
    if not destination or charge.get("transfer"):
        return
    fee_amount = int(pi.get("application_fee_amount") or 0)
    amount = int((pi.get("transfer_data") or {}).get("amount") or charge["amount"] - fee_amount)
    transfer = {
        "id": new_id("tr"), "object": "transfer", "amount": amount, "amount_reversed": 0,
        "created": now(), "currency": charge["currency"], "destination": destination,
        "metadata": dict(pi.get("metadata") or {}), "reversed": False,
        "reversals": {"object": "list", "data": [], "has_more": False},
        "source_transaction": charge["id"], "transfer_group": f"group_{pi['id']}",
    }
    st.table("transfer")[transfer["id"]] = transfer
    charge["transfer"] = transfer["id"]
    emit(st, "transfer.created", transfer)
    if fee_amount:
        fee = {
            "id": new_id("fee"), "object": "application_fee", "account": destination,
            "amount": fee_amount, "amount_refunded": 0, "charge": charge["id"],
            "created": now(), "currency": charge["currency"], "refunded": False,
            "refunds": {"object": "list", "data": [], "has_more": False},
        }
        st.table("application_fee")[fee["id"]] = fee
        charge["application_fee"] = fee["id"]
        emit(st, "application_fee.created", fee)


def _share(part: int, of: int, total: int) -> int:
    """``total`` × part/of, rounded down (Stripe reverses proportionally)."""
    return total * part // of if of else 0


def check_reversible(st: state.StripeState, charge: dict[str, Any], reverse_transfer: bool,
                     refund_fee: bool) -> None:
    """``reverse_transfer`` / ``refund_application_fee`` need a destination charge."""
    if reverse_transfer and not charge.get("transfer"):
        raise StripeError("The charge has no transfer to reverse: reverse_transfer can only be "
                          "used with destination charges.", param="reverse_transfer")
    if refund_fee and not charge.get("application_fee"):
        raise StripeError("The charge has no application fee to refund.",
                          param="refund_application_fee")


def on_refund(st: state.StripeState, charge: dict[str, Any], refund: dict[str, Any],
              reverse_transfer: bool, refund_fee: bool) -> None:
    """The connected account's and the platform's parts of a refund, in proportion."""
    if reverse_transfer:
        transfer = st.table("transfer")[charge["transfer"]]
        amount = min(_share(refund["amount"], charge["amount"], transfer["amount"]),
                     transfer["amount"] - transfer["amount_reversed"])
        reversal = {
            "id": new_id("trr"), "object": "transfer_reversal", "amount": amount,
            "created": now(), "currency": transfer["currency"], "metadata": {},
            "source_refund": refund["id"], "transfer": transfer["id"],
        }
        st.table("transfer_reversal")[reversal["id"]] = reversal
        transfer["reversals"]["data"].append(reversal)
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
        refund["transfer_reversal"] = reversal["id"]
        emit(st, "transfer.reversed", transfer)
    if refund_fee:
        fee = st.table("application_fee")[charge["application_fee"]]
        amount = min(_share(refund["amount"], charge["amount"], fee["amount"]),
                     fee["amount"] - fee["amount_refunded"])
        fee_refund = {"id": new_id("fr"), "object": "fee_refund", "amount": amount,
                      "created": now(), "currency": fee["currency"], "fee": fee["id"]}
        fee["refunds"]["data"].append(fee_refund)
        fee["amount_refunded"] += amount
        fee["refunded"] = fee["amount_refunded"] >= fee["amount"]
        emit(st, "application_fee.refunded", fee)


def _connected_account(request: Request) -> str | None:
    return request.headers.get("Stripe-Account") or None


def balance_of(st: state.StripeState, account_id: str) -> dict[str, Any]:
    transfers = [t for t in st.table("transfer").values() if t["destination"] == account_id]
    paid_out = sum(p["amount"] for p in st.table("payout").values()
                   if p["account"] == account_id)
    available = sum(t["amount"] - t["amount_reversed"] for t in transfers) - paid_out
    return {"object": "balance", "livemode": False,
            "available": [{"amount": available, "currency": "usd",
                           "source_types": {"card": available}}],
            "pending": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
            "connect_reserved": [{"amount": 0, "currency": "usd"}]}


@router.get("/v1/balance")
def retrieve_balance(request: Request, params: Params = Depends(form_params)) -> JSONResponse:
    """The balance of the account the request authenticates as (``Stripe-Account``)."""
    account = _connected_account(request)
    with state.reading() as st:
        if account is None:
            fees = sum(f["amount"] - f["amount_refunded"]
                       for f in st.table("application_fee").values())
            return JSONResponse({"object": "balance", "livemode": False,
                                 "available": [{"amount": fees, "currency": "usd"}],
                                 "pending": [{"amount": 0, "currency": "usd"}]})
        if account not in st.table("account"):
            raise StripeError(f"The provided key does not have access to account '{account}' "
                              "(or that account does not exist).", status=403,
                              type="invalid_request_error", code="account_invalid")
        return JSONResponse(balance_of(st, account))


@router.get("/v1/transfers/{transfer_id}")
def retrieve_transfer(transfer_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    with state.reading() as st:
        transfer = st.table("transfer").get(transfer_id)
        if transfer is None:
            raise not_found("transfer", transfer_id)
        return respond(st, transfer, params)


@router.get("/v1/transfers")
def list_transfers(params: Params = Depends(form_params)) -> JSONResponse:
    """Transfers, newest first, optionally to one ``destination``."""
    destination = get_str(params, "destination")
    with state.reading() as st:
        items = [t for t in st.table("transfer").values()
                 if destination is None or t["destination"] == destination]
        return list_page(st, items, params, "/v1/transfers")


@router.get("/v1/transfers/{transfer_id}/reversals")
def list_reversals(transfer_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    with state.reading() as st:
        transfer = st.table("transfer").get(transfer_id)
        if transfer is None:
            raise not_found("transfer", transfer_id)
        return list_page(st, transfer["reversals"]["data"], params,
                         f"/v1/transfers/{transfer_id}/reversals")


@router.get("/v1/application_fees")
def list_application_fees(params: Params = Depends(form_params)) -> JSONResponse:
    charge = get_str(params, "charge")
    with state.reading() as st:
        items = [f for f in st.table("application_fee").values()
                 if charge is None or f["charge"] == charge]
        return list_page(st, items, params, "/v1/application_fees")


@router.get("/v1/payouts")
def list_payouts(request: Request, params: Params = Depends(form_params)) -> JSONResponse:
    """The payouts of the account named by ``Stripe-Account``, newest first."""
    account = _connected_account(request)
    with state.reading() as st:
        items = [p for p in st.table("payout").values() if p["account"] == account]
        return list_page(st, items, params, "/v1/payouts")


@admin.post("/accounts/{account_id}/payout")
def pay_out(account_id: str) -> dict[str, Any]:
    """Pay a connected account's available balance to its bank account now."""
    with state.changing() as st:
        if account_id not in st.table("account"):
            raise HTTPException(404, f"no account {account_id}")
        amount = balance_of(st, account_id)["available"][0]["amount"]
        if amount <= 0:
            raise HTTPException(409, "nothing available to pay out")
        payout = {"id": new_id("po"), "object": "payout", "account": account_id,
                  "amount": amount, "arrival_date": now(), "created": now(),
                  "currency": "usd", "method": "standard", "status": "paid"}
        st.table("payout")[payout["id"]] = payout
        emit(st, "payout.paid", payout, account=account_id)
        return dict(payout)


@admin.post("/charges/{charge_id}/dispute")
def dispute(charge_id: str) -> dict[str, Any]:
    """The cardholder disputed the charge: Stripe then refuses refunds of it
    (``charge_disputed``)."""
    with state.changing() as st:
        charge = st.table("charge").get(charge_id)
        if charge is None:
            raise HTTPException(404, f"no charge {charge_id}")
        charge["disputed"] = True
        return {"id": charge_id, "disputed": True}
