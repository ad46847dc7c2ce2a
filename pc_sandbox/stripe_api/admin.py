"""``/_sandbox`` routes: webhook switches and shortcuts for the demo and the tests.

Not part of Stripe's API, so no API key and plain JSON bodies.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException
from fastapi.responses import JSONResponse

from . import payment_flow, state
from .delivery import DELIVERER
from .errors import StripeError
from .settings import SETTINGS

router = APIRouter(prefix="/_sandbox", tags=["stripe sandbox admin"])

_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "webhook_url": (str, type(None)),
    "deliver_twice": (bool,),
    "out_of_order": (bool,),
    "out_of_order_batch": (int,),
    "delay_ms": (int,),
    "retry_delays_ms": (list,),
    "timeout_s": (int, float),
}


def _config_view(st: state.StripeState) -> dict[str, Any]:
    return {
        **st.config.as_dict(),
        "held_events": list(st.held_events),
        "pending_deliveries": DELIVERER.pending(),
        "webhook_secret_env": "PC_STRIPE_WEBHOOK_SECRET",
        "api_version": SETTINGS.api_version,
    }


@router.get("/config")
def get_config() -> dict[str, Any]:
    """Current webhook settings."""
    with state.reading() as st:
        return _config_view(st)


@router.put("/config")
def put_config(changes: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Change some switches; turning ``out_of_order`` off releases held events."""
    for name, value in changes.items():
        types = _FIELD_TYPES.get(name)
        if types is None:
            raise HTTPException(400, f"unknown setting {name!r}")
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise HTTPException(400, f"setting {name!r} has the wrong type")
    with state.changing() as st:
        for name, value in changes.items():
            setattr(st.config, name, value or None if name == "webhook_url" else value)
        if not st.config.out_of_order and st.held_events:
            DELIVERER.flush(st)
        return _config_view(st)


@router.post("/flush")
def flush() -> dict[str, Any]:
    """Deliver every held event now, in reverse order."""
    with state.changing() as st:
        return {"flushed": DELIVERER.flush(st)}


@router.post("/events/{event_id}/redeliver")
def redeliver(event_id: str) -> dict[str, Any]:
    """Send one event to the webhook URL again."""
    with state.reading() as st:
        if event_id not in st.events:
            raise HTTPException(404, f"no event {event_id}")
        DELIVERER.redeliver(st, event_id)
        return {"event_id": event_id, "scheduled": True}


@router.get("/deliveries")
def deliveries(event_id: str | None = None, limit: int = 100) -> dict[str, Any]:
    """Delivery attempts in the order they happened (oldest first)."""
    with state.reading() as st:
        rows = [d for d in st.deliveries if event_id is None or d["event_id"] == event_id]
        return {"data": [dict(d) for d in rows[-limit:]], "pending": DELIVERER.pending()}


@router.post("/reset")
def reset() -> dict[str, Any]:
    """Forget every object, event and delivery; webhook settings stay."""
    state.reset()
    return {"reset": True}


def _force(pi_id: str, payment_method: str) -> JSONResponse:
    with state.changing() as st:
        pi = st.table("payment_intent").get(pi_id)
        if pi is None:
            raise HTTPException(404, f"no payment_intent {pi_id}")
        if pi["status"] in payment_flow.CONFIRMABLE:
            try:
                payment_flow.confirm(st, pi, {"payment_method": payment_method})
            except StripeError as exc:
                if exc.status != 402:
                    raise HTTPException(exc.status, exc.message)
        elif pi["status"] == "requires_capture" and payment_method == "pm_card_visa":
            payment_flow.capture(st, pi, {})
        else:
            raise HTTPException(409, f"payment_intent {pi_id} is {pi['status']}")
        return JSONResponse(dict(pi))


@router.post("/payment_intents/{pi_id}/succeed")
def succeed(pi_id: str) -> JSONResponse:
    """Act as the customer's browser confirming with a good card."""
    return _force(pi_id, "pm_card_visa")


@router.post("/payment_intents/{pi_id}/fail")
def fail(pi_id: str) -> JSONResponse:
    """Act as the customer's browser confirming with a declined card."""
    return _force(pi_id, "pm_card_chargeDeclined")
