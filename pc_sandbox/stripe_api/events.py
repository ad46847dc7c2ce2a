"""Stripe Events: one per state change, stored and handed to the deliverer."""

from __future__ import annotations

import copy
from contextvars import ContextVar
from typing import Any

from . import state
from .delivery import DELIVERER
from .ids import new_id, now
from .settings import SETTINGS

# The API request being served, so events can name it like Stripe's ``request``.
CURRENT_REQUEST: ContextVar[dict[str, str | None] | None] = ContextVar(
    "stripe_sandbox_request", default=None
)


def emit(
    st: state.StripeState,
    event_type: str,
    obj: dict[str, Any],
    previous_attributes: dict[str, Any] | None = None,
    account: str | None = None,
) -> dict[str, Any]:
    """Record ``event_type`` with a snapshot of ``obj`` and schedule its webhook;
    ``account`` names the connected account of a Connect event (as Stripe does)."""
    data: dict[str, Any] = {"object": copy.deepcopy(obj)}
    if previous_attributes:
        data["previous_attributes"] = previous_attributes
    event = {
        "id": new_id("evt"),
        "object": "event",
        "api_version": SETTINGS.api_version,
        "created": now(),
        "data": data,
        "livemode": False,
        "pending_webhooks": 1 if st.config.webhook_url else 0,
        "request": dict(CURRENT_REQUEST.get() or {"id": None, "idempotency_key": None}),
        "type": event_type,
    }
    if account:
        event["account"] = account
    st.events[event["id"]] = event
    st.event_delivered[event["id"]] = False
    DELIVERER.event_created(st, event["id"])
    return event
