"""A partner's routing rules and whether a booker's answers fit them.

Stored on the partner document: ``chili_meeting_types`` (top level, as in the
seed's data model) and ``routing`` (the rest). An empty list or ``None`` means
"any". A rule the partner set that the form leaves unanswered does not match: the
partner asked for, say, budgets of $5,000+, and an unknown budget is not that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pc_core.models.leads import CompanySize

SIZE_ORDER = {size: i for i, size in enumerate(CompanySize)}


class RoutingConfig(BaseModel):
    """What ``GET|PUT /v1/partners/{id}/routing`` reads and writes."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    meeting_types: list[str] = Field(default_factory=list, max_length=50,
                                     description="ChiliPiper meeting types routed here")
    company_size_min: CompanySize | None = None
    company_size_max: CompanySize | None = None
    budget_min_cents: int | None = Field(default=None, ge=0, le=10_000_000_000)
    locations: list[str] = Field(default_factory=list, max_length=200)
    industries: list[str] = Field(default_factory=list, max_length=200)
    weight: int = Field(default=1, ge=1, le=1000,
                        description="Share of the meetings among eligible partners")
    monthly_cap: int | None = Field(default=None, ge=0, le=1_000_000,
                                    description="Most leads routed per calendar month (UTC)")

    @field_validator("meeting_types", "locations", "industries")
    @classmethod
    def _clean_list(cls, values: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for v in values:
            v = v.strip()
            if v and v.casefold() not in seen:
                seen[v.casefold()] = v
        return list(seen.values())

    @model_validator(mode="after")
    def _size_range(self) -> RoutingConfig:
        lo, hi = self.company_size_min, self.company_size_max
        if lo is not None and hi is not None and SIZE_ORDER[lo] > SIZE_ORDER[hi]:
            raise ValueError("company_size_min is above company_size_max")
        return self


def config_of(partner: dict[str, Any]) -> RoutingConfig:
    """The partner's stored rules (defaults when it has none)."""
    stored = dict(partner.get("routing") or {})
    stored["meeting_types"] = list(partner.get("chili_meeting_types") or [])
    return RoutingConfig.model_validate(stored)


def to_partner_fields(config: RoutingConfig) -> dict[str, Any]:
    data = config.model_dump(mode="json")
    return {"chili_meeting_types": data.pop("meeting_types"), "routing": data}


@dataclass(frozen=True)
class Lead:
    """The answers routing looks at, already normalised."""

    meeting_type: str
    company_size: CompanySize | None
    budget_cents: int | None
    location: str | None
    industry: str | None


def _in(value: str | None, allowed: list[str]) -> bool:
    return value is not None and value.casefold() in {a.casefold() for a in allowed}


def mismatches(config: RoutingConfig, lead: Lead) -> list[str]:
    """Why this partner cannot take the lead; empty when its rules fit."""
    out: list[str] = []
    if not _in(lead.meeting_type, config.meeting_types):
        out.append(f"does not take meeting type {lead.meeting_type!r}")
    size = lead.company_size
    if config.company_size_min is not None or config.company_size_max is not None:
        if size is None:
            out.append("company size not answered")
        else:
            if config.company_size_min is not None and \
                    SIZE_ORDER[size] < SIZE_ORDER[config.company_size_min]:
                out.append(f"company size {size.value} below {config.company_size_min.value}")
            if config.company_size_max is not None and \
                    SIZE_ORDER[size] > SIZE_ORDER[config.company_size_max]:
                out.append(f"company size {size.value} above {config.company_size_max.value}")
    if config.budget_min_cents is not None:
        if lead.budget_cents is None:
            out.append("budget not answered")
        elif lead.budget_cents < config.budget_min_cents:
            out.append(f"budget {lead.budget_cents} cents below {config.budget_min_cents}")
    if config.locations and not _in(lead.location, config.locations):
        out.append(f"location {lead.location!r} not in {config.locations}")
    if config.industries and not _in(lead.industry, config.industries):
        out.append(f"industry {lead.industry!r} not in {config.industries}")
    return out
