"""The daily digest: one e-mail per user with the day's matches of its searches set
to ``daily``.

Notices waiting for it are ``digest: "pending"`` (an indexed equality queue). One
e-mail per user and UTC day (dedupe key ``search-digest:{user}:{day}``), so a
second run the same day sends nothing twice; a notice whose search has since been
switched off or deleted is dropped from it. The Dagster schedule
``buyer_alert_digest`` runs it daily (pc_pipelines/buyer_alerts).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.buyer_alerts.notices import (
    NONE,
    PENDING,
    SENT,
    listing_line,
    listing_url,
    owner_email,
)
from pc_core.buyer_alerts.unsubscribe import link_for
from pc_core.mail.mailer import send_email
from pc_core.settings import Settings
from pc_core.store.queues import mark, waiting
from pc_core.timeutil import utcnow

Doc = dict[str, Any]
BATCH = 5000
MAX_LINES = 50


def send_digests(db: Database, settings: Settings, now: datetime | None = None) -> int:
    """Send every user's pending digest; returns how many e-mails went out."""
    now = now or utcnow()
    pending = waiting(db[c.SEARCH_NOTICES], {"digest": PENDING}, limit=BATCH)
    searches = {d["_id"]: d for d in db[c.SAVED_SEARCHES].find(
        {"_id": {"$in": sorted({n["search_id"] for n in pending})}}, {"email": 1, "name": 1})}
    per_user: dict[str, list[Doc]] = defaultdict(list)
    dropped = []
    for notice in pending:
        if (searches.get(notice["search_id"]) or {}).get("email") == "daily":
            per_user[notice["user_id"]].append(notice)
        else:
            dropped.append(notice["_id"])
    sent = 0
    for user_id, notices in per_user.items():
        notices.sort(key=lambda n: n["sort_key"])
        lines = [f"- {n['search_name']}: {listing_line(n['listing'])} "
                 f"{listing_url(settings, n['_id'])}" for n in notices[:MAX_LINES]]
        if len(notices) > MAX_LINES:
            lines.append(f"... and {len(notices) - MAX_LINES} more on the marketplace")
        unsubscribe = "\n".join(f"- {name}: {link_for(settings, sid)}" for sid, name in sorted(
            {(n["search_id"], n["search_name"]) for n in notices}))
        record = send_email(db, settings, key=f"search-digest:{user_id}:{now:%Y-%m-%d}",
                            template="search_digest", to=owner_email(db, user_id),
                            context={"count": len(notices), "lines": "\n".join(lines),
                                     "unsubscribe": unsubscribe})
        if record is not None:
            sent += 1
        mark(db[c.SEARCH_NOTICES], [n["_id"] for n in notices], {"digest": SENT})
    mark(db[c.SEARCH_NOTICES], dropped, {"digest": NONE})
    return sent
