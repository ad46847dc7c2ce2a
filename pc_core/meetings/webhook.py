"""A ChiliPiper meeting event → the meeting stored, its lead created and assigned.

Idempotency: the meeting's ``_id`` is its natural key (``chilipiper:{meeting id}``)
and the lead's id is drawn once and kept on the meeting, so a redelivered booking
finds the meeting and creates nothing, and two concurrent deliveries race on one
insert that only one wins.

A booking (``_book``) is one batch of reads (routing's snapshot and the meeting
itself) and one batch of writes the database applies in order, stopping at the
first refused: the round-robin pick, the meeting, its lead. This process's bookings
of one meeting type take turns at it (``_pick_lock``), so they do not burn round
trips losing the round-robin's compare-and-set to each other. The meeting is stored
before its lead; if the lead is still missing later (the database stopped between
the two), the next delivery of any event of that meeting finishes the job
(ChiliPiper retries nothing by itself, but the operator's resend does). With no
matching partner the lead goes to the operator partner with ``unassigned: True``:
the owner's queue, ``GET /v1/meetings/unassigned`` (``pc_core.meetings.unassigned``).

Slow work (the email through Mailgun, the real-time event) is returned as
``Outcome.after`` callables, which the route runs after answering: ChiliPiper waits
for the answer. It is durable before the answer all the same: an assigned meeting is
stored with ``notify_pending``, and ``pc_core.meetings.notify.resume_pending`` sends
what a process that died after answering never did; the email's dedupe key keeps it
single however often it runs.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pc_core import collections as c
from pc_core import events
from pc_core.errors import Conflict
from pc_core.ids import new_id
from pc_core.leads.inventory import build_lead_doc
from pc_core.meetings import notify, round_robin, routing
from pc_core.meetings.payload import ChiliPiperPayload, MeetingEvent
from pc_core.models.leads import LeadFields
from pc_core.models.live_events import MeetingUpdated
from pc_core.settings import Settings
from pc_core.stages import LeadStatus, Stage
from pc_core.store import batch, update_with_retry
from pc_core.timeutil import ensure_utc, utcnow

log = logging.getLogger(__name__)
Doc = dict[str, Any]

RECEIVED, SCHEDULED, CANCELLED = "received", "scheduled", "cancelled"
# A booking still without its lead after this long was abandoned mid-way; finish it.
RESUME_AFTER = timedelta(seconds=30)
# Reads and writes of one booking, when other bookings keep winning the round-robin.
BOOK_ATTEMPTS = 50
# Where leads go when no operator partner exists (never in a seeded install).
FALLBACK_QUEUE = "unassigned"
# Striped locks for ``_pick_lock`` (bounded whatever meeting types arrive).
_PICK_LOCKS = [threading.Lock() for _ in range(16)]


@dataclass
class Outcome:
    status: str  # created | duplicate | rescheduled | cancelled | unchanged
    meeting: Doc
    lead: Doc | None
    after: list[Callable[[], None]] = field(default_factory=list)

    def answer(self) -> Doc:
        m = self.meeting
        return {"status": self.status, "meeting_id": m["chili_meeting_id"],
                "meeting_status": m["status"], "lead_id": m.get("lead_id"),
                "partner_id": m.get("partner_id"), "unassigned": bool(m.get("unassigned"))}


def meeting_key(meeting_id: str) -> str:
    return f"chilipiper:{meeting_id}"


_operator_cache: dict[str, tuple[float, str]] = {}


def operator_partner_id(db: Database) -> str:
    """The operator partner (whose queue takes unrouted leads); cached for 30 s."""
    hit = _operator_cache.get(db.name)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    doc = db[c.PARTNERS].find_one({"is_operator": {"$in": [True, 1]}}, {"_id": 1})
    found = doc["_id"] if doc else FALLBACK_QUEUE
    _operator_cache[db.name] = (time.monotonic() + 30, found)
    return found


def _cut(value: str | None, n: int) -> str | None:
    return value[:n] if value else None


def _lead_fields(payload: ChiliPiperPayload, lead: Any) -> LeadFields:
    """The lead's fields from the form; a bad answer (e.g. an invalid email) is
    dropped rather than refusing the meeting."""
    form = payload.form
    who = form.company or form.name or form.email or "Website visitor"
    values: Doc = {
        "title": f"{who} - {payload.meeting_type}"[:200],
        "company": _cut(form.company, 200), "contact_name": _cut(form.name, 200),
        "contact_email": form.email, "contact_phone": _cut(form.phone, 50),
        "company_size": lead.company_size, "industry": _cut(form.industry, 100),
        "location": _cut(form.location, 100), "budget_cents": lead.budget_cents,
        "stage": Stage.MEETING_SCHEDULED,
    }
    try:
        return LeadFields(**values)
    except ValidationError:
        return LeadFields(**{**values, "contact_email": None})


def _event_entry(payload: ChiliPiperPayload, now: datetime) -> Doc:
    return {"event": payload.event.value, "at": now, "start_time": payload.start_time}


def _new_meeting(payload: ChiliPiperPayload, now: datetime) -> Doc:
    return {
        "_id": meeting_key(payload.meeting_id),
        "source": "chilipiper",
        "chili_meeting_id": payload.meeting_id,
        "meeting_type": payload.meeting_type,
        "start_time": ensure_utc(payload.start_time),
        "end_time": ensure_utc(payload.end_time) if payload.end_time else None,
        "assignee": payload.assignee.model_dump() if payload.assignee else None,
        "form": payload.form.model_dump(),
        "chilipiper": payload.details or None,
        "status": RECEIVED,
        "lead_id": new_id(),
        "partner_id": None,
        "unassigned": None,
        "routing_reason": None,
        "events": [_event_entry(payload, now)],
        "created_at": now,
        "updated_at": now,
        "rev": 1,
    }


def _lead_doc(payload: ChiliPiperPayload, view: Any, meeting: Doc, partner_id: str | None,
              owner: str, reason: str, now: datetime) -> Doc:
    """The meeting's lead, owned by the routed partner (or the operator's queue)."""
    lead = build_lead_doc(owner, _lead_fields(payload, view), source="chilipiper", now=now,
                          lead_id=meeting["lead_id"], status=LeadStatus.OPEN,
                          created_by="chilipiper")
    lead.update(meeting_id=meeting["_id"], meeting_type=payload.meeting_type,
                scheduled_date=meeting["start_time"], meeting_status=SCHEDULED,
                unassigned=partner_id is None, routing_reason=reason,
                assigned_at=now if partner_id else None)
    return lead


def _finish_booking(db: Database, settings: Settings, meeting: Doc,
                    payload: ChiliPiperPayload, now: datetime) -> tuple[Doc, Doc, bool]:
    """Route, create the lead, record the assignment on the meeting, step by step.
    Safe to run again: for a booking whose one batch lost a race, or was abandoned."""
    lead = db[c.LEADS].find_one({"_id": meeting["lead_id"]})
    created = lead is None
    if lead is None:
        view = routing.lead_of(payload)
        decision = routing.route(db, view, now)
        partner_id = decision.partner_id
        lead = _lead_doc(payload, view, meeting, partner_id,
                         partner_id or operator_partner_id(db), decision.reason, now)
        try:
            db[c.LEADS].insert_one(lead)
        except DuplicateKeyError:  # a concurrent resume created it
            lead = db[c.LEADS].find_one({"_id": meeting["lead_id"]}) or lead
        reason = decision.reason
    else:
        reason = lead.get("routing_reason")
    partner_id = None if lead.get("unassigned") else lead["partner_id"]

    def record(current: Doc) -> Doc | None:
        status = SCHEDULED if current.get("status") == RECEIVED else current["status"]
        wanted = {"status": status, "partner_id": partner_id,
                  "unassigned": partner_id is None, "routing_reason": reason}
        if partner_id is not None and (created or current.get("partner_id") != partner_id):
            wanted[notify.PENDING_FIELD] = True  # the notice, resumed if this process dies
        if all(current.get(k) == v for k, v in wanted.items()):
            return None
        return {**wanted, "updated_at": now}

    meeting = update_with_retry(db[c.MEETINGS], meeting["_id"], record, what="meeting")
    if meeting["status"] == CANCELLED or \
            ensure_utc(meeting["start_time"]) != ensure_utc(lead["scheduled_date"]):
        # A change that arrived while this booking was in flight.
        lead = _sync_lead(db, meeting, None, now) or lead
    return meeting, lead, partner_id is not None


def _after_booking(db: Database, settings: Settings, lead: Doc, meeting: Doc,
                   assigned: bool, partner_name: str | None = None
                   ) -> list[Callable[[], None]]:
    """The partner's notice, after the answer; the meeting's ``notify_pending`` flag,
    stored before the answer, has it resumed if this process dies first
    (``pc_core.meetings.notify``)."""
    if not assigned:
        return []
    return [lambda: notify.notify_assigned(db, settings, lead, meeting, partner_name)]


def _pick_lock(db: Database, meeting_type: str) -> threading.Lock:
    """The lock this process's bookings of ``meeting_type`` take turns under."""
    key = (db.name, round_robin.state_id(meeting_type))
    return _PICK_LOCKS[zlib.crc32(repr(key).encode()) % len(_PICK_LOCKS)]


