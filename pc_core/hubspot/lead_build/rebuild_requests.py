"""Pending lead rebuilds: a partner whose leads must be rebuilt from its raw HubSpot
deals now, not at the next sync (its stage mapping changed).

One document per partner (``_id`` = partner id) in ``lead_rebuilds``: a new request
gets a new ``request_id`` and status ``pending``; ``lead_rebuild_sensor`` launches a
run per pending partner, and the run marks the request ``done`` only if no newer
request arrived meanwhile (a compare-and-set on the request id), so a mapping change
made during a rebuild is never lost. ``status`` is an indexed equality.

Kept apart from ``pc_core.hubspot.lead_build.lead_rebuild`` (the run's work) so that the stage
mapping can record a request without importing the lead builder.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pc_core import collections as c
from pc_core.ids import new_id
from pc_core.store import queues, replace_if_unchanged
from pc_core.timeutil import utcnow

LEAD_REBUILDS = c.LEAD_REBUILDS
PENDING, DONE = "pending", "done"
Doc = dict[str, Any]


def request_rebuild(db: Database, partner_id: str, reason: str) -> Doc:
    """Ask for the partner's leads to be rebuilt; returns the request document."""
    for _ in range(5):
        now = utcnow()
        fields = {"status": PENDING, "request_id": new_id(), "reason": reason,
                  "requested_at": now, "updated_at": now}
        current = db[LEAD_REBUILDS].find_one({"_id": partner_id})
        if current is None:
            doc = {"_id": partner_id, "partner_id": partner_id, **fields, "done_at": None,
                   "rev": 1}
            try:
                db[LEAD_REBUILDS].insert_one(doc)
                return doc
            except DuplicateKeyError:
                continue
        written = replace_if_unchanged(db[LEAD_REBUILDS], current, fields)
        if written is not None:
            return written
    raise RuntimeError(f"lead rebuild request of {partner_id} kept changing")


def pending(db: Database, limit: int = 500) -> list[Doc]:
    return queues.waiting(db[LEAD_REBUILDS], {"status": PENDING}, limit=limit)


def get(db: Database, partner_id: str) -> Doc | None:
    return db[LEAD_REBUILDS].find_one({"_id": partner_id})


def finish(db: Database, partner_id: str, request_id: str) -> bool:
    """Mark the request done, unless a newer one came in (that one stays pending)."""
    for _ in range(5):
        current = get(db, partner_id)
        if current is None or current.get("request_id") != request_id:
            return False
        if current.get("status") == DONE:
            return True
        now = utcnow()
        if replace_if_unchanged(db[LEAD_REBUILDS], current,
                                {"status": DONE, "done_at": now, "updated_at": now}):
            return True
    return False
