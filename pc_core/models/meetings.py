"""Meetings: the operator's unassigned queue (a booking no partner's rules matched)
and the manual assignment's body and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pc_core.models.leads import CompanySize
from pc_core.stages import LeadStatus


class UnassignedLeadOut(BaseModel):
    """A booked meeting's lead waiting for a partner, with what routing decides on
    (meeting type, company size, budget, location, industry) and why nobody got it."""

    id: str = Field(description="The lead's id (pass it to .../{lead_id}/assign)")
    title: str
    company: str | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    meeting_id: str | None = Field(description="ChiliPiper's meeting id")
    meeting_type: str | None
    scheduled_date: datetime | None = Field(description="When the meeting starts")
    meeting_status: str | None = Field(description="scheduled or cancelled")
    company_size: CompanySize | None
    budget_cents: int | None
    location: str | None
    industry: str | None
    routing_reason: str | None = Field(description="Why routing found no partner")
    status: LeadStatus
    created_at: datetime

    @classmethod
    def view(cls, doc: dict[str, Any]) -> dict[str, Any]:
        """The input of this model for a stored lead."""
        meeting = doc.get("meeting_id") or ""
        return {
            **{k: doc.get(k) for k in cls.model_fields if k not in ("id", "meeting_id")},
            "id": doc["_id"],
            "meeting_id": meeting.removeprefix("chilipiper:") or None,
        }


class UnassignedPage(BaseModel):
    items: list[UnassignedLeadOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )

    @classmethod
    def from_docs(cls, docs: list[dict[str, Any]], next_cursor: str | None) -> UnassignedPage:
        return cls.model_validate({"items": [UnassignedLeadOut.view(d) for d in docs],
                                   "next_cursor": next_cursor})


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partner_id: str = Field(min_length=1, max_length=64)
    override_cap: bool = Field(
        default=False, description="Assign even if the partner has reached its monthly "
        "cap (the lead is still counted). Without it a partner at its cap is a 409.")


class AssignOut(BaseModel):
    status: Literal["assigned", "unchanged"] = Field(
        description="assigned now, or unchanged: it already was, to this partner")
    lead_id: str
    partner_id: str
    partner_name: str
    assigned_at: datetime | None
    month_count: int = Field(description="Leads counted for the partner this month")
    monthly_cap: int | None
    over_cap: bool = Field(description="The partner is past its monthly cap (override)")
