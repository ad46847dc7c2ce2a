"""The live events (Socket.IO) the platform sends, one model per event: the payload
contract of ``pc_core.events`` (which builds every payload through these, so a
payload that drifts from its model fails where it is built) and of the web client,
whose event types are generated from ``live_events_schema()``
(``web/src/api/live-events.json`` → ``live-events.d.ts``, ``npm run gen:events``).

Each model's ``name`` is the Socket.IO event name, ``rooms`` says where it goes.
A lead's room (``lead:{id}``) may hold buyers of other partners while the lead is
listed, so no event sent there carries the contact's or the company's data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from pc_core.models.marketplace import PublicListing, PurchaseStatus
from pc_core.models.money import ReturnReason, ReturnStatus
from pc_core.stages import Stage

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class LiveEvent(BaseModel):
    """One event's payload. Extra fields are refused: the catalogue is the contract."""

    # Every field is always sent, defaults included: required in the schema.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True,
                              json_schema_serialization_defaults_required=True)

    name: ClassVar[str]
    rooms: ClassVar[str]

    def payload(self) -> dict[str, Any]:
        """The payload as sent: JSON types, the wire names (``from``)."""
        return self.model_dump(mode="json", by_alias=True)


class LeadListed(PublicListing, LiveEvent):
    """A lead went on the market: the listing as ``GET /v1/marketplace/listings``
    shows it, price included (without ``own``: buyers compare ``seller_partner_id``
    with their own partner)."""

    name = "lead-listed"
    rooms = "marketplace"
    lead_id: str
    partner_id: str = Field(description="The seller (as seller_partner_id)")


class LeadUnlisted(LiveEvent):
    """The seller took its lead off the market."""

    name = "lead-unlisted"
    rooms = "marketplace, lead:{id}"
    lead_id: str


class LeadReserved(LiveEvent):
    """A buyer holds the lead: the listing leaves the market."""

    name = "lead-reserved"
    rooms = "marketplace, lead:{id}"
    lead_id: str
    reservation_id: str


class LeadReleased(LiveEvent):
    """A reservation ended without a sale (released, expired): the listing is back
    (a ``lead-listed`` carries the listing itself)."""

    name = "lead-released"
    rooms = "marketplace, lead:{id}"
    lead_id: str
    reservation_id: str | None


class LeadSold(LiveEvent):
    """A sale: the marketplace drops the listing, both partners' views update."""

    name = "lead-sold"
    rooms = "marketplace, lead:{id}, partner:{seller}, partner:{buyer}"
    lead_id: str
    seller_partner_id: str
    buyer_partner_id: str


class StageUpdated(LiveEvent):
    """A lead's canonical stage moved (a person's edit or a HubSpot pull)."""

    name = "stage-updated"
    rooms = "lead:{id}, partner:{id}"
    lead_id: str
    partner_id: str
    from_: Stage | None = Field(alias="from", description="The stage before; null if none")
    to: Stage


class ViewerCount(LiveEvent):
    """Distinct people viewing a lead (a person's tabs are one); never who they are."""

    rooms = "lead:{id}"
    lead_id: str
    viewers: int = Field(ge=0)
    seq: int = Field(description="The lead's change number: the highest is the newest count")


class ViewerJoined(ViewerCount):
    """Someone started viewing the lead (the distinct count moved)."""

    name = "viewer-joined"


class ViewerLeft(ViewerCount):
    """Someone stopped viewing the lead (the distinct count moved)."""

    name = "viewer-left"


class SyncEvent(LiveEvent):
    """A HubSpot sync task, as its figures stand (``pc_core/sync_runs.py``)."""

    rooms = "partner:{id}"
    sync_task_id: str
    partner_id: str
    status: str
    step: str | None = None
    trigger: str | None = None
    direction: str | None = None
    dagster_run_id: str | None = None
    counts: dict[str, int]
    errors: int = Field(ge=0, description="How many errors the task recorded")


class SyncProgress(SyncEvent):
    """A sync task started or finished a step."""

    name = "sync-progress"


class SyncFinished(SyncEvent):
    """A sync task ended: succeeded, failed or cancelled."""

    name = "sync-finished"


class PurchaseUpdated(LiveEvent):
    """A purchase changed status: the buyer's checkout and both partners' purchase
    lists follow it."""

    name = "purchase-updated"
    rooms = "partner:{buyer}, partner:{seller}"
    purchase_id: str
    lead_id: str
    status: PurchaseStatus
    failure_message: str | None
    buyer_partner_id: str
    seller_partner_id: str


class ReturnUpdated(LiveEvent):
    """A bad-lead return changed (asked, contested, decided): both partners'
    purchase pages and the operator's queue follow it."""

    name = "return-updated"
    rooms = "partner:{buyer}, partner:{seller}, partner:{operator}"
    return_id: str
    purchase_id: str
    lead_id: str
    status: ReturnStatus
    reason: ReturnReason
    buyer_partner_id: str
    seller_partner_id: str


class LeadAssigned(LiveEvent):
    """A ChiliPiper booking routed a new lead to the partner."""

    name = "lead-assigned"
    rooms = "partner:{id}"
    lead_id: str
    partner_id: str
    meeting_id: str
    meeting_type: str
    start_time: datetime
    title: str


class MeetingUpdated(LiveEvent):
    """A ChiliPiper meeting of the partner's lead was rescheduled or cancelled."""

    name = "meeting-updated"
    rooms = "partner:{id}"
    lead_id: str
    partner_id: str
    meeting_id: str
    status: str
    start_time: datetime


#: Every event the platform sends, in the catalogue's order.
LIVE_EVENTS: tuple[type[LiveEvent], ...] = (
    LeadListed, LeadUnlisted, LeadReserved, LeadReleased, LeadSold, StageUpdated,
    ViewerJoined, ViewerLeft, SyncProgress, SyncFinished, PurchaseUpdated, ReturnUpdated,
    LeadAssigned, MeetingUpdated,
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
        definition["description"] = f"{definition.get('description', '')}\n\nRooms: {model.rooms}"
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
