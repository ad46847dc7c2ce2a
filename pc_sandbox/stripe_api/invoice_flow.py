"""Invoice lifecycle for monthly billing: draft -> open (finalize) -> paid.

Totals are always recomputed from the invoice items attached to the invoice,
so an item added to a draft shows up in ``lines``, ``subtotal`` and ``amount_due``.
Paying does not create a PaymentIntent (the real API does); only ``invoice.*``
events are sent.
"""

from __future__ import annotations

import copy
from typing import Any

from . import state
from .errors import StripeError, not_found, unexpected_state
from .events import emit
from .ids import now
from .params import Params, get_bool, get_str
from .test_cards import outcome_for, payment_method_object


def get_invoice(st: state.StripeState, invoice_id: str, param: str = "id") -> dict[str, Any]:
    """A stored invoice or Stripe's 404."""
    invoice = st.table("invoice").get(invoice_id)
    if invoice is None:
        raise not_found("invoice", invoice_id, param)
    return invoice


def line_for(item: dict[str, Any]) -> dict[str, Any]:
    """The invoice line item an invoice item becomes."""
    return {
        "id": "il_" + item["id"].removeprefix("ii_"),
        "object": "line_item",
        "amount": item["amount"],
        "currency": item["currency"],
        "description": item["description"],
        "invoice": item["invoice"],
        "livemode": False,
        "metadata": dict(item["metadata"]),
        "parent": {
            "type": "invoice_item_details",
            "invoice_item_details": {"invoice_item": item["id"]},
        },
        "invoice_item": item["id"],
        "period": dict(item["period"]),
        "quantity": item["quantity"],
    }


def recompute(st: state.StripeState, invoice: dict[str, Any]) -> None:
    """Refresh ``lines`` and every total from the attached invoice items."""
    items = [i for i in st.table("invoiceitem").values() if i["invoice"] == invoice["id"]]
    lines = [line_for(i) for i in items]
    total = sum(i["amount"] for i in items)
    invoice["lines"] = {
        "object": "list",
        "data": lines,
        "has_more": False,
        "total_count": len(lines),
        "url": f"/v1/invoices/{invoice['id']}/lines",
    }
    invoice["subtotal"] = invoice["subtotal_excluding_tax"] = total
    invoice["total"] = invoice["total_excluding_tax"] = total
    invoice["amount_due"] = total
    invoice["amount_remaining"] = max(total - invoice["amount_paid"], 0)


def _mark_paid(st: state.StripeState, invoice: dict[str, Any], out_of_band: bool) -> None:
    invoice.update(
        status="paid",
        amount_paid=invoice["amount_due"],
        amount_remaining=0,
        paid_out_of_band=out_of_band,
    )
    invoice["status_transitions"]["paid_at"] = now()
    emit(st, "invoice.paid", invoice)
    emit(st, "invoice.payment_succeeded", invoice)


def finalize(st: state.StripeState, invoice: dict[str, Any]) -> dict[str, Any]:
    """Draft -> open, with a number; a zero total is paid at once (as Stripe does)."""
    if invoice["status"] != "draft":
        raise unexpected_state(
            "invoice",
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
        )
    recompute(st, invoice)
    st.invoice_counter += 1
    customer = st.table("customer").get(invoice["customer"]) or {}
    prefix = customer.get("invoice_prefix") or "PCSANDBOX"
    invoice["number"] = f"{prefix}-{st.invoice_counter:04d}"
    invoice["status"] = "open"
    invoice["status_transitions"]["finalized_at"] = now()
    if invoice["collection_method"] == "send_invoice" and not invoice["due_date"]:
        invoice["due_date"] = now() + 86400 * (invoice.get("days_until_due") or 30)
    emit(st, "invoice.finalized", invoice)
    if invoice["amount_due"] == 0:
        _mark_paid(st, invoice, out_of_band=False)
    return invoice


def pay(st: state.StripeState, invoice: dict[str, Any], params: Params) -> dict[str, Any]:
    """Collect an invoice; a draft is finalized first. Declines answer 402."""
    if invoice["status"] == "draft":
        finalize(st, invoice)
    if invoice["status"] == "paid":
        raise StripeError("Invoice is already paid", code="invoice_already_paid")
    if invoice["status"] != "open":
        raise unexpected_state(
            "invoice", f"You cannot pay an invoice with status {invoice['status']}."
        )
    if get_bool(params, "paid_out_of_band"):
        _mark_paid(st, invoice, out_of_band=True)
        return invoice
    customer = st.table("customer").get(invoice["customer"]) or {}
    payment_method = (
        get_str(params, "payment_method")
        or invoice.get("default_payment_method")
        or (customer.get("invoice_settings") or {}).get("default_payment_method")
        or "pm_card_visa"
    )
    result = outcome_for(payment_method)
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    if not result.ok:
        invoice["last_finalization_error"] = None
        emit(st, "invoice.payment_failed", invoice)
        raise StripeError(
            result.message or "Your card was declined.",
            status=402,
            type="card_error",
            code=result.code,
            extra={
                "decline_code": result.decline_code,
                "payment_method": payment_method_object(payment_method),
                "invoice": copy.deepcopy(invoice),
            },
        )
    _mark_paid(st, invoice, out_of_band=False)
    return invoice


def void(st: state.StripeState, invoice: dict[str, Any]) -> dict[str, Any]:
    """Open -> void: the invoice will never be paid."""
    if invoice["status"] != "open":
        raise unexpected_state("invoice", "You can only void an open invoice.")
    invoice["status"] = "void"
    invoice["amount_remaining"] = 0
    invoice["status_transitions"]["voided_at"] = now()
    emit(st, "invoice.voided", invoice)
    return invoice
