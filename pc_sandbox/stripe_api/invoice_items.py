"""``/v1/invoiceitems``: charges to put on a customer's (next) invoice."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from . import invoice_flow, state
from .customers import get_customer
from .errors import StripeError, invalid_param, missing_param, not_found
from .events import emit
from .ids import new_id, now
from .params import Params, form_params, get_int, get_str, merge_metadata
from .render import list_page, respond
from .routing import StripeRoute

router = APIRouter(route_class=StripeRoute)


def _amount(params: Params) -> tuple[int, int]:
    """(amount, quantity) from ``amount`` or ``unit_amount`` x ``quantity``."""
    quantity = get_int(params, "quantity", minimum=1) or 1
    amount = get_int(params, "amount", minimum=-(10**12))
    if amount is not None:
        return amount, quantity
    unit = get_int(params, "unit_amount")
    if unit is None:
        raise missing_param("amount")
    return unit * quantity, quantity


@router.post("/v1/invoiceitems")
def create_invoice_item(params: Params = Depends(form_params)) -> JSONResponse:
    """Add an item to a draft ``invoice`` or leave it pending for the next one."""
    amount, quantity = _amount(params)
    currency = (get_str(params, "currency", required=True) or "").lower()
    with state.changing() as st:
        customer = get_customer(st, get_str(params, "customer", required=True) or "", "customer")
        invoice_id = get_str(params, "invoice")
        invoice = None
        if invoice_id:
            invoice = invoice_flow.get_invoice(st, invoice_id, "invoice")
            if invoice["status"] != "draft":
                raise StripeError(
                    "You can only add invoice items to draft invoices.",
                    code="invoice_not_editable",
                    param="invoice",
                )
            if invoice["customer"] != customer["id"]:
                raise invalid_param("invoice", "The invoice belongs to a different customer.")
            if invoice["currency"] != currency:
                raise invalid_param("currency", "The currency must match the invoice's currency.")
        created = now()
        item: dict[str, Any] = {
            "id": new_id("ii"),
            "object": "invoiceitem",
            "amount": amount,
            "currency": currency,
            "customer": customer["id"],
            "date": created,
            "description": get_str(params, "description"),
            "discountable": True,
            "invoice": invoice_id,
            "livemode": False,
            "metadata": merge_metadata({}, params),
            "period": {"start": created, "end": created},
            "proration": False,
            "quantity": quantity,
        }
        st.table("invoiceitem")[item["id"]] = item
        if invoice is not None:
            invoice_flow.recompute(st, invoice)
        emit(st, "invoiceitem.created", item)
        return respond(st, item, params)


@router.get("/v1/invoiceitems/{item_id}")
def retrieve_invoice_item(item_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    """Retrieve an invoice item."""
    with state.reading() as st:
        item = st.table("invoiceitem").get(item_id)
        if item is None:
            raise not_found("invoiceitem", item_id)
        return respond(st, item, params)


@router.get("/v1/invoiceitems")
def list_invoice_items(params: Params = Depends(form_params)) -> JSONResponse:
    """List invoice items by ``customer``, ``invoice`` or ``pending=true``."""
    customer = get_str(params, "customer")
    invoice = get_str(params, "invoice")
    pending = get_str(params, "pending") == "true"
    with state.reading() as st:
        items = [
            i
            for i in st.table("invoiceitem").values()
            if (customer is None or i["customer"] == customer)
            and (invoice is None or i["invoice"] == invoice)
            and (not pending or i["invoice"] is None)
        ]
        return list_page(st, items, params, "/v1/invoiceitems")
