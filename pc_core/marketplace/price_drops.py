"""Apply the aging prices' due drops (``pc_core.marketplace.aging``), hourly.

Each drop is a compare-and-set on the lead (a reservation or an edit landing
meanwhile wins; the drop is tried again next hour), records ``price_dropped_at``
and the price's change time, and runs the listing hooks
(``listings.announce_price_drop``), so saved searches and standing orders see it.
A run applies at most one drop per lead: a lead whose seller turned aging on long
after listing gets one drop now and the next a week later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo.database import Database

from pc_core import collections as c
from pc_core.marketplace import aging, listings
from pc_core.settings import Settings
from pc_core.stages import LeadStatus
from pc_core.store import replace_if_unchanged
from pc_core.timeutil import utcnow

BATCH = 5000


@dataclass
class DropReport:
    sellers: int = 0
    dropped: int = 0
    lost_races: int = 0


def apply_drops(db: Database, settings: Settings, now: datetime | None = None) -> DropReport:
    now = now or utcnow()
    report = DropReport()
    sellers = [p for p in db[c.PARTNERS].find({}, {"price_aging": 1, "default_lead_price_cents": 1,
                                                   "is_operator": 1, "name": 1})
               if aging.rule_of(p) is not None]
    for seller in sellers:
        report.sellers += 1
        for lead in db[c.LEADS].find({"partner_id": seller["_id"],
                                      "status": LeadStatus.LISTED.value}).limit(BATCH):
            drop = aging.next_drop(lead, seller, settings)
            if drop is None or drop.at > now:
                continue
            after = replace_if_unchanged(db[c.LEADS], lead, {
                "price_cents": drop.price_cents, "price_dropped_at": now, "updated_at": now,
                "field_times": {**lead.get("field_times", {}), "price_cents": now}})
            if after is None:
                report.lost_races += 1
                continue
            report.dropped += 1
            listings.announce_price_drop(db, settings, after)
    return report
