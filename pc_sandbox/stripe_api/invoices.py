"""``/v1/invoices`` routes; the lifecycle lives in :mod:`invoice_flow`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from . import invoice_flow as flow
from . import state
from .customers import get_customer
from .errors import invalid_param
from .events import emit
from .ids import new_id, now
from .params import Params, form_params, get_bool, get_int, get_str, merge_metadata
from .render import list_page, respond
from .routing import StripeRoute

router = APIRouter(route_class=StripeRoute)

COLLECTION_METHODS = {"charge_automatically", "send_invoice"}


@router.post("/v1/invoices")
def create_invoice(params: Params = Depends(form_params)) -> JSONResponse:
    """Create a draft; ``pending_invoice_items_behavior=include`` pulls in pending items."""
    collection = get_str(params, "collection_method") or "charge_automatically"
    if collection not in COLLECTION_METHODS:
        raise invalid_param("collection_method", f"Invalid collection_method: {collection}")
    with state.changing() as st:
        customer = get_customer(st, get_str(params, "customer", required=True) or "", "customer")
        created = now()
        invoice: dict[str, Any] = {
            "id": new_id("in"),
            "object": "invoice",
            "account_country": "US",
            "amount_due": 0,
            "amount_paid": 0,
            "amount_remaining": 0,
            "attempt_count": 0,
            "attempted": False,
            "auto_advance": get_bool(params, "auto_advance", default=True),
            "collection_method": collection,
            "created": created,
            "currency": (get_str(params, "currency") or customer.get("currency") or "usd").lower(),
            "customer": customer["id"],
            "customer_email": customer.get("email"),
            "customer_name": customer.get("name"),
            "days_until_due": get_int(params, "days_until_due"),
            "default_payment_method": get_str(params, "default_payment_method"),
            "description": get_str(params, "description"),
            "due_date": get_int(params, "due_date"),
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "livemode": False,
            "metadata": merge_metadata({}, params),
            "number": None,
            "paid_out_of_band": False,
            "period_end": created,
            "period_start": created,
            "status": "draft",
            "status_transitions": {
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
        }
        st.table("invoice")[invoice["id"]] = invoice
        if get_str(params, "pending_invoice_items_behavior") == "include":
            for item in st.table("invoiceitem").values():
                if item["customer"] == customer["id"] and item["invoice"] is None:
                    item["invoice"] = invoice["id"]
        flow.recompute(st, invoice)
        emit(st, "invoice.created", invoice)
        return respond(st, invoice, params)


@router.get("/v1/invoices/{invoice_id}")
def retrieve_invoice(invoice_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    """Retrieve an invoice with its lines and totals."""
    with state.reading() as st:
        return respond(st, flow.get_invoice(st, invoice_id), params)


@router.get("/v1/invoices/{invoice_id}/lines")
def list_invoice_lines(invoice_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    """The invoice's line items as a list object."""
    with state.reading() as st:
        invoice = flow.get_invoice(st, invoice_id)
        lines = list(reversed(invoice["lines"]["data"]))  # list_page shows newest first
        return list_page(st, lines, params, invoice["lines"]["url"])


@router.post("/v1/invoices/{invoice_id}")
def update_invoice(invoice_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    """Update description, metadata or auto_advance."""
    with state.changing() as st:
        invoice = flow.get_invoice(st, invoice_id)
        if "description" in params:
            invoice["description"] = get_str(params, "description")
        if "auto_advance" in params:
            invoice["auto_advance"] = get_bool(params, "auto_advance")
        invoice["metadata"] = merge_metadata(invoice["metadata"], params)
        emit(st, "invoice.updated", invoice)
        return respond(st, invoice, params)


@router.post("/v1/invoices/{invoice_id}/finalize")
def finalize_invoice(invoice_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    """Draft -> open."""
    with state.changing() as st:
        return respond(st, flow.finalize(st, flow.get_invoice(st, invoice_id)), params)


@router.post("/v1/invoices/{invoice_id}/pay")
def pay_invoice(invoice_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    """Open -> paid (``paid_out_of_band`` or a test ``payment_method``)."""
    with state.changing() as st:
        return respond(st, flow.pay(st, flow.get_invoice(st, invoice_id), params), params)


@router.post("/v1/invoices/{invoice_id}/void")
def void_invoice(invoice_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    """Open -> void."""
    with state.changing() as st:
        return respond(st, flow.void(st, flow.get_invoice(st, invoice_id)), params)


@router.get("/v1/invoices")
def list_invoices(params: Params = Depends(form_params)) -> JSONResponse:
    """List invoices, newest first, by ``customer`` and ``status``."""
    customer = get_str(params, "customer")
    status = get_str(params, "status")
    with state.reading() as st:
        items = [
            i
            for i in st.table("invoice").values()
            if (customer is None or i["customer"] == customer)
            and (status is None or i["status"] == status)
        ]
        return list_page(st, items, params, "/v1/invoices")
