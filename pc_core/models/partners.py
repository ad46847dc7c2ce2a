"""Partners: the agencies (and the operator) that own leads and users.
``PartnerBase`` holds the rules of what the owner (and partly an admin) may set."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pc_core.models.base import all_optional
from pc_core.money import MAX_CENTS


class PartnerBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    website: str | None = Field(default=None, max_length=300)
    is_operator: bool = False
    default_lead_price_cents: int | None = Field(default=None, ge=0, le=MAX_CENTS)


class PartnerCreate(PartnerBase):
    pass


PartnerUpdate = all_optional(
    PartnerBase, "PartnerUpdate",
    doc="An edit: only the fields sent change; an admin may change name, website and "
        "the default price, the owner everything.",
    active=(bool | None, None),
)


class PartnerLifecycleOut(BaseModel):
    """What a deactivation or reactivation did (docs/lifecycle.md); counts, never data."""

    change: str = Field(description="`deactivated` or `reactivated`")
    users_signed_out: int = 0
    sign_ins_revoked: int = 0
    api_tokens_revoked: int = 0
    listings_withdrawn: int = 0
    reservations_released: int = Field(
        0, description="Other buyers' holds on the partner's leads, released; each "
                       "buyer is told by e-mail")
    buyers_notified: int = 0
    own_reservations_released: int = Field(
        0, description="The partner's own holds on other leads, given back to the market")
    payments_in_flight: int = Field(
        0, description="Holds left alone because a payment for them is pending")
    users_can_sign_in: int = 0
    syncs_paused: bool = False
    syncs_resumed: bool = False
    listings_to_relist: int = Field(
        0, description="Leads withdrawn at deactivation: not re-listed automatically")
    notes: list[str] = []


class PartnerDeleteIn(BaseModel):
    """The owner types the partner's name to confirm: the deletion cannot be undone."""

    model_config = ConfigDict(extra="forbid")

    confirm_name: str = Field(min_length=1, max_length=200)


class PartnerRemovalOut(BaseModel):
    """What deleting a partner removed and what it kept, anonymised (counts only)."""

    partner_id: str
    anonymised_as: str = Field(description="The reference kept on financial records")
    removed: dict[str, int]
    anonymised: dict[str, int]
    lifecycle: PartnerLifecycleOut


class PartnerOut(BaseModel):
    id: str
    name: str
    slug: str
    website: str | None
    is_operator: bool
    active: bool
    default_lead_price_cents: int | None
    hubspot_connected: bool
    created_at: datetime
    updated_at: datetime
    lifecycle: PartnerLifecycleOut | None = Field(
        None, description="Only in the answer to an `active` change: what it did")

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> PartnerOut:
        """Connection state only, never the HubSpot tokens."""
        return cls.model_validate({
            "id": doc["_id"],
            "name": doc["name"],
            "slug": doc["slug"],
            "website": doc.get("website"),
            "is_operator": doc.get("is_operator", False),
            "active": doc.get("active", True),
            "default_lead_price_cents": doc.get("default_lead_price_cents"),
            "hubspot_connected": bool((doc.get("hubspot") or {}).get("portal_id")),
            "created_at": doc["created_at"],
            "updated_at": doc.get("updated_at", doc["created_at"]),
        })


class PurchaseStats(BaseModel):
    bought_count: int
    bought_cents: int
    sold_count: int
    sold_cents: int


class PartnerStatsOut(BaseModel):
    partner_id: str
    leads_total: int
    leads_by_stage: dict[str, int]
    leads_by_status: dict[str, int]
    reservations_by_status: dict[str, int]
    purchases: PurchaseStats
