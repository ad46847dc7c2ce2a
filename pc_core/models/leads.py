"""Leads: the fields a person may set and their rules (``LeadBase``), written once
for the API's bodies, each CSV row, the ChiliPiper and seed paths
(``LeadFields``/``LeadCreate``) and the edits (``LeadUpdate``, derived); and the
lead as the API shows it (``LeadOut``, with its notes and page).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from pc_core.models.base import all_optional
from pc_core.stages import LeadStatus, Stage


class CompanySize(StrEnum):
    S1_10 = "1-10"
    S11_50 = "11-50"
    S51_200 = "51-200"
    S201_500 = "201-500"
    S501_1000 = "501-1000"
    S1000_PLUS = "1000+"


class LeadOrigin(StrEnum):
    """Which of a partner's leads a list shows: the ones it brought (``own``, also
    when sold on), the ones it bought on the marketplace (``purchased``), or both."""

    OWN = "own"
    PURCHASED = "purchased"
    ALL = "all"


Cents = Field(default=None, ge=0, le=10_000_000_000)


class LeadBase(BaseModel):
    """The fields a person may set on a lead, with their rules."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: EmailStr | None = None
    contact_phone: str | None = Field(default=None, max_length=50)
    company_size: CompanySize | None = None
    industry: str | None = Field(default=None, max_length=100)
    location: str | None = Field(default=None, max_length=100)
    budget_cents: int | None = Cents
    amount_cents: int | None = Cents
    price_cents: int | None = Cents
    stage: Stage = Stage.NEW

    @field_validator("contact_email", mode="before")
    @classmethod
    def _blank_email_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("contact_email", mode="after")
    @classmethod
    def _lower_email(cls, value: str | None) -> str | None:
        return value.lower() if value else value


class LeadFields(LeadBase):
    """A new lead's fields, however it arrives (API, CSV row, ChiliPiper, seed)."""

    external_id: str | None = Field(default=None, max_length=100)


class LeadCreate(LeadFields):
    partner_id: str | None = Field(
        default=None, description="Owner only: the partner the lead belongs to."
    )
    status: LeadStatus | None = Field(
        default=None, description="open, listed or archived; non_fit leads are listed."
    )


NOT_NULLABLE = ("title", "stage", "status")


class _LeadUpdateRules(BaseModel):
    @model_validator(mode="after")
    def _required_fields_are_not_cleared(self) -> _LeadUpdateRules:
        given = self.model_fields_set
        cleared = [f for f in NOT_NULLABLE if f in given and getattr(self, f, None) is None]
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be null")
        return self


class _LeadUpdateBase(LeadBase, _LeadUpdateRules):
    pass


LeadUpdate = all_optional(
    _LeadUpdateBase, "LeadUpdate",
    doc="An edit: only the fields sent change; title, stage and status cannot be cleared.",
    status=(LeadStatus | None, None),
)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    body: str = Field(min_length=1, max_length=10_000)


class NoteOut(BaseModel):
    id: str
    body: str
    author_id: str | None
    created_at: datetime


class LeadOut(BaseModel):
    """A lead as the caller sees it: its seller, its buyer or the owner."""

    id: str
    partner_id: str
    buyer_partner_id: str | None
    source: str
    external_id: str | None
    title: str
    company: str | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    company_size: CompanySize | None
    industry: str | None
    industry_label: str | None = Field(
        default=None, description="The seller's CRM label of `industry` (HubSpot's option "
        "label, e.g. \"Hospital & Health Care\" for HOSPITAL_HEALTH_CARE); null when its "
        "CRM labels no such value: show a readable form of `industry` then.")
    location: str | None
    budget_cents: int | None
    amount_cents: int | None
    price_cents: int | None
    stage: Stage
    status: LeadStatus
    notes: list[NoteOut]
    buyer_stage: Stage | None = Field(
        default=None, description="A sold lead's stage in the buyer's CRM (seller and buyer "
        "see it); null until the buyer's deal moves.")
    hubspot_deal_id: str | None = Field(
        default=None, description="The HubSpot deal in the caller's own portal: the seller's "
        "deal for the seller, the deal created in the buyer's portal for the buyer.")
    origin: LeadOrigin | None = Field(
        default=None, description="own (the caller's partner brought it) or purchased "
        "(bought on the marketplace); null in the owner's unscoped lists.")
    hubspot_synced_at: datetime | None = Field(
        default=None, description="When the lead was last pulled from or pushed to its "
        "partner's HubSpot; null if never, and for the buyer of a sold lead.")
    push_pending: bool = Field(
        default=False, description="A platform change (stage, amount, a note) waits to be "
        "pushed to the partner's HubSpot deal; false for the buyer of a sold lead.")
    seller_name: str | None = Field(
        default=None, description="The name of the partner the lead belongs to, on a lead "
        "the caller bought and in the owner's view; null on the caller's own leads.")
    scheduled_date: datetime | None = Field(
        default=None, description="The meeting booked through ChiliPiper for this lead.")
    meeting_status: str | None = Field(
        default=None, description="scheduled or cancelled (ChiliPiper's booking).")
    meeting_type: str | None = None
    created_at: datetime
    updated_at: datetime
    # The stored revision this answer was read at (``rev``): not a field of the
    # answer, it travels as the HTTP ``ETag`` (pc_api/conditional.py).
    _revision: int = PrivateAttr(default=0)

    @property
    def revision(self) -> int:
        """The stored lead's revision when this answer was built (0 if unknown)."""
        return self._revision

    @classmethod
    def from_doc(cls, doc: dict[str, Any], viewer: str | None = None,
                 names: dict[str, str] | None = None,
                 labels: ValueLabels | None = None) -> LeadOut:
        """The stored lead as ``viewer`` (a partner id; ``None``: the owner's unscoped
        view) sees it. ``hubspot_deal_id`` is the deal in the viewer's own portal:
        the seller's deal for the seller and the owner, the deal the cross-partner
        sync created for the buyer; neither side sees the other's CRM ids."""
        out = cls.model_validate(view_of(doc, viewer, names, labels))
        out._revision = int(doc.get("rev") or 0)
        return out


