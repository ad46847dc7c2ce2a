"""Weighted round-robin that is deterministic, fair over time and survives restarts.

Smooth weighted round-robin (the nginx algorithm): every eligible partner earns its
weight in credit, the richest is picked (ties: the smallest partner id) and pays
the total weight back. Over any run of picks among the same partners each one's
share is its weight's share, exactly, and picks are interleaved rather than
bunched. Partners that were not eligible for a meeting neither earn nor pay, and
the credits always sum to zero, so a partner ineligible for a while is not owed a
burst later.

The credits live in one document per meeting type (``chilipiper:{type}``), read and
written back whole under a compare-and-set on ``rev`` (``find_one_and_replace``),
so concurrent webhooks and API replicas never lose or double-count a pick, and a
restarted API carries on exactly where the last one stopped.

Monthly caps are counters (``{partner}:{YYYY-MM}``), taken with a conditional
``$inc`` (``count < cap``), which is atomic on its own; a slot taken for a pick
whose state write then loses the race is given back. Both kinds of document share
one collection (``routing_counts``), so the two writes of a pick go to the database
as one ordered update command (``store.batch.write_in_order``). The state's earlier
home (``routing_state``) is still read, until a meeting type's next pick writes it
here (``current_state``, ``load_state``).

A booking picks from what it read in its one batch of reads (``swrr_pick`` on the
state's credits) and sends ``pick_writes`` (the state under its revision, then the
slot) first in the batch that stores the meeting and the lead; when another pick
wrote the state meanwhile nothing is written and the booking reads again.
``undo_pick`` takes back a recorded pick whose meeting was not stored after all.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pc_core import collections as c
from pc_core.errors import Conflict
from pc_core.store import batch
from pc_core.store.keys import month_key
from pc_core.timeutil import utcnow

ATTEMPTS = 50


def state_id(meeting_type: str) -> str:
    return f"chilipiper:{meeting_type.casefold()}"


def swrr_pick(credits: dict[str, int], weights: dict[str, int]) -> tuple[str, dict[str, int]]:
    """One smooth weighted round-robin step: (chosen partner, new credits)."""
    if not weights:
        raise ValueError("no candidates")
    total = sum(weights.values())
    new = dict(credits)
    for pid, weight in weights.items():
        new[pid] = int(new.get(pid, 0)) + weight
    chosen = min(weights, key=lambda pid: (-new[pid], pid))
    new[chosen] -= total
    return chosen, new


# (database, meeting type) whose state this process has seen in its new home: their
# earlier home need not be read again.
_MOVED: set[tuple[str, str]] = set()


def current_state(db: Database, meeting_type: str, found: list[dict[str, Any]],
                  legacy: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The meeting type's state from its reads: where picks write it now, else its
    earlier home (``c.LEGACY_ROUTING_STATE``), whose revision the next pick's
    compare-and-set continues from."""
    if found:
        _MOVED.add((db.name, state_id(meeting_type)))
        return found[0]
    return legacy[0] if legacy else None


def mark_moved(db: Database, meeting_type: str) -> None:
    """A pick just wrote the meeting type's state in its new home."""
    _MOVED.add((db.name, state_id(meeting_type)))


def legacy_read(db: Database, meeting_type: str) -> batch.Read | None:
    """The read of the state's earlier home, for a caller's batch of reads, until
    this process has seen the state in its new home."""
    key = state_id(meeting_type)
    if (db.name, key) in _MOVED:
        return None
    return batch.Read(c.LEGACY_ROUTING_STATE, {"_id": key})


def load_state(db: Database, meeting_type: str) -> tuple[dict[str, Any] | None, bool]:
    """(the meeting type's state, whether it is stored where picks write it)."""
    key = {"_id": state_id(meeting_type)}
    doc = db[c.ROUTING_STATE].find_one(key)
    if doc is not None:
        _MOVED.add((db.name, key["_id"]))
        return doc, True
    return db[c.LEGACY_ROUTING_STATE].find_one(key), False


def read_credits(db: Database, meeting_type: str) -> dict[str, int]:
    doc, _ = load_state(db, meeting_type)
    return {k: int(v) for k, v in ((doc or {}).get("credits") or {}).items()}


def monthly_counts(db: Database, partner_ids: list[str], month: str) -> dict[str, int]:
    ids = [f"{pid}:{month}" for pid in partner_ids]
    docs = db[c.ROUTING_COUNTS].find({"_id": {"$in": ids}}, {"partner_id": 1, "count": 1})
    return {d["partner_id"]: int(d.get("count") or 0) for d in docs}


