"""Real-time events, published to Redis so that any process can emit them: API
replicas, Dagster runs, scripts. The API's Socket.IO server relays them to clients.

Transport: python-socketio's Redis manager protocol, through a write-only
``socketio.RedisManager`` (``write_only=True``), so an emit from here reaches every
Socket.IO server subscribed to the same Redis channel (``PC_SOCKETIO_CHANNEL``).

Every event the platform sends is a model in ``pc_core.models.live_events`` (its
name, its rooms, its payload); the helpers below build each payload through its
model and ``emit`` it, so a payload that drifts from the contract fails where it is
built. The web client's event types are generated from the same models.

A lead's room may hold buyers of other partners while the lead is listed
(``pc_core.leads.rooms``), so nothing that identifies the contact or the company goes
there: ``publish`` drops ``PRIVATE_FIELDS`` from an event to a lead room (and logs
the bug).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import socketio

from pc_core.models.live_events import (
    LeadListed,
    LeadReleased,
    LeadReserved,
    LeadSold,
    LeadUnlisted,
    LiveEvent,
    PurchaseUpdated,
    ReturnUpdated,
    StageUpdated,
    SyncFinished,
    SyncProgress,
    ViewerJoined,
    ViewerLeft,
)
from pc_core.settings import Settings

log = logging.getLogger(__name__)

LEAD_LISTED = LeadListed.name
LEAD_SOLD = LeadSold.name
STAGE_UPDATED = StageUpdated.name
VIEWER_JOINED = ViewerJoined.name
VIEWER_LEFT = ViewerLeft.name
LEAD_RESERVED = LeadReserved.name
LEAD_RELEASED = LeadReleased.name
LEAD_UNLISTED = LeadUnlisted.name
SYNC_PROGRESS = SyncProgress.name
SYNC_FINISHED = SyncFinished.name
PURCHASE_UPDATED = PurchaseUpdated.name
SEARCH_MATCHED = "search-matched"
STANDING_ORDER_FILLED = "standing-order-filled"
RETURN_UPDATED = ReturnUpdated.name
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


def emit(settings: Settings, event: LiveEvent, rooms: Iterable[str]) -> None:
    """Publish the live ``event`` (a model of ``pc_core.models.live_events``) to every
    room; failures are logged, never raised: a missed live update must not fail the
    sync or the sale that caused it."""
    publish(settings, event.name, event.payload(), rooms)


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


def lead_listed(settings: Settings, listing: dict[str, Any]) -> None:
    """``listing`` is a ``ListingOut`` as JSON (use ``listings.announce_listed``), so
    the event shows what the listings route shows, price included. ``own`` is left
    out: the event goes to every buyer, who compare ``seller_partner_id`` with their
    own partner."""
    fields = {k: v for k, v in listing.items() if k != "own"}
    event = LeadListed(**fields, lead_id=listing["id"], partner_id=listing["seller_partner_id"])
    emit(settings, event, [marketplace_room()])


def stage_updated(settings: Settings, lead_id: str, partner_id: str, before: str | None,
                  after: str) -> None:
    emit(settings, StageUpdated(lead_id=lead_id, partner_id=partner_id, from_=before, to=after),
         [lead_room(lead_id), partner_room(partner_id)])


def lead_sold(settings: Settings, lead_id: str, seller_partner_id: str,
              buyer_partner_id: str) -> None:
    """A sale: the marketplace drops the listing, both partners' views update."""
    emit(settings, LeadSold(lead_id=lead_id, seller_partner_id=seller_partner_id,
                            buyer_partner_id=buyer_partner_id),
         [marketplace_room(), lead_room(lead_id), partner_room(seller_partner_id),
          partner_room(buyer_partner_id)])


def lead_unlisted(settings: Settings, lead_id: str) -> None:
    """The seller took its lead off the market: open marketplace pages drop it."""
    emit(settings, LeadUnlisted(lead_id=lead_id), [marketplace_room(), lead_room(lead_id)])


def lead_reserved(settings: Settings, lead_id: str, reservation_id: str) -> None:
    """A buyer holds the lead: open marketplace pages drop the listing."""
    emit(settings, LeadReserved(lead_id=lead_id, reservation_id=reservation_id),
         [marketplace_room(), lead_room(lead_id)])


def lead_released(settings: Settings, lead_id: str, reservation_id: str | None) -> None:
    """A reservation ended without a sale (released, expired): the listing is back
    (``lead-listed`` carries the listing itself)."""
    emit(settings, LeadReleased(lead_id=lead_id, reservation_id=reservation_id),
         [marketplace_room(), lead_room(lead_id)])


def _sync_fields(task: dict[str, Any]) -> dict[str, Any]:
    return {
        "sync_task_id": task["_id"], "partner_id": task["partner_id"],
        "status": task["status"], "trigger": task.get("trigger"),
        "direction": task.get("direction"), "dagster_run_id": task.get("dagster_run_id"),
        "counts": {k: int(v) for k, v in (task.get("counts") or {}).items()},
        "errors": len(task.get("errors") or []),
    }


def sync_progress(settings: Settings, task: dict[str, Any], step: str | None = None) -> None:
    """A sync task started or finished a step (``task`` is the stored sync task)."""
    emit(settings, SyncProgress(**_sync_fields(task), step=step),
         [partner_room(task["partner_id"])])


def sync_finished(settings: Settings, task: dict[str, Any]) -> None:
    """A sync task ended: succeeded, failed or cancelled."""
    emit(settings, SyncFinished(**_sync_fields(task)), [partner_room(task["partner_id"])])


def purchase_updated(settings: Settings, purchase: dict[str, Any]) -> None:
    """A purchase changed status (pending, completed, failed, refunded): the buyer's
    checkout and both partners' purchase lists follow it live."""
    emit(settings, PurchaseUpdated(
        purchase_id=purchase["_id"], lead_id=purchase["lead_id"], status=purchase["status"],
        failure_message=purchase.get("failure_message"),
        buyer_partner_id=purchase["buyer_partner_id"],
        seller_partner_id=purchase["seller_partner_id"],
    ), [partner_room(purchase["buyer_partner_id"]), partner_room(purchase["seller_partner_id"])])


def return_updated(settings: Settings, doc: dict[str, Any], operator_id: str | None) -> None:
    """A bad-lead return changed (asked, contested, decided): both partners' purchase
    pages and the owner's queue follow it live."""
    rooms = {partner_room(doc["buyer_partner_id"]), partner_room(doc["seller_partner_id"])}
    if operator_id:
        rooms.add(partner_room(operator_id))
    emit(settings, ReturnUpdated(
        return_id=doc["_id"], purchase_id=doc["purchase_id"], lead_id=doc["lead_id"],
        status=doc["status"], reason=doc["reason"],
        buyer_partner_id=doc["buyer_partner_id"], seller_partner_id=doc["seller_partner_id"],
    ), sorted(rooms))
