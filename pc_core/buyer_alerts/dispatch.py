"""What runs for every listing, whatever path listed it.

Registered with ``pc_core.marketplace.listings.after_listed`` when this module is
imported (the API's routes and the Dagster definitions import it, and so does every
process that lists leads: ``tests/test_buyer_alerts.py`` checks both entry points),
so the marketplace, which the alerts build on, does not import them.

Per listing: standing orders first (a lead an order reserves is no longer for sale,
so nobody is alerted to it), then the matching saved searches (this process's
in-memory index, ``search_index``), whose notices are recorded and told live here;
their e-mails are queued for the worker's alert lane (``mail_queue``), so nothing
slow runs on the listing path.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pc_core.buyer_alerts import matching, notices
from pc_core.marketplace import listings, standing_orders
from pc_core.settings import Settings
from pc_core.timeutil import utcnow

Doc = dict[str, Any]


def on_listed(db: Database, settings: Settings, views: list[Doc]) -> None:
    now = utcnow()
    for listing in views:
        if standing_orders.fill(db, settings, listing, now) is not None:
            continue
        found = matching.matching_searches(db, settings, listing)
        notices.notify(db, settings, listing, found, now)


listings.after_listed(on_listed)
