"""The operator's unassigned queue: booked meetings no partner's rules matched, and
the owner's manual assignment of one to a partner.

How routing leaves such a booking (``pc_core.meetings.webhook``): its lead belongs
to the operator partner with ``unassigned: True`` (an indexed equality flag, with
``status`` and ``sort_key``, so the queue is a keyset page like every list) and its
meeting has ``partner_id: None``. The queue shows the open ones, newest first.

Assignment counts against the partner's monthly cap, like automatic routing: a
partner at its cap is refused (409) unless the owner says ``override_cap``, which
assigns anyway and still counts the lead (the month's count then passes the cap).
The round-robin credits are not touched: the rotation among matching partners goes
on as if this booking had not come. Steps, ordered so that a crash half-way leaves a
state the same request completes when sent again:

1. the partner's monthly counter is taken (``round_robin.take_slot``);
2. the lead moves to the partner, compare-and-set on its revision and only while it
   is still unassigned; losing that race gives the counter back;
3. the meeting follows (``partner_id``), so tomorrow's reminder goes to the partner;
4. after the answer: the ``lead-assigned`` email (once per lead) and event, exactly
   as automatic routing sends them.

Asking again for the partner it already has answers ``unchanged`` (and repeats
steps 3 and 4, which are idempotent); another partner is a 409.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.errors import Conflict, NotFound
from pc_core.meetings import criteria, notify, round_robin
from pc_core.models.meetings import AssignIn, AssignOut, UnassignedLeadOut, UnassignedPage
from pc_core.settings import Settings
from pc_core.stages import LeadStatus
from pc_core.store import month_key, update_with_retry
from pc_core.store.pagination import below_cursor, fetch_page
from pc_core.timeutil import utcnow

Doc = dict[str, Any]
QUEUE = {"unassigned": True, "status": LeadStatus.OPEN.value}
PROJECTION = dict.fromkeys(
    (*UnassignedLeadOut.model_fields.keys() - {"id"}, "sort_key"), 1)
PARTNER_FIELDS = {"name": 1, "active": 1, "chili_meeting_types": 1, "routing": 1}
MANUAL_REASON = "assigned by hand"


@dataclass
class Assignment:
    answer: AssignOut
    after: list[Callable[[], None]] = field(default_factory=list)


def queue_page(db: Database, actor: Principal, *, limit: int = 50,
               cursor: str | None = None) -> UnassignedPage:
    """Owner only: a page of open leads no partner got, newest first."""
    actor.require_owner()
    docs, next_cursor = fetch_page(db[c.LEADS], {**QUEUE, **below_cursor(cursor)}, limit,
                                   PROJECTION)
    return UnassignedPage.from_docs(docs, next_cursor)


def _booked_lead(db: Database, lead_id: str) -> Doc:
    """The lead of a booked meeting (routed or not); 404 for any other lead."""
    lead = db[c.LEADS].find_one({"_id": lead_id})
    if lead is None or not lead.get("meeting_id") or "unassigned" not in lead:
        raise NotFound("no booked meeting's lead with this id")
    return lead


def _partner(db: Database, partner_id: str) -> Doc:
    partner = db[c.PARTNERS].find_one({"_id": partner_id}, PARTNER_FIELDS)
    if partner is None:
        raise NotFound("partner not found")
    if not partner.get("active", True):
        raise Conflict(f"{partner.get('name') or partner_id} is inactive: activate the "
                       "partner first")
    return partner


def _answer(db: Database, status: str, lead: Doc, partner: Doc, now: datetime) -> AssignOut:
    cap = criteria.config_of(partner).monthly_cap
    count = round_robin.monthly_counts(db, [partner["_id"]], month_key(now))
    month_count = count.get(partner["_id"], 0)
    return AssignOut(status=status, lead_id=lead["_id"], partner_id=partner["_id"],
                     partner_name=partner.get("name") or partner["_id"],
                     assigned_at=lead.get("assigned_at"), month_count=month_count,
                     monthly_cap=cap, over_cap=cap is not None and month_count > cap)


def _meeting_follows(db: Database, lead: Doc, now: datetime) -> Doc | None:
    """The lead's meeting names its partner (idempotent); ``None`` if it is gone."""
    key = lead["meeting_id"]
    if db[c.MEETINGS].find_one({"_id": key}, {"_id": 1}) is None:
        return None

    def change(meeting: Doc) -> Doc | None:
        if meeting.get("partner_id") == lead["partner_id"] and meeting.get("unassigned") is False:
            return None
        # The notice goes out after the answer; the flag has it resumed if this
        # process dies first (pc_core.meetings.notify).
        return {"partner_id": lead["partner_id"], "unassigned": False,
                "routing_reason": lead.get("routing_reason"), "updated_at": now,
                notify.PENDING_FIELD: True}

    return update_with_retry(db[c.MEETINGS], key, change, what="meeting")


def _already_assigned(db: Database, settings: Settings, lead: Doc, partner: Doc,
                      now: datetime) -> Assignment:
    if lead["partner_id"] != partner["_id"]:
        raise Conflict("the meeting is already assigned to another partner")
    meeting = _meeting_follows(db, lead, now)
    # The email is sent once per lead; this covers a crash before it went out.
    after = [lambda: notify.email_assigned(db, settings, lead, meeting)] if meeting else []
    return Assignment(_answer(db, "unchanged", lead, partner, now), after)


def assign(db: Database, settings: Settings, actor: Principal, lead_id: str, body: AssignIn,
           now: datetime | None = None) -> Assignment:
    """Owner only: give an unassigned booking to ``body.partner_id`` (see the module
    docstring: counted against its monthly cap unless ``override_cap``)."""
    actor.acting_partner_id(body.partner_id)  # another partner, from a non-owner: 404
    actor.require_owner()
    now = now or utcnow()
    lead = _booked_lead(db, lead_id)
    partner = _partner(db, body.partner_id)
    if not lead.get("unassigned"):
        return _already_assigned(db, settings, lead, partner, now)
    if lead["status"] != LeadStatus.OPEN.value:
        raise Conflict(f"the lead is {lead['status']}: only an open lead can be assigned")
    pid, month = partner["_id"], month_key(now)
    cap = criteria.config_of(partner).monthly_cap
    if not round_robin.take_slot(db, pid, month, None if body.override_cap else cap):
        count = round_robin.monthly_counts(db, [pid], month).get(pid, 0)
        raise Conflict(f"{partner.get('name') or pid} has reached its monthly cap "
                       f"({count}/{cap}); assign with override_cap to go over it")
    moved: list[bool] = []

    def move(current: Doc) -> Doc | None:
        moved.clear()
        if not current.get("unassigned"):
            return None  # assigned meanwhile
        if current["status"] != LeadStatus.OPEN.value:
            raise Conflict(f"the lead is {current['status']}: only an open lead can be "
                           "assigned")
        moved.append(True)
        return {"partner_id": pid, "unassigned": False, "assigned_at": now,
                "assigned_by": actor.user_id, "routing_reason": MANUAL_REASON,
                "updated_at": now}

    try:
        after = update_with_retry(db[c.LEADS], lead_id, move, what="lead")
    except Exception:
        round_robin.give_back(db, pid, month)
        raise
    if not moved:
        round_robin.give_back(db, pid, month)
        return _already_assigned(db, settings, after, partner, now)
    meeting = _meeting_follows(db, after, now)
    jobs = [lambda: notify.notify_assigned(db, settings, after, meeting)] if meeting else []
    return Assignment(_answer(db, "assigned", after, partner, now), jobs)
