"""A match, told once: recorded, sent live to the buyer's users, e-mailed.

A notice's ``_id`` is ``{search_id}:{lead_id}``: the unique ``_id`` index is what
makes "never twice for one lead and search" hold across relistings, price drops,
duplicate webhook deliveries and concurrent runs; only the writer that inserted a
notice tells anyone. The live event ``search-matched`` goes to the search owner's
user room (every user of the partner for a shared search) at once; the e-mail
(template ``search_match``, dedupe key ``search-match:{notice}``) goes to the
search's owner soon (``mail: "queued"``, sent by the worker's ``alert`` lane:
``mail_queue``), or waits for the daily digest (``digest: "pending"``), or not at
all, as the owner chose.

Why the e-mail is queued rather than sent here: this runs inside whatever listed the
lead (an API request, a webhook apply, an import); a listing matched by a few dozen
searches meant a few e-mails, each a Mailgun round trip, before the listing was done.
The notice itself is the queue item, written before the listing returns, so an
e-mail acknowledged by a listing survives any process dying before it is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from pymongo.database import Database
from pymongo.errors import BulkWriteError

from pc_core import collections as c
from pc_core import events
from pc_core.buyer_alerts.unsubscribe import link_for
from pc_core.mail.mailer import send_email
from pc_core.models.live_events import SearchMatched
from pc_core.models.marketplace import ListingOut
from pc_core.money import format_cents
from pc_core.settings import Settings
from pc_core.store import sort_key, wakeups
from pc_core.store.queues import due_at

Doc = dict[str, Any]
PENDING, NONE, SENT = "pending", "none", "sent"
# ``mail``: an immediate e-mail waiting for the alert lane, being sent (claimed until
# its ``due_key``), sent (or recorded by the mailer, which retries it), or none.
QUEUED, SENDING = "queued", "sending"


def notice_id(search_id: str, lead_id: str) -> str:
    return f"{search_id}:{lead_id}"


def _record(db: Database, listing: Doc, searches: list[Doc], now: datetime) -> list[Doc]:
    """Insert one notice per search; the ones inserted now (the others existed)."""
    snapshot = ListingOut.model_validate({**listing, "own": False}).model_dump(
        mode="json", exclude={"own"})
    docs = [{
        "_id": notice_id(s["_id"], listing["id"]), "search_id": s["_id"],
        "search_name": s["name"], "lead_id": listing["id"], "partner_id": s["partner_id"],
        "user_id": s["user_id"], "shared": bool(s["shared"]), "listing": snapshot,
        "digest": PENDING if s["email"] == "daily" else NONE, "email": s["email"],
        "mail": QUEUED if s["email"] == "immediate" else NONE, **due_at(now),
        "created_at": now, "sort_key": sort_key(now, notice_id(s["_id"], listing["id"])),
    } for s in searches]
    if not docs:
        return []
    try:
        db[c.SEARCH_NOTICES].insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        taken = {err["index"] for err in exc.details.get("writeErrors", [])}
        return [d for i, d in enumerate(docs) if i not in taken]
    return docs


def announce(settings: Settings, notice: Doc) -> None:
    events.emit(settings, SearchMatched(
        notice_id=notice["_id"], search_id=notice["search_id"],
        search_name=notice["search_name"], lead_id=notice["lead_id"], listing=notice["listing"],
        to_partner_id=notice["partner_id"] if notice["shared"] else None,
        to_user_id=None if notice["shared"] else notice["user_id"]))


def owner_email(db: Database, user_id: str) -> list[str]:
    user = db[c.USERS].find_one({"_id": user_id}, {"email": 1, "active": 1})
    return [user["email"]] if user and user.get("active", True) else []


def listing_line(listing: Doc) -> str:
    """One line that names a listing without identifying its contact or company."""
    parts = [listing.get("industry") or "industry not given",
             listing.get("company_size") and f"{listing['company_size']} employees",
             listing.get("location") or "location not given",
             f"budget {format_cents(listing['budget_cents'])}"
             if listing.get("budget_cents") else None,
             f"price {format_cents(listing['buyer_total_cents'])}"]
    return ", ".join(p for p in parts if p)


def listing_url(settings: Settings, notice_id: str) -> str:
    """The web client's page of a buyer's matches, opened on this one."""
    return f"{settings.app_url.rstrip('/')}/marketplace/matches?notice={quote(notice_id)}"


def email_now(db: Database, settings: Settings, notice: Doc) -> None:
    listing = notice["listing"]
    send_email(db, settings, key=f"search-match:{notice['_id']}", template="search_match",
               to=owner_email(db, notice["user_id"]), context={
                   "search_name": notice["search_name"], "summary": listing_line(listing),
                   "listing_url": listing_url(settings, notice["_id"]),
                   "unsubscribe_url": link_for(settings, notice["search_id"])})


def notify(db: Database, settings: Settings, listing: Doc, searches: list[Doc],
           now: datetime) -> list[Doc]:
    """Tell each search's buyer of ``listing`` once, live now, by e-mail through the
    queue (the alert lane is woken); returns the new notices."""
    fresh = _record(db, listing, searches, now)
    for notice in fresh:
        announce(settings, notice)
    wakeups.announce(settings, wakeups.ALERT,
                     [n["partner_id"] for n in fresh if n["mail"] == QUEUED])
    return fresh
