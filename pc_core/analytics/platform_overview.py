"""The owner's view of the whole platform (``GET /v1/platform/overview``): partners,
leads by status, the marketplace, sales and commission per month, and every
partner's HubSpot sync health with the worst first.

A handful of aggregations, each one ``$group`` over an index-served ``$match``:
the owner opens it a few times a day, so it is read live rather than kept by a
pipeline. Refunded sales leave a month's figures (the purchase's status moved on).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.hubspot.connection.failure_advice import advise
from pc_core.hubspot.connection.sync_health import FAILED
from pc_core.models.sync_tasks import Advice
from pc_core.store.counts import count_by
from pc_core.timeutil import utcnow

MONTHS = 12


class MonthSales(BaseModel):
    month: str = Field(description="YYYY-MM (UTC)")
    sales: int
    revenue_cents: int = Field(description="What buyers paid (price + commission)")
    commission_cents: int


class PartnerHealth(BaseModel):
    partner_id: str
    name: str
    active: bool
    hubspot_connected: bool
    sync_status: str = Field(description="failed, stale (no sync for a day), ok, or "
                             "not_connected; the list is sorted in that order")
    last_synced_at: datetime | None
    last_sync_error: str | None
    failure: Advice | None


class PlatformOverview(BaseModel):
    partners_total: int
    partners_active: int
    leads_by_status: dict[str, int]
    listings: int = Field(description="Leads listed on the marketplace now")
    active_reservations: int
    sales_by_month: list[MonthSales] = Field(description="The last 12 months, oldest first")
    sync_health: list[PartnerHealth]


_ORDER = {FAILED: 0, "stale": 1, "ok": 2, "not_connected": 3}
STALE_AFTER_SECONDS = 24 * 3600


def _months(now: datetime) -> list[str]:
    year, month = now.year, now.month
    out = []
    for _ in range(MONTHS):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def _sales(db: Database, months: list[str]) -> list[MonthSales]:
    rows = db[c.PURCHASES].aggregate([
        {"$match": {"status": "completed", "month": {"$gte": months[0]}}},
        {"$group": {"_id": "$month", "n": {"$sum": 1}, "revenue": {"$sum": "$amount_cents"},
                    "commission": {"$sum": "$commission_cents"}}},
    ])
    by_month = {r["_id"]: r for r in rows}
    return [MonthSales(month=m, sales=int(by_month.get(m, {}).get("n", 0)),
                       revenue_cents=int(by_month.get(m, {}).get("revenue", 0)),
                       commission_cents=int(by_month.get(m, {}).get("commission", 0)))
            for m in months]


def _health(partner: dict[str, Any], now: datetime) -> PartnerHealth:
    hub = partner.get("hubspot") or {}
    connected = bool(hub.get("portal_id"))
    synced = hub.get("last_synced_at")
    if not connected:
        status = "not_connected"
    elif hub.get("sync_status") == FAILED:
        status = FAILED
    elif synced is None or (now - _utc(synced)).total_seconds() > STALE_AFTER_SECONDS:
        status = "stale"
    else:
        status = "ok"
    error = hub.get("last_sync_error") if status == FAILED else None
    return PartnerHealth(
        partner_id=partner["_id"], name=partner.get("name") or partner["_id"],
        active=bool(partner.get("active", True)), hubspot_connected=connected,
        sync_status=status, last_synced_at=synced, last_sync_error=error,
        failure=advise(error or "unknown") if status == FAILED else None)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def platform_overview(db: Database, actor: Principal,
                      now: datetime | None = None) -> PlatformOverview:
    """Owner only (403 for everyone else)."""
    actor.require_owner()
    now = now or utcnow()
    partners = list(db[c.PARTNERS].find({}, {"name": 1, "active": 1, "hubspot": 1}))
    leads = count_by(db[c.LEADS], {}, "status")
    health = sorted((_health(p, now) for p in partners),
                    key=lambda h: (_ORDER[h.sync_status], h.name.lower()))
    return PlatformOverview(
        partners_total=len(partners),
        partners_active=sum(1 for p in partners if p.get("active", True)),
        leads_by_status=leads,
        listings=leads.get("listed", 0),
        active_reservations=count_by(db[c.RESERVATIONS], {"status": "active"},
                                     "status").get("active", 0),
        sales_by_month=_sales(db, _months(now)),
        sync_health=health,
    )

