"""Pending deliveries of sold leads to their buyer's CRM: the sale's outbox.

When a purchase completes (``pc_core.marketplace.fulfilment``), one document per
purchase is recorded here, ``_id`` = the purchase id, so a redelivered Stripe event or
a re-run records nothing new. ``crm_delivery_sensor`` launches one run for everything
due; the run (``pc_core.hubspot.sync_back.sale_delivery``) creates the contact, the deal and a
note in the buyer's HubSpot portal.

States: ``pending`` → ``delivering`` (claimed by one worker with a compare-and-set that
also counts the attempt) → ``delivered``. A failed attempt goes back to ``pending`` with
``due_key`` moved on by an exponential back-off, and becomes ``failed`` after
``MAX_ATTEMPTS``; every error is kept on the document. A claim whose worker died is
due again when its ``due_key`` (the claim's expiry) passes. ``waiting_for_crm``: the
buyer has no HubSpot connected; its cross-partner sync, which runs once it connects,
makes them ``pending``.

A due queue of ``pc_core.store.queues``: an equality on the indexed ``status`` plus
the ``due_key`` (a ``time_key``) at or before now.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pc_core import collections as c
from pc_core.stages import LeadStatus
from pc_core.store import queues, replace_if_unchanged, sort_key, transition
from pc_core.timeutil import utcnow

CRM_DELIVERIES = c.CRM_DELIVERIES
PENDING, DELIVERING, DELIVERED = "pending", "delivering", "delivered"
FAILED, WAITING = "failed", "waiting_for_crm"
MAX_ATTEMPTS = 8  # back-offs of 30 s … 32 min: about an hour of trying in all
BACKOFF_BASE_S = 30.0
BACKOFF_MAX_S = 3600.0
CLAIM_S = 300.0  # a worker that died releases its claim after this
MAX_ERRORS = 20
Doc = dict[str, Any]


def backoff_seconds(attempts: int) -> float:
    """Pause after the ``attempts``-th failed attempt: 30 s, 60 s, 120 s … ≤ 1 h."""
    return min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1))


def _connected(db: Database, partner_id: str) -> bool:
    partner = db[c.PARTNERS].find_one({"_id": partner_id}, {"hubspot": 1})
    return bool(((partner or {}).get("hubspot") or {}).get("portal_id"))


def record_pending(db: Database, purchase: Doc, lead: Doc, now: datetime | None = None) -> bool:
    """The sale, waiting to reach the buyer's CRM; ``False`` if already recorded."""
    now = now or utcnow()
    buyer = purchase["buyer_partner_id"]
    doc = {
        "_id": purchase["_id"],
        "purchase_id": purchase["_id"],
        "lead_id": lead["_id"],
        "buyer_partner_id": buyer,
        "seller_partner_id": purchase.get("seller_partner_id") or lead.get("partner_id"),
        "status": PENDING if _connected(db, buyer) else WAITING,
        "attempts": 0,
        **queues.due_at(now),
        "contact_id": None,
        "deal_id": None,
        "note_id": None,
        "errors": [],
        "last_error": None,
        "created_at": now,
        "updated_at": now,
        "delivered_at": None,
        "sort_key": sort_key(now, purchase["_id"]),
        "rev": 1,
    }
    try:
        db[CRM_DELIVERIES].insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


def backfill_buyer(db: Database, buyer_id: str, now: datetime | None = None) -> int:
    """Record deliveries for the buyer's sold leads that have none and no deal yet
    (sales completed before deliveries were recorded, or a handler that died between
    selling the lead and recording); returns how many were recorded."""
    now = now or utcnow()
    added = 0
    for lead in db[c.LEADS].find({"buyer_partner_id": buyer_id}):
        if lead.get("status") != LeadStatus.SOLD.value or lead.get("buyer_hubspot_deal_id"):
            continue
        purchase_id = lead.get("purchase_id")
        if not purchase_id or db[CRM_DELIVERIES].find_one({"_id": purchase_id}, {"_id": 1}):
            continue
        purchase = {"_id": purchase_id, "buyer_partner_id": buyer_id,
                    "seller_partner_id": lead.get("partner_id")}
        added += record_pending(db, purchase, lead, now)
    return added


