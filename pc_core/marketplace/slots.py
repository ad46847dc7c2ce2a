"""The per-buyer cap on active reservations, exact under concurrency.

A buyer partner has ``cap`` numbered slots, each a document whose ``_id`` is
``"{partner_id}:{n}"``; a reservation first claims a free slot with ``insert_one``
(the unique ``_id`` lets exactly one concurrent claimer have it) and frees it when
it ends. A count-then-insert check would let two concurrent reservations of one
buyer both pass at ``cap - 1``.

A slot whose reservation is no longer active (a crash between claiming the slot and
writing the reservation, or between ending it and freeing the slot) is reclaimed
when the buyer runs out of slots, so the cap heals itself.
"""

from __future__ import annotations

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pc_core import collections as c
from pc_core.timeutil import utcnow

ACTIVE = "active"


def _slot_ids(partner_id: str, cap: int) -> list[str]:
    return [f"{partner_id}:{n}" for n in range(cap)]


def claim_slot(db: Database, partner_id: str, reservation_id: str, cap: int) -> str | None:
    """A free slot's id, now holding ``reservation_id``; ``None`` when all are taken."""
    for reclaim in (False, True):
        ids = _slot_ids(partner_id, cap)
        taken = {
            d["_id"]: d.get("reservation_id")
            for d in db[c.RESERVATION_SLOTS].find({"_id": {"$in": ids}})
        }
        if reclaim:
            _reclaim_stale(db, taken)
            taken = {
                d["_id"]: d.get("reservation_id")
                for d in db[c.RESERVATION_SLOTS].find({"_id": {"$in": ids}})
            }
        for slot_id in ids:
            if slot_id in taken:
                continue
            try:
                db[c.RESERVATION_SLOTS].insert_one({
                    "_id": slot_id, "partner_id": partner_id,
                    "reservation_id": reservation_id, "claimed_at": utcnow(),
                })
                return slot_id
            except DuplicateKeyError:
                continue
    return None


def _reclaim_stale(db: Database, taken: dict[str, str | None]) -> None:
    """Free slots whose reservation is missing or no longer active."""
    if not taken:
        return
    reservation_ids = [r for r in taken.values() if r]
    active = {
        d["_id"]
        for d in db[c.RESERVATIONS].find(
            {"_id": {"$in": reservation_ids}}, {"_id": 1, "status": 1}
        )
        if d.get("status") == ACTIVE
    }
    stale_before = utcnow().timestamp() - 60  # leave a just-claimed slot alone
    for slot_id, reservation_id in taken.items():
        if reservation_id in active:
            continue
        slot = db[c.RESERVATION_SLOTS].find_one({"_id": slot_id})
        if slot and slot["claimed_at"].timestamp() < stale_before:
            db[c.RESERVATION_SLOTS].delete_one(
                {"_id": slot_id, "reservation_id": reservation_id}
            )


def free_slot(db: Database, slot_id: str | None, reservation_id: str) -> None:
    """Free ``slot_id`` if ``reservation_id`` still holds it (no-op when already freed)."""
    if slot_id:
        db[c.RESERVATION_SLOTS].delete_one({"_id": slot_id, "reservation_id": reservation_id})
