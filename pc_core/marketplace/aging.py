"""Aging prices: a seller may have its listed leads get cheaper every week, by a
percentage, down to a floor (``price_aging`` on the seller's partner document).

A lead's next drop is one week after its last drop, else after it was (last)
listed; the drop takes ``percent`` of the current price off (integer cents,
rounded down) and never goes below ``floor_cents``. ``next_drop`` is what the
listing shows ("drops to $X on D"); ``pc_core.marketplace.price_drops`` applies
the due drops (hourly Dagster schedule ``price_aging``), and a drop reaches saved
searches and standing orders like a new listing (a search whose maximum the
lead now meets is told; one told before is not told again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.errors import BadRequest, NotFound
from pc_core.marketplace.pricing import lead_price_cents
from pc_core.settings import Settings
from pc_core.store import update_with_retry
from pc_core.timeutil import ensure_utc, utcnow

Doc = dict[str, Any]
EVERY = timedelta(days=7)


class PriceAging(BaseModel):
    """A seller's aging rule (off unless ``enabled``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    percent: int = Field(default=10, ge=1, le=50, description="Taken off every week")
    floor_cents: int = Field(default=0, ge=0, le=10_000_000_000,
                             description="The price never goes below this")


@dataclass(frozen=True)
class Drop:
    at: datetime
    price_cents: int


def rule_of(seller: Doc | None) -> PriceAging | None:
    raw = (seller or {}).get("price_aging")
    if not raw:
        return None
    rule = PriceAging.model_validate(raw)
    return rule if rule.enabled else None


def dropped_price(price: int, rule: PriceAging) -> int:
    return max(rule.floor_cents, price - price * rule.percent // 100)


def next_drop(lead: Doc, seller: Doc | None, settings: Settings) -> Drop | None:
    """The lead's next price drop, or ``None`` (no aging, or at the floor)."""
    rule = rule_of(seller)
    if rule is None:
        return None
    price = lead_price_cents(lead, seller, settings)
    lower = dropped_price(price, rule)
    if lower >= price:
        return None
    since = lead.get("price_dropped_at") or (lead.get("field_times") or {}).get("status") \
        or lead["created_at"]
    return Drop(ensure_utc(since) + EVERY, lower)


def get_rule(db: Database, actor: Principal, partner_id: str | None) -> PriceAging:
    target = actor.acting_partner_id(partner_id)
    doc = db[c.PARTNERS].find_one({"_id": target}, {"price_aging": 1}) if target else None
    if doc is None:
        raise NotFound("partner not found")
    return PriceAging.model_validate(doc.get("price_aging") or {})


def set_rule(db: Database, actor: Principal, partner_id: str | None,
             rule: PriceAging) -> PriceAging:
    """A seller's admin (or the owner) sets the rule."""
    target = actor.acting_partner_id(partner_id)
    actor.require_writer()
    if target is None:
        raise BadRequest("partner_id is required")
    if db[c.PARTNERS].find_one({"_id": target}, {"_id": 1}) is None:
        raise NotFound("partner not found")
    wanted = rule.model_dump()

    def change(current: Doc) -> Doc | None:
        if current.get("price_aging") == wanted:
            return None
        return {"price_aging": wanted, "updated_at": utcnow()}

    update_with_retry(db[c.PARTNERS], target, change, what="partner")
    return rule
