"""Real-time events, published to Redis so that any process can emit them: API
replicas, Dagster runs, scripts. The API's Socket.IO server relays them to clients.

Transport: python-socketio's Redis manager protocol, through a write-only
``socketio.RedisManager`` (``write_only=True``), so an emit from here reaches every
Socket.IO server subscribed to the same Redis channel (``PC_SOCKETIO_CHANNEL``).

Every event the platform sends is a model in ``pc_core.models.live_events`` (its
payload, and the rooms it goes to); callers build one and ``emit`` it, so a payload
that drifts from the contract fails where it is built. The web client's event types
are generated from the same models. This module is the transport and the rooms'
names, below the models on the floor plan.

A lead's room may hold buyers of other partners while the lead is listed
(``pc_core.leads.rooms``), so nothing that identifies the contact or the company goes
there: ``publish`` drops ``PRIVATE_FIELDS`` from an event to a lead room (and logs
the bug).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Protocol

import socketio

from pc_core.settings import Settings

log = logging.getLogger(__name__)

# The events' names (their payloads: pc_core/models/live_events.py, one model each).
LEAD_LISTED = "lead-listed"
LEAD_SOLD = "lead-sold"
STAGE_UPDATED = "stage-updated"
VIEWER_JOINED = "viewer-joined"
VIEWER_LEFT = "viewer-left"
LEAD_RESERVED = "lead-reserved"
LEAD_RELEASED = "lead-released"
LEAD_UNLISTED = "lead-unlisted"
SYNC_PROGRESS = "sync-progress"
SYNC_FINISHED = "sync-finished"
PURCHASE_UPDATED = "purchase-updated"
LEAD_ASSIGNED = "lead-assigned"
MEETING_UPDATED = "meeting-updated"
SEARCH_MATCHED = "search-matched"
STANDING_ORDER_FILLED = "standing-order-filled"
RETURN_UPDATED = "return-updated"
CHANNEL = "pc-socketio"
LEAD_ROOM_PREFIX = "lead:"
# What a listing hides (pc_core/marketplace/listings.py): never sent to a lead's room.
PRIVATE_FIELDS = frozenset({
    "title", "company", "contact_name", "contact_email", "contact_phone", "notes",
    "external_id", "search_text", "hubspot_deal_id", "hubspot_contact_id",
    "buyer_hubspot_deal_id",
})


def marketplace_room() -> str:
    return "marketplace"


def lead_room(lead_id: str) -> str:
    return f"{LEAD_ROOM_PREFIX}{lead_id}"


def partner_room(partner_id: str) -> str:
    return f"partner:{partner_id}"


def user_room(user_id: str) -> str:
    """One signed-in user's connections (a saved search's own notices)."""
    return f"user:{user_id}"


@lru_cache(maxsize=4)
def _manager(redis_url: str) -> socketio.RedisManager:
    return socketio.RedisManager(redis_url, channel=CHANNEL, write_only=True)


class RoutedEvent(Protocol):
    """What ``emit`` sends: a model of ``pc_core.models.live_events`` (its name, its
    payload as JSON, the rooms it goes to)."""

    name: str

    def payload(self) -> dict[str, Any]: ...

    def rooms(self) -> list[str]: ...


def emit(settings: Settings, event: RoutedEvent) -> None:
    """Publish the live ``event`` to its rooms; failures are logged, never raised: a
    missed live update must not fail the sync or the sale that caused it."""
    publish(settings, event.name, event.payload(), event.rooms())


def publish(settings: Settings, name: str, payload: dict[str, Any], rooms: Iterable[str]) -> None:
    """The transport under ``emit``: any payload, for what measures or probes the
    transport itself (bench/, tests). The platform's events go through ``emit``."""
    targets = list(rooms)
    if not targets:
        return
    payload = _anonymised(name, payload, targets)
    try:
        # One publish with every room: a client in several of them (its partner's
        # room and the marketplace) receives the event once.
        _manager(settings.redis_url).emit(name, payload, room=targets, namespace="/")
    except Exception:  # noqa: BLE001
        log.exception("could not publish %s to %s", name, targets)


def _anonymised(event: str, payload: dict[str, Any], rooms: list[str]) -> dict[str, Any]:
    """``payload`` without ``PRIVATE_FIELDS`` if it goes to a lead's room."""
    if not any(room.startswith(LEAD_ROOM_PREFIX) for room in rooms):
        return payload
    leaked = PRIVATE_FIELDS & payload.keys()
    if not leaked:
        return payload
    log.error("%s to a lead room carried %s: dropped", event, ", ".join(sorted(leaked)))
    return {k: v for k, v in payload.items() if k not in leaked}