def _book(db: Database, settings: Settings, payload: ChiliPiperPayload,
          now: datetime) -> Outcome:
    """A new booking: one batch of reads (routing's snapshot and the meeting, in
    case it was seen before) and one batch of writes the database applies in order:
    the round-robin pick (the state under the revision read, then the partner's
    monthly slot), the meeting (with its pending notice), the lead. A refused pick
    wrote nothing: read again. The meeting's natural key stops a second delivery.

    This process's bookings of one meeting type take turns (``_pick_lock``): two
    threads racing to the compare-and-set would cost the loser a read and a refused
    write and send it round again, the tail of concurrent bookings. Other processes
    (API replicas) still race through the compare-and-set, which keeps the
    round-robin exact."""
    key = meeting_key(payload.meeting_id)
    view = routing.lead_of(payload)
    for _ in range(BOOK_ATTEMPTS):
        with _pick_lock(db, payload.meeting_type):
            result = _try_book(db, settings, payload, view, key, now)
        if isinstance(result, Outcome):
            return result
        if result is not None:  # seen before
            return _existing_booking(db, settings, result, payload, now)
    raise Conflict("routing is busy; the meeting will be retried")


def _try_book(db: Database, settings: Settings, payload: ChiliPiperPayload, view: Any,
              key: str, now: datetime) -> Outcome | Doc | None:
    """One attempt of ``_book``: the booking created, the meeting as already stored,
    or ``None`` to read again."""
    snap = routing.snapshot(db, payload.meeting_type, now,
                            batch.Read(c.MEETINGS, {"_id": key}))
    if snap.also[0]:
        return snap.also[0][0]
    if snap.operator:
        _operator_cache[db.name] = (time.monotonic() + 30, snap.operator)
    decision = routing.plan(snap, view, payload.meeting_type)
    partner_id = decision.partner_id
    meeting = {**_new_meeting(payload, now), "status": SCHEDULED, "partner_id": partner_id,
               "unassigned": partner_id is None, "routing_reason": decision.reason}
    if partner_id is not None:
        meeting[notify.PENDING_FIELD] = True
    lead = _lead_doc(payload, view, meeting, partner_id,
                     partner_id or snap.operator or FALLBACK_QUEUE, decision.reason, now)
    picks = len(decision.writes)  # the state, then the slot (none if unassigned)
    failed = batch.write_in_order(db, [*decision.writes, batch.insert(c.MEETINGS, meeting),
                                       batch.insert(c.LEADS, lead)])
    if failed is None:
        if picks:
            round_robin.mark_moved(db, payload.meeting_type)
        name = next((p.get("name") for p in snap.partners if p["_id"] == partner_id), None)
        return Outcome("created", meeting, lead,
                       _after_booking(db, settings, lead, meeting, partner_id is not None,
                                      name))
    if failed == 0 and picks:
        return None  # another booking moved the round-robin: nothing written, read again
    if picks and failed >= 1:  # our pick was recorded but not its meeting
        round_robin.undo_pick(db, snap.state, payload.meeting_type)
    if picks and failed >= 2:
        round_robin.give_back(db, partner_id, snap.month)
    if failed == picks:  # the meeting arrived meanwhile: another delivery has it
        return db[c.MEETINGS].find_one({"_id": key})
    return None  # a cap filled meanwhile; read again


