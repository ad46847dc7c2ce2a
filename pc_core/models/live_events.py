"""The live events (Socket.IO) the platform sends, one model per event: the payload
contract of ``pc_core.events`` (which builds every payload through these, so a
payload that drifts from its model fails where it is built) and of the web client,
whose event types are generated from ``live_events_schema()``
(``web/src/api/live-events.json`` → ``live-events.d.ts``, ``npm run gen:events``).

Each model's ``name`` is the Socket.IO event name (``pc_core.events``) and
``rooms()`` where it goes (``audience`` says so in words, for the schema); senders
build the model and ``events.emit`` it.
A lead's room (``lead:{id}``) may hold buyers of other partners while the lead is
listed, so no event sent there carries the contact's or the company's data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from pydantic.json_schema import models_json_schema

from pc_core import events
from pc_core.events import lead_room, marketplace_room, partner_room, user_room
from pc_core.models.marketplace import ListingOut, PublicListing, PurchaseStatus
from pc_core.models.money import ReturnReason, ReturnStatus
from pc_core.stages import Stage

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class LiveEvent(BaseModel):
    """One event's payload. Extra fields are refused: the catalogue is the contract."""

    # Every field is always sent, defaults included: required in the schema.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True,
                              json_schema_serialization_defaults_required=True)

    name: ClassVar[str]
    audience: ClassVar[str]

    def payload(self) -> dict[str, Any]:
        """The payload as sent: JSON types, the wire names (``from``)."""
        return self.model_dump(mode="json", by_alias=True)

    def rooms(self) -> list[str]:
        """The Socket.IO rooms this event goes to."""
        raise NotImplementedError


class LeadListed(PublicListing, LiveEvent):
    """A lead went on the market: the listing as ``GET /v1/marketplace/listings``
    shows it, price included (without ``own``: buyers compare ``seller_partner_id``
    with their own partner)."""

    name = events.LEAD_LISTED
    audience = "marketplace"
    lead_id: str
    partner_id: str = Field(description="The seller (as seller_partner_id)")

    @classmethod
    def of_listing(cls, listing: ListingOut) -> LeadListed:
        """The event for ``listing`` (as ``marketplace.listings.listing_view`` built it)."""
        return cls(**listing.model_dump(exclude={"own"}), lead_id=listing.id,
                   partner_id=listing.seller_partner_id)

    def rooms(self) -> list[str]:
        return [marketplace_room()]


class LeadUnlisted(LiveEvent):
    """The seller took its lead off the market."""

    name = events.LEAD_UNLISTED
    audience = "marketplace, lead:{id}"
    lead_id: str

    def rooms(self) -> list[str]:
        return [marketplace_room(), lead_room(self.lead_id)]


class LeadReserved(LiveEvent):
    """A buyer holds the lead: the listing leaves the market."""

    name = events.LEAD_RESERVED
    audience = "marketplace, lead:{id}"
    lead_id: str
    reservation_id: str

    def rooms(self) -> list[str]:
        return [marketplace_room(), lead_room(self.lead_id)]


class LeadReleased(LiveEvent):
    """A reservation ended without a sale (released, expired): the listing is back
    (a ``lead-listed`` carries the listing itself)."""

    name = events.LEAD_RELEASED
    audience = "marketplace, lead:{id}"
    lead_id: str
    reservation_id: str | None

    def rooms(self) -> list[str]:
        return [marketplace_room(), lead_room(self.lead_id)]


class LeadSold(LiveEvent):
    """A sale: the marketplace drops the listing, both partners' views update."""

    name = events.LEAD_SOLD
    audience = "marketplace, lead:{id}, partner:{seller}, partner:{buyer}"
    lead_id: str
    seller_partner_id: str
    buyer_partner_id: str

    def rooms(self) -> list[str]:
        return [marketplace_room(), lead_room(self.lead_id),
                partner_room(self.seller_partner_id), partner_room(self.buyer_partner_id)]


