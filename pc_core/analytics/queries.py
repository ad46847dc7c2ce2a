"""The funnel a partner sees: ``GET /v1/partners/{id}/funnel?from=&to=``.

Computed on request from the partner's stage events, leads and purchases with the
same pure functions as the ``partner_funnel`` asset, so the dashboard and the
warehouse always agree. Scoped like every partner route: the owner may ask for any
partner, everyone else for their own; another partner is "not found".
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.analytics import sources
from pc_core.analytics.funnel import Window, funnel_summary, funnel_table
from pc_core.errors import BadRequest, NotFound
from pc_core.timeutil import utcnow

DEFAULT_DAYS = 30
MAX_DAYS = 366


def period(first: date | None, last: date | None, today: date | None = None
           ) -> tuple[date, date]:
    """The days asked for: ``to`` defaults to today, ``from`` to 30 days before it."""
    last = last or today or utcnow().date()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise BadRequest("'from' must not be after 'to'")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadRequest(f"the period can be at most {MAX_DAYS} days")
    return first, last


def partner_funnel(db: Database, actor: Principal, partner_id: str,
                   first: date | None = None, last: date | None = None) -> dict[str, Any]:
    actor.require_partner_visible(partner_id, "partner")
    partner = db[c.PARTNERS].find_one({"_id": partner_id}, {"is_operator": 1})
    if partner is None:
        raise NotFound("partner not found")
    first, last = period(first, last)
    operator = bool(partner.get("is_operator"))
    history = sources.partner_history(db, partner_id)
    purchases = sources.purchases_of(db, partner_id, is_operator=operator)
    row = funnel_table(history, purchases, partner_id=partner_id, is_operator=operator,
                       window=Window.days(first, last)).row(0, named=True)
    return {"partner_id": partner_id, "from": first, "to": last, **funnel_summary(row)}
