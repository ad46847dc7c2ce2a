"""A failing data-quality check emails the operator (the recipients of
``pc_core.observability.operator_alerts``: ``PC_ALERT_EMAILS``, else every active
owner), through the mailer, at most once an hour per check (the dedupe key carries
the hour), so a check that keeps failing
every few minutes does not flood anyone."""

from __future__ import annotations

from datetime import datetime

from pymongo.database import Database

from pc_core import collections as c
from pc_core.mail.mailer import send_email
from pc_core.observability.operator_alerts import operator_recipients
from pc_core.settings import Settings
from pc_core.timeutil import utcnow


def check_failed(db: Database, settings: Settings, check: str, summary: str,
                 details: list[str], now: datetime | None = None) -> bool:
    """Email the operator about ``check``; returns whether an email was sent now."""
    now = now or utcnow()
    key = f"check-failed:{check}:{now:%Y-%m-%dT%H}"
    if db[c.EMAILS].find_one({"_id": key}, {"_id": 1}) is not None:
        return False
    listing = "\n".join(f"- {d}" for d in details[:50]) or "- (no details)"
    if len(details) > 50:
        listing += f"\n- ... and {len(details) - 50} more"
    sent = send_email(db, settings, key=key, template="check_failed",
                      to=operator_recipients(db, settings),
                      context={"check": check, "summary": summary, "details": listing,
                               "at": f"{now:%Y-%m-%d %H:%M} UTC"})
    return sent is not None
