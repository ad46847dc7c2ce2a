"""``/v1/payment_intents`` routes; the logic lives in :mod:`payment_flow`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from . import browser, state
from . import payment_flow as flow
from .params import Params, form_params, get_str
from .render import list_page, respond
from .routing import StripeRoute

router = APIRouter(route_class=StripeRoute)


@router.post("/v1/payment_intents")
def create_payment_intent(params: Params = Depends(form_params)) -> JSONResponse:
    """Create (and with ``confirm=true`` confirm) a PaymentIntent."""
    with state.changing() as st:
        return respond(st, flow.create(st, params), params)


@router.get("/v1/payment_intents/{pi_id}")
def retrieve_payment_intent(pi_id: str, request: Request,
                            params: Params = Depends(form_params)) -> JSONResponse:
    """Retrieve a PaymentIntent (a browser: publishable key + ``client_secret``)."""
    with state.reading() as st:
        pi = flow.get_payment_intent(st, pi_id)
        if browser.is_publishable(request):
            return browser.retrieve(pi, params)
        return respond(st, pi, params)


@router.post("/v1/payment_intents/{pi_id}")
def update_payment_intent(pi_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    """Update a PaymentIntent that is not final yet."""
    with state.changing() as st:
        return respond(st, flow.update(st, flow.get_payment_intent(st, pi_id), params), params)


@router.post("/v1/payment_intents/{pi_id}/confirm")
def confirm_payment_intent(pi_id: str, request: Request,
                           params: Params = Depends(form_params)) -> JSONResponse:
    """Confirm with a test PaymentMethod (``pm_card_visa``, ``pm_card_chargeDeclined``...),
    or, from a browser (publishable key + ``client_secret``), with typed card details."""
    with state.changing() as st:
        pi = flow.get_payment_intent(st, pi_id)
        if browser.is_publishable(request):
            return browser.confirm(st, pi, params)
        return respond(st, flow.confirm(st, pi, params), params)


@router.post("/v1/payment_intents/{pi_id}/capture")
def capture_payment_intent(pi_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    """Capture a manual-capture PaymentIntent."""
    with state.changing() as st:
        return respond(st, flow.capture(st, flow.get_payment_intent(st, pi_id), params), params)


@router.post("/v1/payment_intents/{pi_id}/cancel")
def cancel_payment_intent(pi_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    """Cancel a PaymentIntent that has not succeeded."""
    with state.changing() as st:
        return respond(st, flow.cancel(st, flow.get_payment_intent(st, pi_id), params), params)


@router.get("/v1/payment_intents")
def list_payment_intents(params: Params = Depends(form_params)) -> JSONResponse:
    """List PaymentIntents, newest first, optionally for one ``customer``."""
    customer = get_str(params, "customer")
    with state.reading() as st:
        items = [
            pi
            for pi in st.table("payment_intent").values()
            if customer is None or pi["customer"] == customer
        ]
        return list_page(st, items, params, "/v1/payment_intents")