class LeadChanged(BaseModel):
    """The answer to an edit sent with a stale ``If-Match``: nothing was written;
    ``current`` is the lead as stored now (its ETag in the answer's header)."""

    detail: str
    current: LeadOut


class LeadPage(BaseModel):
    items: list[LeadOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )

    @classmethod
    def from_docs(cls, docs: list[dict[str, Any]], viewer: str | None,
                  next_cursor: str | None, names: dict[str, str] | None = None,
                  labels: ValueLabels | None = None) -> LeadPage:
        """One page, validated in one call (a page is the hot path)."""
        return cls.model_validate({"items": [view_of(d, viewer, names, labels) for d in docs],
                                   "next_cursor": next_cursor})


def lead_origin(doc: dict[str, Any], viewer: str | None) -> LeadOrigin | None:
    """``purchased`` for the partner that bought the lead, ``own`` for the one it
    belongs to, ``None`` for a viewer that is neither (the owner's unscoped view)."""
    if viewer is not None and doc.get("buyer_partner_id") == viewer:
        return LeadOrigin.PURCHASED
    if viewer is not None and doc.get("partner_id") == viewer:
        return LeadOrigin.OWN
    return None


#: partner id → field → value → label (``pc_core.sync.value_labels``, which stores them).
ValueLabels = Mapping[str, Mapping[str, Mapping[str, str]]]


def value_label(labels: ValueLabels | None, partner_id: str, field: str,
                value: str | None) -> str | None:
    """The seller's CRM label of ``value`` in ``field``; ``None`` when it has none
    (the client then shows a readable form of the value)."""
    if not value or not labels:
        return None
    return labels.get(partner_id, {}).get(field, {}).get(value)


# What a lead answer reads of the stored document (besides the computed fields).
SHOWN_FIELDS = (
    "title", "company", "contact_name", "contact_email", "contact_phone", "company_size",
    "industry", "location", "budget_cents", "amount_cents", "price_cents", "stage", "status",
    "partner_id", "buyer_partner_id", "external_id", "buyer_stage", "scheduled_date",
    "meeting_status", "meeting_type",
)


def _notes_seen(doc: dict[str, Any], origin: LeadOrigin | None,
                viewer: str | None) -> list[dict[str, Any]]:
    """The seller's notes for everyone who sees the lead; the buyer's own notes for
    the buyer and the owner (unscoped) only; oldest first."""
    notes = list(doc.get("notes", []))
    if origin is LeadOrigin.PURCHASED or viewer is None:
        notes = sorted([*notes, *doc.get("buyer_notes", [])], key=lambda n: n["created_at"])
    return notes


def view_of(doc: dict[str, Any], viewer: str | None,
            names: dict[str, str] | None = None,
            labels: ValueLabels | None = None) -> dict[str, Any]:
    """The input of ``LeadOut`` for ``doc`` seen by ``viewer``; ``names`` (partner id →
    name) gives the seller's name wherever the viewer is not the seller; ``labels``
    (``pc_core.sync.value_labels.labels_of``) the seller's CRM labels of its values."""
    origin = lead_origin(doc, viewer)
    deal_field = "buyer_hubspot_deal_id" if origin is LeadOrigin.PURCHASED else "hubspot_deal_id"
    out = {k: doc.get(k) for k in SHOWN_FIELDS}
    deal = doc.get(deal_field)
    # The sync state is the seller's CRM's: the buyer's portal is another deal.
    sellers = origin is not LeadOrigin.PURCHASED
    out.update(
        id=doc["_id"],
        source=doc.get("source", "manual"),
        notes=_notes_seen(doc, origin, viewer),
        hubspot_deal_id=str(deal) if deal else None,
        origin=origin,
        hubspot_synced_at=doc.get("hubspot_synced_at") if sellers else None,
        # a queue flag: the embedded store keeps a $set True as 1
        push_pending=bool(doc.get("push_pending")) and sellers,
        seller_name=(names or {}).get(doc["partner_id"]) if origin is not LeadOrigin.OWN
        else None,
        industry_label=value_label(labels, doc["partner_id"], "industry", doc.get("industry")),
        created_at=doc["created_at"],
        updated_at=doc.get("updated_at", doc["created_at"]),
    )
    return out