class StageUpdated(LiveEvent):
    """A lead's canonical stage moved (a person's edit or a HubSpot pull)."""

    name = events.STAGE_UPDATED
    audience = "lead:{id}, partner:{id}"
    lead_id: str
    partner_id: str
    from_: Stage | None = Field(alias="from", description="The stage before; null if none")
    to: Stage

    def rooms(self) -> list[str]:
        return [lead_room(self.lead_id), partner_room(self.partner_id)]


class ViewerCount(LiveEvent):
    """Distinct people viewing a lead (a person's tabs are one); never who they are."""

    audience = "lead:{id}"
    lead_id: str
    viewers: int = Field(ge=0)
    seq: int = Field(description="The lead's change number: the highest is the newest count")

    def rooms(self) -> list[str]:
        return [lead_room(self.lead_id)]


class ViewerJoined(ViewerCount):
    """Someone started viewing the lead (the distinct count moved)."""

    name = events.VIEWER_JOINED


class ViewerLeft(ViewerCount):
    """Someone stopped viewing the lead (the distinct count moved)."""

    name = events.VIEWER_LEFT


class SyncEvent(LiveEvent):
    """A HubSpot sync task, as its figures stand (``pc_core/sync/runs.py``)."""

    audience = "partner:{id}"
    sync_task_id: str
    partner_id: str
    status: str
    step: str | None = None
    trigger: str | None = None
    direction: str | None = None
    dagster_run_id: str | None = None
    counts: dict[str, int]
    errors: int = Field(ge=0, description="How many errors the task recorded")

    @classmethod
    def of_task(cls, task: dict[str, Any], step: str | None = None) -> SyncEvent:
        """The event for the stored sync ``task`` (its running totals)."""
        return cls(
            sync_task_id=task["_id"], partner_id=task["partner_id"], status=task["status"],
            step=step, trigger=task.get("trigger"), direction=task.get("direction"),
            dagster_run_id=task.get("dagster_run_id"),
            counts={k: int(v) for k, v in (task.get("counts") or {}).items()},
            errors=len(task.get("errors") or []))

    def rooms(self) -> list[str]:
        return [partner_room(self.partner_id)]


class SyncProgress(SyncEvent):
    """A sync task started or finished a step."""

    name = events.SYNC_PROGRESS


class SyncFinished(SyncEvent):
    """A sync task ended: succeeded, failed or cancelled."""

    name = events.SYNC_FINISHED


class PurchaseUpdated(LiveEvent):
    """A purchase changed status: the buyer's checkout and both partners' purchase
    lists follow it."""

    name = events.PURCHASE_UPDATED
    audience = "partner:{buyer}, partner:{seller}"
    purchase_id: str
    lead_id: str
    status: PurchaseStatus
    failure_message: str | None
    buyer_partner_id: str
    seller_partner_id: str

    @classmethod
    def of_purchase(cls, purchase: dict[str, Any]) -> PurchaseUpdated:
        """The event for the stored ``purchase``."""
        return cls(purchase_id=purchase["_id"], lead_id=purchase["lead_id"],
                   status=purchase["status"], failure_message=purchase.get("failure_message"),
                   buyer_partner_id=purchase["buyer_partner_id"],
                   seller_partner_id=purchase["seller_partner_id"])

    def rooms(self) -> list[str]:
        return [partner_room(self.buyer_partner_id), partner_room(self.seller_partner_id)]


class ReturnUpdated(LiveEvent):
    """A bad-lead return changed (asked, contested, decided): both partners'
    purchase pages and the operator's queue follow it."""

    name = events.RETURN_UPDATED
    audience = "partner:{buyer}, partner:{seller}, partner:{operator}"
    return_id: str
    purchase_id: str
    lead_id: str
    status: ReturnStatus
    reason: ReturnReason
    buyer_partner_id: str
    seller_partner_id: str
    # The operator's partner (the owner's return queue), when there is one: a room,
    # not part of the payload.
    _operator_id: str | None = PrivateAttr(default=None)

    @classmethod
    def of_return(cls, doc: dict[str, Any], operator_id: str | None) -> ReturnUpdated:
        """The event for the stored return ``doc``; ``operator_id`` also hears it."""
        out = cls(return_id=doc["_id"], purchase_id=doc["purchase_id"], lead_id=doc["lead_id"],
                  status=doc["status"], reason=doc["reason"],
                  buyer_partner_id=doc["buyer_partner_id"],
                  seller_partner_id=doc["seller_partner_id"])
        out._operator_id = operator_id
        return out

    def rooms(self) -> list[str]:
        rooms = {partner_room(self.buyer_partner_id), partner_room(self.seller_partner_id)}
        if self._operator_id:
            rooms.add(partner_room(self._operator_id))
        return sorted(rooms)


