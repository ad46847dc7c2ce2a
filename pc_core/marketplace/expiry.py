"""What the every-minute Dagster schedule runs: expire lapsed reservations (the lead
goes back on the market, ``lead-listed`` is emitted), send the reservation-expiring
email a day ahead (once per reservation), and relist leads left reserved by a
reservation that was never written.

Queries are an equality on the indexed ``status`` plus a string range on
``expires_key``, the expiry's ``time_key`` (``pc_core.store.keys``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.marketplace import notifications
from pc_core.marketplace.purchases import PENDING
from pc_core.marketplace.reservations import (
    ACTIVE,
    EXPIRED,
    end_reservation,
    mark_reminded,
    relist_lead,
)
from pc_core.settings import Settings
from pc_core.stages import LeadStatus
from pc_core.store.keys import time_key
from pc_core.timeutil import ensure_utc, utcnow

log = logging.getLogger(__name__)
BATCH = 1000


@dataclass
class ExpiryReport:
    expired: int = 0
    held_for_payment: int = 0
    reminded: int = 0
    orphans_relisted: int = 0


def _pending_payment_holds(db: Database, settings: Settings, reservation: dict[str, Any],
                           now: datetime) -> bool:
    """A pending payment keeps the reservation for a grace period past its expiry."""
    purchase_id = reservation.get("pending_purchase_id")
    if not purchase_id:
        return False
    purchase = db[c.PURCHASES].find_one({"_id": purchase_id}, {"status": 1, "created_at": 1})
    if purchase is None or purchase["status"] != PENDING:
        return False
    grace = timedelta(minutes=settings.purchase_pending_grace_minutes)
    return ensure_utc(purchase["created_at"]) + grace > now


def expire_reservations(db: Database, settings: Settings,
                        now: datetime | None = None) -> ExpiryReport:
    """Expire every active reservation whose time is up; idempotent and safe to run
    concurrently with itself, a release or a payment (each change is a
    compare-and-set, so only one of them ends a given reservation)."""
    now = now or utcnow()
    report = ExpiryReport()
    due = db[c.RESERVATIONS].find(
        {"status": ACTIVE, "expires_key": {"$lte": time_key(now)}}
    ).limit(BATCH)
    for reservation in due:
        if ensure_utc(reservation["expires_at"]) > now:
            continue
        if _pending_payment_holds(db, settings, reservation, now):
            report.held_for_payment += 1
            continue
        if end_reservation(db, settings, reservation, EXPIRED, now) is not None:
            report.expired += 1
    report.reminded = send_expiry_reminders(db, settings, now)
    report.orphans_relisted = relist_orphans(db, settings, now)
    return report


def send_expiry_reminders(db: Database, settings: Settings, now: datetime) -> int:
    """The reservation-expiring email, once per reservation, within
    ``reservation_reminder_hours`` of expiry. The email's dedupe key makes it
    once-only even if marking the reservation fails."""
    horizon = now + timedelta(hours=settings.reservation_reminder_hours)
    sent = 0
    for reservation in db[c.RESERVATIONS].find(
        {"status": ACTIVE, "expires_key": {"$lte": time_key(horizon)}}
    ).limit(BATCH):
        if reservation.get("reminder_sent_at") or ensure_utc(reservation["expires_at"]) <= now:
            continue
        notifications.reservation_expiring(db, settings, reservation)
        mark_reminded(db, reservation, now)
        sent += 1
    return sent


def relist_orphans(db: Database, settings: Settings, now: datetime) -> int:
    """Leads still reserved by a reservation that is not active (a crash between
    the lead write and the reservation write, or between ending and relisting)."""
    relisted = 0
    reserved = list(db[c.LEADS].find(
        {"status": LeadStatus.RESERVED.value}, {"reservation": 1}
    ).limit(BATCH))
    ids = [(d.get("reservation") or {}).get("id") for d in reserved]
    active = {
        d["_id"] for d in db[c.RESERVATIONS].find(
            {"_id": {"$in": [i for i in ids if i]}}, {"status": 1}
        ) if d["status"] == ACTIVE
    }
    for lead in reserved:
        held = lead.get("reservation") or {}
        if held.get("id") in active:
            continue
        expires_at = held.get("expires_at")
        # No reservation document yet and time left: maybe one still being written;
        # an orphan is relisted once its hold time has passed. A reservation that
        # exists and is over (released/expired mid-way) is relisted at once.
        if (held.get("id") and expires_at and ensure_utc(expires_at) > now
                and db[c.RESERVATIONS].find_one({"_id": held["id"]}, {"_id": 1}) is None):
            continue
        if held.get("id") and relist_lead(db, settings, lead["_id"], held["id"], now):
            relisted += 1
    return relisted
