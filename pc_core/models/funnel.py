"""Response models of ``GET /v1/partners/{id}/funnel`` (pc_core/analytics/funnel.py
defines each figure)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from pc_core.stages import Stage


class FunnelStage(BaseModel):
    stage: Stage
    entered: int = Field(description="Leads that entered the stage in the period")
    conversion_to_next: float | None = Field(
        description="Of those, the share that have since reached a later stage of the "
                    "funnel (null for won, lost, non_fit, or when none entered)")
    median_hours_in_stage: float | None = Field(
        description="Median time in the stage, over the stays that ended in the period")


class FunnelMarketplace(BaseModel):
    listed: int
    reserved: int
    sold: int
    listed_to_reserved: float | None
    reserved_to_sold: float | None
    median_days_to_sell: float | None = Field(
        description="First listing to sale, for the leads sold in the period")


class FunnelMoney(BaseModel):
    sales: int
    purchases: int
    revenue_cents: int = Field(description="Prices of the partner's sales")
    commission_paid_cents: int = Field(description="Commission on the partner's purchases")
    commission_earned_cents: int = Field(
        description="The platform's commission on every sale (the operator only)")


class FunnelOut(BaseModel):
    partner_id: str
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    stages: list[FunnelStage]
    won: int
    lost: int
    win_rate: float | None = Field(description="won / (won + lost) of the period")
    marketplace: FunnelMarketplace
    money: FunnelMoney