class LeadAssigned(LiveEvent):
    """A ChiliPiper booking routed a new lead to the partner."""

    name = events.LEAD_ASSIGNED
    audience = "partner:{id}"
    lead_id: str
    partner_id: str
    meeting_id: str
    meeting_type: str
    start_time: datetime
    title: str

    def rooms(self) -> list[str]:
        return [partner_room(self.partner_id)]


class MeetingUpdated(LiveEvent):
    """A ChiliPiper meeting of the partner's lead was rescheduled or cancelled."""

    name = events.MEETING_UPDATED
    audience = "partner:{id}"
    lead_id: str
    partner_id: str
    meeting_id: str
    status: str
    start_time: datetime

    def rooms(self) -> list[str]:
        return [partner_room(self.partner_id)]


class SearchMatched(LiveEvent):
    """A new listing matches a buyer's saved search (``pc_core/buyer_alerts/notices.py``):
    to the search's owner, or to the buyer partner for a shared search."""

    name = events.SEARCH_MATCHED
    audience = "user:{owner}, or partner:{buyer} for a shared search"
    notice_id: str
    search_id: str
    search_name: str
    lead_id: str
    listing: PublicListing
    # Where it goes (not sent): the search's owner, or its partner when shared.
    to_user_id: str | None = Field(default=None, exclude=True)
    to_partner_id: str | None = Field(default=None, exclude=True)

    def rooms(self) -> list[str]:
        if self.to_partner_id is not None:
            return [partner_room(self.to_partner_id)]
        return [user_room(self.to_user_id)] if self.to_user_id else []


class StandingOrderFilled(LiveEvent):
    """A buyer's standing order reserved a lead (``pc_core/marketplace/standing_orders.py``)."""

    name = events.STANDING_ORDER_FILLED
    audience = "partner:{buyer}"
    order_id: str
    order_name: str
    lead_id: str
    reservation_id: str
    partner_id: str = Field(exclude=True, description="The buyer (not sent)")

    def rooms(self) -> list[str]:
        return [partner_room(self.partner_id)]


#: Every event the platform sends, in the catalogue's order.
LIVE_EVENTS: tuple[type[LiveEvent], ...] = (
    LeadListed, LeadUnlisted, LeadReserved, LeadReleased, LeadSold, StageUpdated,
    ViewerJoined, ViewerLeft, SyncProgress, SyncFinished, PurchaseUpdated, ReturnUpdated,
    LeadAssigned, MeetingUpdated, SearchMatched, StandingOrderFilled,
)


def live_events_schema() -> dict[str, Any]:
    """One JSON Schema for the catalogue: an object whose property per event name is
    that event's payload (so a generator names each payload and the name → payload
    map, ``LiveEvents``)."""
    refs, defs = models_json_schema([(m, "serialization") for m in LIVE_EVENTS],
                                    ref_template="#/$defs/{model}")
    for definition in defs["$defs"].values():
        # A field's title ("Lead Id") would become a named type per field in the
        # generated TypeScript; the models keep theirs.
        for field in definition.get("properties", {}).values():
            field.pop("title", None)
    properties: dict[str, Any] = {}
    for model in LIVE_EVENTS:
        definition = defs["$defs"][model.__name__]
        said = definition.get("description", "")
        definition["description"] = f"{said}\n\nRooms: {model.audience}"
        properties[model.name] = refs[(model, "serialization")]
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "LiveEvents",
        "description": "The Socket.IO events the platform sends: event name → payload "
                       "(pc_core/models/live_events.py).",
        "type": "object",
        "properties": properties,
        "required": [m.name for m in LIVE_EVENTS],
        "additionalProperties": False,
        **defs,
    }
