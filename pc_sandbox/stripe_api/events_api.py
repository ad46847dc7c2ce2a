"""``/v1/events``: the record of every state change, for catching up on missed webhooks."""

from __future__ import annotations

import fnmatch

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from . import state
from .errors import not_found
from .params import Params, form_params, get_list, get_str
from .render import list_page, respond
from .routing import StripeRoute

router = APIRouter(route_class=StripeRoute)


@router.get("/v1/events")
def list_events(params: Params = Depends(form_params)) -> JSONResponse:
    """Newest first; ``type`` (``*`` wildcards), ``types[]`` and ``delivery_success``."""
    patterns = [p for p in [get_str(params, "type")] if p] + [
        str(t) for t in get_list(params, "types")
    ]
    delivery = get_str(params, "delivery_success")
    with state.reading() as st:
        items = [
            e
            for e in st.events.values()
            if (not patterns or any(fnmatch.fnmatchcase(e["type"], p) for p in patterns))
            and (delivery is None or st.event_delivered.get(e["id"], False) == (delivery == "true"))
        ]
        return list_page(st, items, params, "/v1/events")


@router.get("/v1/events/{event_id}")
def retrieve_event(event_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    """Retrieve one event."""
    with state.reading() as st:
        event = st.events.get(event_id)
        if event is None:
            raise not_found("event", event_id)
        return respond(st, event, params)
