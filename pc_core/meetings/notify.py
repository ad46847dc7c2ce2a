"""Telling a partner a booked meeting is theirs: the ``lead-assigned`` e-mail and
live event, sent after the webhook's answer, and never lost to a process that dies.

Durable first, then answer: a meeting given to a partner is stored with
``notify_pending: True`` (in the booking's own meeting insert, or the manual
assignment's meeting update), so the promise to notify costs no extra database
command before the answer. The answer's background job then emits the event and
sends the e-mail (dedupe key ``lead-assigned:{lead}``: once per lead, however often
it runs). If the process died before the e-mail was recorded, ``resume_pending``
(the every-minute ``reservation_expiry`` job, beside the mailer's retries) finds the
flag older than ``GRACE`` with no e-mail record and does both again; the flag is
cleared there, in one command for the whole page, not once per booking. Once the
e-mail is recorded, the mailer's own retries (``retry_failed_emails``) take over.

The event is emitted before the e-mail is recorded, so a recorded e-mail means the
event went out too; a resumed one may repeat the event (clients treat it as a
refresh hint), never the e-mail.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core import events
from pc_core.mail.mailer import safe_recipients, send_email
from pc_core.marketplace.notifications import partner_recipients
from pc_core.models.live_events import LeadAssigned
from pc_core.money import format_cents
from pc_core.settings import Settings
from pc_core.timeutil import ensure_utc, utcnow

log = logging.getLogger(__name__)
Doc = dict[str, Any]

PENDING_FIELD = "notify_pending"
# A pending notice younger than this may still be on its way from the API process.
GRACE = timedelta(minutes=1)
PAGE = 200


def email_key(lead_id: str) -> str:
    return f"lead-assigned:{lead_id}"


def notify_assigned(db: Database, settings: Settings, lead: Doc, meeting: Doc,
                    partner_name: str | None = None) -> bool:
    """Tell the partner a meeting is theirs: the event, then the e-mail (see the
    module docstring for why in that order). ``partner_name`` saves a read when the
    caller has it (the booking's routing snapshot does). True once settled (the
    e-mail recorded, or nobody to send it to)."""
    announce_assigned(settings, lead, meeting)
    return email_assigned(db, settings, lead, meeting, partner_name)


def email_assigned(db: Database, settings: Settings, lead: Doc, meeting: Doc,
                   partner_name: str | None = None) -> bool:
    """The partner's admins get the ``lead_assigned`` email, once per lead (dedupe key
    ``lead-assigned:{lead}``), however often this runs. True once settled (recorded,
    or nobody to send it to); False if it could not even be recorded."""
    partner_id = lead["partner_id"]
    if partner_name is None:
        partner = db[c.PARTNERS].find_one({"_id": partner_id}, {"name": 1}) or {}
        partner_name = partner.get("name")
    start = ensure_utc(meeting["start_time"])
    context = {
        "partner_name": partner_name or "partner", "lead_title": lead["title"],
        "meeting_type": meeting["meeting_type"], "start_time": f"{start:%Y-%m-%d %H:%M}",
        "contact_name": lead.get("contact_name") or "", "contact_email":
            lead.get("contact_email") or "", "contact_phone": lead.get("contact_phone") or "",
        "company": lead.get("company") or "not given",
        "company_size": lead.get("company_size") or "unknown",
        "budget": format_cents(lead["budget_cents"]) if lead.get("budget_cents") is not None
        else "not given",
        "industry": lead.get("industry") or "not given",
        "location": lead.get("location") or "not given",
        "lead_url": f"{settings.app_url.rstrip('/')}/leads/{lead['_id']}",
    }
    to = partner_recipients(db, partner_id)
    if not safe_recipients(to):
        return True
    return send_email(db, settings, key=email_key(lead["_id"]), template="lead_assigned",
                      to=to, context=context) is not None


def announce_assigned(settings: Settings, lead: Doc, meeting: Doc) -> None:
    """The ``lead-assigned`` event to the partner's room."""
    start = ensure_utc(meeting["start_time"])
    events.emit(settings, LeadAssigned(
        lead_id=lead["_id"], partner_id=lead["partner_id"],
        meeting_id=meeting["chili_meeting_id"], meeting_type=meeting["meeting_type"],
        start_time=start, title=lead["title"],
    ))


def resume_pending(db: Database, settings: Settings, now: datetime | None = None,
                   max_pages: int = 50) -> int:
    """Notify for assigned meetings whose notice a dead process never recorded (no
    e-mail record after ``GRACE``), and clear the flag of every settled one, a page
    at a time. Returns how many were notified now."""
    now = now or utcnow()
    resumed = 0
    for _ in range(max_pages):
        cleared, notified = _resume_page(db, settings, now)
        resumed += notified
        if not cleared:
            break
    return resumed


def _resume_page(db: Database, settings: Settings, now: datetime) -> tuple[int, int]:
    """One page of ``resume_pending``: (flags cleared, notices sent now)."""
    pending = list(db[c.MEETINGS].find(
        {PENDING_FIELD: True, "updated_at": {"$lt": now - GRACE}},
        {"lead_id": 1, "partner_id": 1, "chili_meeting_id": 1, "meeting_type": 1,
         "start_time": 1}).limit(PAGE))
    if not pending:
        return 0, 0
    keys = [email_key(m["lead_id"]) for m in pending]
    recorded = {d["_id"] for d in db[c.EMAILS].find({"_id": {"$in": keys}}, {"_id": 1})}
    missing = [m for m in pending if email_key(m["lead_id"]) not in recorded]
    leads = {d["_id"]: d for d in db[c.LEADS].find(
        {"_id": {"$in": [m["lead_id"] for m in missing]}})} if missing else {}
    done = [m["_id"] for m in pending if email_key(m["lead_id"]) in recorded]
    resumed = 0
    for meeting in missing:
        lead = leads.get(meeting["lead_id"])
        if lead is None or lead.get("unassigned") or lead.get("partner_id") != \
                meeting.get("partner_id"):
            done.append(meeting["_id"])  # gone, or moved since: whoever moved it notifies
            continue
        try:
            settled = notify_assigned(db, settings, lead, meeting)
        except Exception:  # noqa: BLE001 - one bad notice must not stop the others
            log.exception("resuming the lead-assigned notice of %s failed", meeting["_id"])
            continue
        resumed += 1
        if settled:
            done.append(meeting["_id"])
    if done:
        db[c.MEETINGS].update_many({"_id": {"$in": done}}, {"$unset": {PENDING_FIELD: ""}})
    return len(done), resumed