def wake_waiting(db: Database, buyer_id: str, now: datetime | None = None) -> int:
    """The buyer connected HubSpot: its waiting deliveries are due now."""
    now = now or utcnow()
    woken = 0
    for doc in db[CRM_DELIVERIES].find({"buyer_partner_id": buyer_id, "status": WAITING}):
        woken += transition(db[CRM_DELIVERIES], doc, from_=WAITING, to=PENDING,
                            changes={**queues.due_at(now), "updated_at": now}) is not None
    return woken


def due(db: Database, now: datetime | None = None, limit: int = 1000,
        buyer_id: str | None = None) -> list[Doc]:
    """Deliveries to attempt now: pending ones whose back-off has passed, and claims
    whose worker did not finish in time."""
    now = now or utcnow()
    out: list[Doc] = []
    for status in (PENDING, DELIVERING):
        query: Doc = {"status": status}
        if buyer_id is not None:
            query["buyer_partner_id"] = buyer_id
        out.extend(queues.due(db[CRM_DELIVERIES], query, now, limit=limit - len(out)))
        if len(out) >= limit:
            break
    return out


def claim(db: Database, doc: Doc, now: datetime | None = None) -> Doc | None:
    """Take ``doc`` for one attempt (counted), or ``None`` if another worker has it
    or it is no longer due. Past ``MAX_ATTEMPTS`` it is marked failed instead."""
    now = now or utcnow()
    if doc["status"] not in (PENDING, DELIVERING):
        return None
    if doc["status"] == DELIVERING and not queues.is_due(doc, now):
        return None
    attempts = int(doc.get("attempts") or 0) + 1
    if attempts > MAX_ATTEMPTS:
        transition(db[CRM_DELIVERIES], doc, from_=(PENDING, DELIVERING), to=FAILED, changes={
            "updated_at": now,
            "last_error": doc.get("last_error") or "gave up: the worker never finished"})
        return None
    return queues.claim(db[CRM_DELIVERIES], doc, from_=(PENDING, DELIVERING), to=DELIVERING,
                        until=now + timedelta(seconds=CLAIM_S),
                        changes={"attempts": attempts, "updated_at": now})


def save(db: Database, doc: Doc, **changes: Any) -> Doc:
    """Record progress on a claimed delivery (the contact, deal or note id), so a
    retry continues where this attempt stopped. The claim holder is the only writer;
    a lost race (a claim expired and re-taken) is re-read and written over."""
    current = doc
    for _ in range(5):
        written = replace_if_unchanged(db[CRM_DELIVERIES], current,
                                       {**changes, "updated_at": utcnow()})
        if written is not None:
            return written
        current = db[CRM_DELIVERIES].find_one({"_id": doc["_id"]}) or current
    raise RuntimeError(f"delivery {doc['_id']} kept changing")


def mark_delivered(db: Database, doc: Doc, now: datetime | None = None) -> Doc:
    now = now or utcnow()
    return save(db, doc, status=DELIVERED, delivered_at=now, last_error=None)


def mark_attempt_failed(db: Database, doc: Doc, error: str,
                        now: datetime | None = None) -> Doc:
    """Back to ``pending`` after the back-off, or ``failed`` once attempts run out;
    the error is kept either way."""
    now = now or utcnow()
    attempts = int(doc.get("attempts") or 0)
    errors = [*doc.get("errors", []), {"at": now, "attempt": attempts, "error": error[:500]}]
    if attempts >= MAX_ATTEMPTS:
        return save(db, doc, status=FAILED, last_error=error[:500],
                    errors=errors[-MAX_ERRORS:])
    later = now + timedelta(seconds=backoff_seconds(attempts))
    return save(db, doc, status=PENDING, **queues.due_at(later), last_error=error[:500],
                errors=errors[-MAX_ERRORS:])


def mark_waiting(db: Database, doc: Doc, now: datetime | None = None) -> Doc:
    """The buyer has no CRM (any more): nothing to attempt until it connects; the
    attempt this claim counted is given back."""
    return save(db, doc, status=WAITING, **queues.due_at(now or utcnow()),
                attempts=max(0, int(doc.get("attempts") or 0) - 1))
