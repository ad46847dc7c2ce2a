"""Stripe events: their checked shape, and who handles which.

The payments layer sits below the marketplace and billing, so it cannot call
their code by name; each of them registers its handlers here when its
``payment_events`` module is imported (``register``), together with the shape of
the event's ``data.object`` it reads. The dispatcher (``webhooks``) looks handlers
up by event type; a type nobody registered is answered "ignored".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pymongo.database import Database

from pc_core.settings import Settings

#: ``(db, settings, event's data.object) -> what happened`` (recorded on the event).
Handler = Callable[[Database, Settings, dict[str, Any]], str]

Int64 = Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]
Epoch = Annotated[StrictInt, Field(ge=0, le=253_402_300_799)]  # up to 9999-12-31


class Shape(BaseModel):
    """Checks only the fields a handler reads; everything else passes through."""

    model_config = ConfigDict(extra="allow")


class _EventData(Shape):
    object: dict[str, Any]


class StripeEvent(Shape):
    id: StrictStr = Field(min_length=1, max_length=255)
    type: StrictStr = Field(min_length=1, max_length=255)
    created: Int64 | None = None
    data: _EventData


@dataclass(frozen=True)
class Registration:
    handler: Handler
    shape: type[Shape] | None


_REGISTRY: dict[str, Registration] = {}


def register(event_type: str, handler: Handler, *, shape: type[Shape] | None = None) -> None:
    """Have ``handler`` handle ``event_type``; ``shape`` checks its ``data.object``
    before anything is stored. One handler per type: registering a second one for
    the same type is a programming error."""
    existing = _REGISTRY.get(event_type)
    if existing is not None and existing.handler is not handler:
        raise ValueError(f"{event_type} already has a handler")
    _REGISTRY[event_type] = Registration(handler, shape)


def registration(event_type: str) -> Registration | None:
    return _REGISTRY.get(event_type)


def handled_types() -> frozenset[str]:
    """The event types some layer handles (what the Stripe endpoint should send)."""
    return frozenset(_REGISTRY)