def _existing_booking(db: Database, settings: Settings, meeting: Doc,
                      payload: ChiliPiperPayload, now: datetime) -> Outcome:
    """A booking seen before: nothing to do, unless it was abandoned mid-way (the
    meeting stored, its lead not)."""
    stale = ensure_utc(meeting["created_at"]) < now - RESUME_AFTER
    lead = None
    if not (meeting["status"] == RECEIVED and stale):
        lead = db[c.LEADS].find_one({"_id": meeting["lead_id"]})
    if stale and lead is None:
        meeting, lead, assigned = _finish_booking(db, settings, meeting, payload, now)
        return Outcome("created", meeting, lead, _after_booking(db, settings, lead, meeting,
                                                                assigned))
    return Outcome("duplicate", meeting, lead)


def _sync_lead(db: Database, meeting: Doc, note: str | None, now: datetime) -> Doc | None:
    """Make the lead's meeting fields match the meeting (whole-document write)."""
    wanted = {"scheduled_date": meeting["start_time"], "meeting_status": meeting["status"]
              if meeting["status"] != RECEIVED else SCHEDULED}

    def change(lead: Doc) -> Doc | None:
        same = all(lead.get(k) == v or (isinstance(v, datetime) and lead.get(k) is not None
                                        and ensure_utc(lead[k]) == ensure_utc(v))
                   for k, v in wanted.items())
        if same:
            return None
        out: Doc = {**wanted, "updated_at": now,
                    "field_times": {**lead.get("field_times", {}),
                                    **dict.fromkeys(wanted, now)}}
        if note:
            out["notes"] = [*lead.get("notes", []), {"id": new_id(), "body": note,
                                                     "author_id": "chilipiper",
                                                     "created_at": now}]
        return out

    if db[c.LEADS].find_one({"_id": meeting["lead_id"]}, {"_id": 1}) is None:
        return None
    return update_with_retry(db[c.LEADS], meeting["lead_id"], change, what="lead")


