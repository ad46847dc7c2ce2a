"""One run of the daily reminders: what the 09:00 UTC schedule executes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo.database import Database

from pc_core.marketplace.expiry import send_expiry_reminders
from pc_core.reminders.meetings import remind_meetings
from pc_core.reminders.stages import remind_unmapped_stages
from pc_core.settings import Settings
from pc_core.timeutil import ensure_utc, utcnow


@dataclass
class ReminderReport:
    reservations: int = 0
    unmapped_stages: int = 0
    meetings: int = 0


def run_daily_reminders(db: Database, settings: Settings,
                        now: datetime | None = None) -> ReminderReport:
    """Reservations expiring within 24 h (buyer), unmapped stages (admins),
    tomorrow's meetings (the partner); each sent once per dedupe key."""
    now = ensure_utc(now or utcnow())
    today = now.date()
    return ReminderReport(
        reservations=send_expiry_reminders(db, settings, now),
        unmapped_stages=remind_unmapped_stages(db, settings, today),
        meetings=remind_meetings(db, settings, today + timedelta(days=1)),
    )