def take_slot(db: Database, partner_id: str, month: str, cap: int | None) -> bool:
    """Count one lead for the partner this month, unless that would pass its cap
    (``cap=None``: count it regardless). Also the manual assignment's counter
    (``pc_core.meetings.unassigned``)."""
    counts = db[c.ROUTING_COUNTS]
    key = f"{partner_id}:{month}"
    for _ in range(3):
        guard: dict[str, Any] = {"_id": key}
        if cap is not None:
            guard["count"] = {"$lt": cap}
        if counts.find_one_and_update(guard, {"$inc": {"count": 1}}, {"_id": 1}) is not None:
            return True
        if cap is not None and cap <= 0:
            return False
        # First lead of the month for this partner: create the counter and retry; a
        # duplicate means it exists (at the cap, or just created by another pick).
        with contextlib.suppress(DuplicateKeyError):
            counts.insert_one({"_id": key, "partner_id": partner_id, "month": month,
                               "count": 0})
    return False


def pick_writes(state: dict[str, Any] | None, meeting_type: str, chosen: str,
                credits: dict[str, int], cap: int | None, month: str) -> list[batch.Write]:
    """The writes that record a pick made from ``state`` as read: the new credits
    under the state's revision (refused if another pick wrote it meanwhile), then
    one slot of the chosen partner's month (refused at ``cap``). Either refusal
    stops the batch there (``store.batch.cas``)."""
    slot: dict[str, Any] = {"_id": f"{chosen}:{month}", "partner_id": chosen, "month": month}
    if cap is not None:
        slot["count"] = {"$lt": cap}
    rev = int((state or {}).get("rev") or 0)
    return [
        batch.cas(c.ROUTING_STATE, {"_id": state_id(meeting_type), "rev": rev},
                  {"$set": {"meeting_type": meeting_type, "credits": credits,
                            "picks": int((state or {}).get("picks") or 0) + 1,
                            "rev": rev + 1}}),
        batch.cas(c.ROUTING_COUNTS, slot, {"$inc": {"count": 1}}),
    ]


def undo_pick(db: Database, state: dict[str, Any] | None, meeting_type: str) -> None:
    """Take back the pick ``pick_writes`` recorded from ``state``, if no other pick
    followed it; a later one keeps it (the credits still sum to zero, the partner
    is one turn behind)."""
    rev = int((state or {}).get("rev") or 0)
    db[c.ROUTING_STATE].update_one(
        {"_id": state_id(meeting_type), "rev": rev + 1},
        {"$set": {"credits": {k: int(v) for k, v in ((state or {}).get("credits") or {})
                              .items()},
                  "picks": int((state or {}).get("picks") or 0), "rev": rev + 2}})


def give_back(db: Database, partner_id: str, month: str) -> None:
    """Undo ``take_slot``: the lead it counted was not assigned after all."""
    db[c.ROUTING_COUNTS].update_one({"_id": f"{partner_id}:{month}"}, {"$inc": {"count": -1}})


def pick(db: Database, meeting_type: str, weights: dict[str, int],
         caps: dict[str, int | None], now: datetime | None = None) -> str | None:
    """Choose among ``weights``' partners and record the pick; ``None`` if every one
    of them is at its cap."""
    now = now or utcnow()
    month = month_key(now)
    weights = dict(weights)
    states = db[c.ROUTING_STATE]
    key = state_id(meeting_type)
    for _ in range(ATTEMPTS):
        if not weights:
            return None
        state, stored = load_state(db, meeting_type)
        credits = {k: int(v) for k, v in ((state or {}).get("credits") or {}).items()}
        chosen, new_credits = swrr_pick(credits, weights)
        if not take_slot(db, chosen, month, caps.get(chosen)):
            weights.pop(chosen)  # full this month: the others share the meeting
            continue
        rev = int((state or {}).get("rev") or 0)
        new_doc = {"_id": key, "meeting_type": meeting_type, "credits": new_credits,
                   "picks": int((state or {}).get("picks") or 0) + 1, "rev": rev + 1,
                   "updated_at": now}
        if not stored:  # the first pick here (the state may come from its earlier home)
            try:
                states.insert_one(new_doc)
                return chosen
            except DuplicateKeyError:
                pass
        elif states.find_one_and_replace({"_id": key, "rev": rev}, new_doc,
                                         projection={"_id": 1}) is not None:
            return chosen
        give_back(db, chosen, month)  # lost the race: try again from the new state
    raise Conflict("routing is busy; the meeting will be retried")
