"""Request and response models: the documented HTTP contract (see /docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from pc_core.access import Role
from pc_core.lead_models import CompanySize, LeadOrigin
from pc_core.stages import LeadStatus, Stage


class HealthOut(BaseModel):
    status: str
    mongo: str
    redis: str


class LoginIn(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(BaseModel):
    refresh_token: str | None = Field(default=None, max_length=512)


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    partner_id: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str = Field(
        description="Also set as the HttpOnly pc_refresh cookie; scripts without cookies use this."
    )
    user: UserOut


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    password: str = Field(min_length=8, max_length=1024)
    name: str = Field(default="", max_length=200)
    role: Role = Role.USER
    partner_id: str | None = None


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    partner_id: str | None = None
    active: bool | None = None


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


class PartnerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    website: str | None = Field(default=None, max_length=300)
    is_operator: bool = False
    default_lead_price_cents: int | None = Field(default=None, ge=0)


class PartnerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    website: str | None = Field(default=None, max_length=300)
    default_lead_price_cents: int | None = Field(default=None, ge=0)
    active: bool | None = None
    is_operator: bool | None = None


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


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    body: str = Field(min_length=1, max_length=10_000)


class NoteOut(BaseModel):
    id: str
    body: str
    author_id: str | None
    created_at: datetime


class LeadOut(BaseModel):
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
    created_at: datetime
    updated_at: datetime


class LeadPage(BaseModel):
    items: list[LeadOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class ImportError_(BaseModel):
    row: int = Field(description="CSV record number, counting the header as row 1.")
    error: str


class ImportResult(BaseModel):
    created: int
    updated: int
    errors: list[ImportError_]


class AuthorizeOut(BaseModel):
    url: str


class HubSpotStatusOut(BaseModel):
    connected: bool
    portal_id: str | None
    scopes: list[str]
    last_synced_at: datetime | None
    sync_status: Literal["ok", "failed"] | None = Field(
        None, description="`failed` after a failed HubSpot run for the partner, until the "
        "next successful sync; null when not connected.")
    last_sync_error: str | None = None
    last_sync_failed_at: datetime | None = None
    last_failed_job: str | None = None


class SyncQueuedOut(BaseModel):
    run_id: str | None = Field(description="The Dagster run id once launched; null while queued.")
    sync_task_id: str
    status: str


class SyncTaskOut(BaseModel):
    id: str
    partner_id: str
    trigger: str
    direction: str
    status: str
    dagster_run_id: str | None
    counts: dict[str, int]
    details: dict[str, dict[str, int]]
    errors: list[str]
    conflicts: list[dict]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SyncTaskPage(BaseModel):
    items: list[SyncTaskOut]
    next_cursor: str | None


class StageMappingItem(BaseModel):
    pipeline_id: str
    pipeline_label: str | None = None
    stage_id: str
    stage_label: str | None = None
    canonical_stage: Stage | None
    suggested_stage: Stage | None = None


class StageMappingIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    pipeline_id: str = Field(min_length=1, max_length=100)
    stage_id: str = Field(min_length=1, max_length=100)
    canonical_stage: Stage | None
