"""Answers and bodies of the money routes: the seller's payouts (Stripe Connect),
bad-lead returns and the known-contact check."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ReturnReason = Literal["unreachable", "wrong_data", "outside_criteria", "already_known",
                       "duplicate"]
ReturnStatus = Literal["requested", "contested", "needs_approval", "accepted", "rejected"]


class OnboardingLink(BaseModel):
    url: str = Field(description="Stripe's hosted onboarding; single use, expires in minutes")


class SaleOut(BaseModel):
    purchase_id: str
    lead_id: str
    price_cents: int
    commission_cents: int
    status: str
    completed_at: datetime | None
    paid_to_account: bool = Field(description="A destination charge: Stripe paid the seller")


class PayoutOut(BaseModel):
    id: str
    amount_cents: int
    status: str
    arrival_date: datetime


class PayoutsOut(BaseModel):
    partner_id: str
    is_operator: bool
    connected: bool
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    can_list: bool
    balance_available_cents: int | None
    sold_count: int
    sold_cents: int
    returned_count: int
    sales: list[SaleOut]
    payouts: list[PayoutOut]


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purchase_id: str = Field(min_length=1, max_length=64)
    reason: ReturnReason
    note: str | None = Field(default=None, max_length=2000)


class ReturnAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept: bool
    note: str | None = Field(default=None, max_length=2000)


class TimelineStep(BaseModel):
    at: datetime
    by: str
    action: str
    note: str | None


class ReturnOut(BaseModel):
    id: str
    purchase_id: str
    lead_id: str
    buyer_partner_id: str
    seller_partner_id: str
    reason: ReturnReason
    note: str | None
    status: ReturnStatus
    amount_cents: int
    refund_id: str | None
    decided_by: str | None
    seller_due_at: datetime | None
    created_at: datetime
    closed_at: datetime | None
    timeline: list[TimelineStep]

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ReturnOut:
        return cls.model_validate({**doc, "id": doc["_id"]})


class ReturnPage(BaseModel):
    items: list[ReturnOut]
    next_cursor: str | None


class KnownIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lead_ids: list[str] = Field(min_length=1, max_length=50)


class KnownOut(BaseModel):
    lead_id: str
    known: bool
    match: Literal["email", "domain"] | None = Field(
        description="How the buyer's own data knows it: same e-mail, or same company domain")


class KnownPage(BaseModel):
    items: list[KnownOut]
