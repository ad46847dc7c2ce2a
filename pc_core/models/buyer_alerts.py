"""Saved searches and standing orders as the API takes and shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pc_core.models.leads import CompanySize
from pc_core.models.marketplace import ListingOut
from pc_core.stages import Stage

EmailMode = Literal["immediate", "daily", "off"]


class Criteria(BaseModel):
    """The marketplace's filters, as a buyer saves them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    industry: str | None = Field(default=None, max_length=100)
    company_size: CompanySize | None = None
    location: str | None = Field(default=None, max_length=100)
    budget_min: int | None = Field(default=None, ge=0, le=10_000_000_000, description="cents")
    price_max: int | None = Field(default=None, ge=0, le=10_000_000_000, description="cents")
    stage: Stage | None = None
    max_age_days: int | None = Field(default=None, ge=0, le=3650)


class SavedSearchIn(BaseModel):
    """A search saved from the marketplace page: its filters under a name."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    criteria: Criteria = Field(default_factory=Criteria)
    shared: bool = Field(default=False,
                         description="Every user of the partner sees it and its live notices")
    email: EmailMode = Field(default="immediate",
                             description="An e-mail per match, a daily digest, or none")


class SavedSearchUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=100)
    shared: bool | None = None
    email: EmailMode | None = None


class SavedSearchOut(BaseModel):
    id: str
    name: str
    criteria: Criteria
    shared: bool
    email: EmailMode
    own: bool = Field(description="Saved by the caller (others' shared searches are read-only)")
    created_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any], viewer: str) -> SavedSearchOut:
        return cls(id=doc["_id"], name=doc["name"], criteria=Criteria(**doc["criteria"]),
                   shared=bool(doc["shared"]), email=doc["email"],
                   own=doc["user_id"] == viewer, created_at=doc["created_at"])


class SavedSearchList(BaseModel):
    items: list[SavedSearchOut]


class SearchNoticeOut(BaseModel):
    """One match: a listing that met a saved search, as it was when listed."""

    id: str
    search_id: str
    search_name: str
    listing: ListingOut
    created_at: datetime


class SearchNoticePage(BaseModel):
    items: list[SearchNoticeOut]
    next_cursor: str | None


class UnsubscribeOut(BaseModel):
    search_name: str
    email: EmailMode


class StandingOrderIn(BaseModel):
    """"Reserve up to ``monthly_cap`` leads a month matching ``criteria`` at no more
    than ``criteria.price_max``"."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    criteria: Criteria
    monthly_cap: int = Field(ge=1, le=1000)
    days: int = Field(default=7, ge=7, le=14, description="How long each reservation holds")


class StandingOrderOut(BaseModel):
    id: str
    name: str
    criteria: Criteria
    monthly_cap: int
    days: int
    status: Literal["active", "paused"]
    card_failures: int
    filled_this_month: int
    created_at: datetime


class StandingOrderList(BaseModel):
    items: list[StandingOrderOut]


class PriceGuidanceOut(BaseModel):
    """What similar leads sold for: the narrowest segment with enough sales."""

    level: int = Field(description="0 industry × size × region, 1 industry × size, "
                                   "2 industry, 3 the whole market")
    industry: str | None
    company_size: str | None
    region: str | None
    enough_sales: bool = Field(description="False: even the whole market has fewer "
                                           "sales than the minimum")
    minimum_sales: int
    listings: int
    sales: int
    sell_through_7: float | None
    sell_through_14: float | None
    sell_through_30: float | None
    median_days_to_sell: float | None
    sold_p25: float | None
    sold_median: float | None
    sold_p75: float | None
    unsold_p25: float | None
    unsold_median: float | None
    unsold_p75: float | None
    at_price_sold_7: float | None = Field(
        description="Of the listings priced at or below price_cents, the share sold "
                    "within 7 days")
    computed_at: datetime
