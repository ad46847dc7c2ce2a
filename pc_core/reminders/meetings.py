"""Tomorrow's meetings → the partner they were routed to.

Reads the ``meetings`` collection written by ``pc_core.meetings`` (ChiliPiper),
through its documented fields only: ``_id``, ``partner_id`` (``None`` while
unassigned), ``start_time`` (UTC datetime), ``status`` (``received`` /
``scheduled`` / ``cancelled``), ``meeting_type``, ``lead_id``, ``form``.

The day's meetings are selected by scanning the ``scheduled`` ones and keeping
those that start on the day (UTC): date ranges are unreliable on the embedded store, and a
once-a-day scan of upcoming meetings is cheap. The dedupe key carries the
meeting's date, so a meeting rescheduled to another day is reminded again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.marketplace.notifications import partner_recipients
from pc_core.reminders.once import send_once
from pc_core.settings import Settings
from pc_core.timeutil import ensure_utc

SCHEDULED = "scheduled"
Doc = dict[str, Any]


def meetings_on(db: Database, day: date) -> list[Doc]:
    """Scheduled, assigned meetings starting on ``day`` (UTC), by start time."""
    found = []
    for doc in db[c.MEETINGS].find({"status": SCHEDULED}):
        start = doc.get("start_time")
        if doc.get("partner_id") and isinstance(start, datetime) and \
                ensure_utc(start).date() == day:
            found.append(doc)
    return sorted(found, key=lambda d: (ensure_utc(d["start_time"]), d["_id"]))


def _context(db: Database, meeting: Doc) -> Doc:
    form = meeting.get("form") or {}
    lead = db[c.LEADS].find_one({"_id": meeting.get("lead_id")}, {"title": 1}) or {}
    start = ensure_utc(meeting["start_time"])
    return {
        "meeting_type": meeting.get("meeting_type") or "meeting",
        "start_time": f"{start:%Y-%m-%d %H:%M} UTC",
        "lead_title": lead.get("title") or form.get("company") or meeting.get("lead_id") or "",
        "contact_name": form.get("name") or "",
        "contact_email": form.get("email") or "",
        "company": form.get("company") or "",
    }


def remind_meetings(db: Database, settings: Settings, day: date) -> int:
    """Email each partner about its meetings of ``day``; returns emails sent now."""
    sent = 0
    for meeting in meetings_on(db, day):
        sent += send_once(db, settings, key=f"meeting-tomorrow:{meeting['_id']}:{day.isoformat()}",
                          template="meeting_reminder",
                          to=partner_recipients(db, meeting["partner_id"]),
                          context=_context(db, meeting))
    return sent
