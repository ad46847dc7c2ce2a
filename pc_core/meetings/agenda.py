"""A partner's meetings: the leads ChiliPiper booked a meeting for, as lists a person
works from (what is coming, what happened, who did not show up, what was cancelled).

"No-show" is read from the lead, not from ChiliPiper (which sends bookings,
reschedules and cancellations only): the meeting's time has passed and the lead is
still at the ``meeting_scheduled`` stage, i.e. nobody recorded that it was held.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.marketplace.names import partner_names
from pc_core.meetings.webhook import CANCELLED
from pc_core.models.leads import LeadPage
from pc_core.stages import Stage
from pc_core.timeutil import utcnow


class MeetingView(StrEnum):
    UPCOMING = "upcoming"
    PAST = "past"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


def _match(view: MeetingView, now: datetime) -> dict[str, Any]:
    if view is MeetingView.CANCELLED:
        return {"meeting_status": CANCELLED, "scheduled_date": {"$ne": None}}
    held = {"meeting_status": {"$ne": CANCELLED}}
    if view is MeetingView.UPCOMING:
        return {**held, "scheduled_date": {"$gte": now}}
    past = {**held, "scheduled_date": {"$lt": now}}
    if view is MeetingView.NO_SHOW:
        return {**past, "stage": Stage.MEETING_SCHEDULED.value}
    return past


def list_meetings(db: Database, actor: Principal, *, view: MeetingView,
                  partner_id: str | None = None, meeting_type: str | None = None,
                  limit: int = 100, now: datetime | None = None) -> LeadPage:
    """The leads with a meeting in ``view``, soonest first for upcoming ones, latest
    first otherwise; the caller's partner only (the owner: any or all)."""
    match = _match(view, now or utcnow())
    scoped = actor.scoped_partner_id(partner_id)
    if scoped is not None:
        match["partner_id"] = scoped
    if meeting_type:
        match["meeting_type"] = meeting_type
    order = ASCENDING if view is MeetingView.UPCOMING else DESCENDING
    docs = list(db[c.LEADS].find(match).sort([("scheduled_date", order), ("_id", order)])
                .limit(limit))
    names = partner_names(db, (d["partner_id"] for d in docs if d["partner_id"] != scoped))
    return LeadPage.from_docs(docs, scoped, None, names)