def _change(db: Database, settings: Settings, payload: ChiliPiperPayload,
            now: datetime) -> Outcome:
    key = meeting_key(payload.meeting_id)
    cancelling = payload.event is MeetingEvent.CANCELLED
    existing = db[c.MEETINGS].find_one({"_id": key})
    if existing is None:
        # The booking never reached us: book it now (never lose the lead), then
        # apply this event to it.
        booked = _book(db, settings, payload, now)
        if not cancelling:
            return booked
        existing, after = booked.meeting, booked.after
    else:
        after = []
        if existing["status"] == RECEIVED and \
                ensure_utc(existing["created_at"]) < now - RESUME_AFTER:
            existing, lead, assigned = _finish_booking(db, settings, existing, payload, now)
            after = _after_booking(db, settings, lead, existing, assigned)
    start = ensure_utc(payload.start_time)

    def change(current: Doc) -> Doc | None:
        status = current["status"]
        if cancelling and status == CANCELLED:
            return None
        if not cancelling and status == SCHEDULED and \
                ensure_utc(current["start_time"]) == start:
            return None
        out: Doc = {"events": [*current.get("events", []), _event_entry(payload, now)],
                    "updated_at": now}
        if cancelling:
            out.update(status=CANCELLED, cancelled_at=now)
        else:
            out.update(start_time=start, status=SCHEDULED if status != RECEIVED else RECEIVED,
                       end_time=ensure_utc(payload.end_time) if payload.end_time
                       else current.get("end_time"), rescheduled_at=now)
        return out

    before_rev = existing.get("rev")
    meeting = update_with_retry(db[c.MEETINGS], key, change, what="meeting")
    if meeting.get("rev") == before_rev:
        return Outcome("unchanged", meeting, db[c.LEADS].find_one({"_id": meeting["lead_id"]}),
                       after)
    note = ("Meeting cancelled in ChiliPiper" if cancelling else
            f"Meeting rescheduled in ChiliPiper to {start:%Y-%m-%d %H:%M} UTC")
    lead = _sync_lead(db, meeting, note, now)
    if meeting.get("partner_id"):
        pid = meeting["partner_id"]
        updated = MeetingUpdated(
            lead_id=meeting["lead_id"], partner_id=pid, meeting_id=meeting["chili_meeting_id"],
            status=meeting["status"], start_time=start)
        after.append(lambda: events.emit(settings, updated))
    return Outcome("cancelled" if cancelling else "rescheduled", meeting, lead, after)


def handle(db: Database, settings: Settings, payload: ChiliPiperPayload,
           now: datetime | None = None) -> Outcome:
    """Apply one ChiliPiper event; see the module docstring for the guarantees."""
    now = now or utcnow()
    if payload.event is MeetingEvent.BOOKED:
        return _book(db, settings, payload, now)
    return _change(db, settings, payload, now)


def run_after(outcome: Outcome) -> None:
    """Run the post-answer work; a failure is logged, never raised."""
    run_jobs(outcome.after)


def run_jobs(jobs: list[Callable[[], None]]) -> None:
    """Run notifications after an answer (also the manual assignment's); a failure is
    logged, never raised."""
    for job in jobs:
        try:
            job()
        except Exception:  # noqa: BLE001 - notifications never fail the webhook
            log.exception("post-webhook notification failed")
