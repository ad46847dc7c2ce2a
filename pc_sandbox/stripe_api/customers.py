"""``/v1/customers``: who invoices are for and PaymentIntents may name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from . import state
from .errors import not_found
from .events import emit
from .ids import new_id, now
from .params import Params, form_params, get_dict, get_str, merge_metadata
from .render import list_page, respond
from .routing import StripeRoute

router = APIRouter(route_class=StripeRoute)

FIELDS = ("email", "name", "description", "phone")


def get_customer(st: state.StripeState, customer_id: str, param: str = "id") -> dict[str, Any]:
    """A stored customer or Stripe's 404."""
    customer = st.table("customer").get(customer_id)
    if customer is None:
        raise not_found("customer", customer_id, param)
    return customer


def _apply(customer: dict[str, Any], params: Params) -> None:
    for name in FIELDS:
        if name in params:
            customer[name] = get_str(params, name)
    settings = get_dict(params, "invoice_settings")
    if "default_payment_method" in settings:
        customer["invoice_settings"]["default_payment_method"] = (
            settings["default_payment_method"] or None
        )
    if (
        get_str(params, "payment_method")
        and not customer["invoice_settings"]["default_payment_method"]
    ):
        customer["invoice_settings"]["default_payment_method"] = get_str(params, "payment_method")
    customer["metadata"] = merge_metadata(customer["metadata"], params)


@router.post("/v1/customers")
def create_customer(params: Params = Depends(form_params)) -> JSONResponse:
    """Create a customer (email, name, description, phone, metadata, payment_method)."""
    customer: dict[str, Any] = {
        "id": new_id("cus", 14),
        "object": "customer",
        "created": now(),
        "currency": None,
        "description": None,
        "email": None,
        "invoice_prefix": new_id("x", 8)[2:].upper(),
        "invoice_settings": {"default_payment_method": None},
        "livemode": False,
        "metadata": {},
        "name": None,
        "phone": None,
    }
    _apply(customer, params)
    with state.changing() as st:
        st.table("customer")[customer["id"]] = customer
        emit(st, "customer.created", customer)
        return respond(st, customer, params)


@router.get("/v1/customers/{customer_id}")
def retrieve_customer(customer_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    """Retrieve a customer."""
    with state.reading() as st:
        return respond(st, get_customer(st, customer_id), params)


@router.post("/v1/customers/{customer_id}")
def update_customer(customer_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    """Update a customer's fields and metadata."""
    with state.changing() as st:
        customer = get_customer(st, customer_id)
        _apply(customer, params)
        emit(st, "customer.updated", customer)
        return respond(st, customer, params)


@router.get("/v1/customers")
def list_customers(params: Params = Depends(form_params)) -> JSONResponse:
    """List customers, newest first, optionally by exact ``email``."""
    email = get_str(params, "email")
    with state.reading() as st:
        items = [c for c in st.table("customer").values() if email is None or c["email"] == email]
        return list_page(st, items, params, "/v1/customers")
