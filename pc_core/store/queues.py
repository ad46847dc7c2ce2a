"""Pending-work queues and inboxes, in the shapes both stores serve from an index.

Every queue read is an equality on indexed fields plus a limit, never a sort or a
date range (the embedded store scans for those). Three kinds:

- **flagged work**: a flag or status on the document the work is about (a raw deal
  ``dirty``, a lead ``push_pending``, a deal link ``pending``, an outbox entry or a
  rebuild request ``status: "pending"``), set by whoever makes the work and cleared
  by the run that did it: ``waiting`` + ``mark``;
- **an inbox** of received events (``processed: False``), marked processed in
  batches once applied, so a run that fails leaves them for the next: ``waiting``
  + ``mark_processed``;
- **a due queue**: ``status`` + ``due_key`` (a ``time_key``) at or before now; a
  worker takes an item with ``claim``, a compare-and-set that also moves its
  ``due_key`` to the claim's expiry, so the item of a worker that died is due again.

Flags are written with ``$set`` only as strings, numbers or booleans (the embedded
store keeps a ``$set`` boolean as 0/1, which still compares equal to ``True``), never
as dates: a moment is written as its ``time_key``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo import UpdateMany
from pymongo.collection import Collection

from pc_core.store.documents import BATCH, Doc
from pc_core.store.keys import time_key
from pc_core.store.states import transition

DUE = "due_key"


def exact(match: Doc) -> Doc:
    """``match`` with its plain equalities on scalar values written as ``$eq``.

    The same query on MongoDB (``$eq`` is what a plain equality means, index and all).
    On nx-27017 a plain equality on any field but ``_id`` also tests the field as an
    array of values (a ``json_each`` arm in SQL), which no index serves: the
    partner's pending webhook events were read by scanning every pending event of
    every partner (44 ms for 200 among 20,000, measured 2026-12-05), where ``$eq``
    uses the ``(partner_id, processed)`` index (10 ms). Our queue fields are
    scalars, so nothing else changes."""
    return {k: {"$eq": v} if not k.startswith("$") and k != "_id" and v is not None
            and not isinstance(v, (dict, list, tuple)) else v for k, v in match.items()}


def waiting(collection: Collection, match: Doc, *, limit: int,
            projection: Doc | None = None, exclude: Iterable[Any] = ()) -> list[Doc]:
    """Up to ``limit`` items of the queue ``match`` (an equality on indexed fields),
    leaving out the ids in ``exclude`` (items a caller already has in hand)."""
    skip = set(exclude)
    wanted = limit + len(skip)
    # all in the first answer: no getMore round trip past the driver's default 101
    docs = collection.find(exact(match), projection).limit(wanted).batch_size(wanted)
    return [d for d in docs if d["_id"] not in skip][:limit]


def due(collection: Collection, match: Doc, now: datetime, *, limit: int) -> list[Doc]:
    """Up to ``limit`` items of ``match`` whose ``due_key`` has come by ``now``."""
    if limit <= 0:
        return []
    return list(collection.find({**exact(match), DUE: {"$lte": time_key(now)}}).limit(limit))


def is_due(doc: Doc, now: datetime) -> bool:
    return (doc.get(DUE) or "") <= time_key(now)


def mark(collection: Collection, ids: list[Any], fields: Doc) -> None:
    """Set ``fields`` (flags: strings, numbers, booleans) on the documents ``ids``,
    ``BATCH`` ids per update and ``BATCH`` updates per bulk write."""
    ops = [UpdateMany({"_id": {"$in": ids[i:i + BATCH]}}, {"$set": fields})
           for i in range(0, len(ids), BATCH)]
    for start in range(0, len(ops), BATCH):
        collection.bulk_write(ops[start:start + BATCH], ordered=False)


def mark_processed(collection: Collection, ids: list[Any], *, by: str | None,
                   now: datetime) -> None:
    """Inbox events applied: ``processed``, by which run, and when (as its
    ``time_key``: a ``$set`` date would be stored as text on the embedded store)."""
    mark(collection, ids, {"processed": True, "processed_by": by or "",
                           "processed_key": time_key(now)})


def claim(collection: Collection, doc: Doc, *, from_: str | Iterable[str], to: str,
          until: datetime, changes: Doc | None = None) -> Doc | None:
    """Take the due item ``doc`` for one attempt: its state moves from ``from_`` to
    ``to`` and it is due again at ``until`` (the claim's expiry) unless the attempt
    records otherwise. ``None`` if another worker changed it first."""
    return transition(collection, doc, from_=from_, to=to,
                      changes={**(changes or {}), DUE: time_key(until)})


def due_at(moment: datetime) -> Doc:
    """The ``due_key`` field of an item due at ``moment``, for inserts and changes."""
    return {DUE: time_key(moment)}
