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
