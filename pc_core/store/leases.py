"""Partner leases: which process is working on a partner's share of a lane, until when.

A lane's unit of work is one partner (its pending webhook events, applied in order).
A process takes the partner's lease before it works and gives it back after; while it
works, ``held`` renews the lease every third of its length. A process that dies (a
SIGKILL) renews nothing, so its lease expires and any other worker, or the Dagster
backstop run, takes the partner over: nothing it claimed is lost, and two holders
never work on one partner at once (each take is a compare-and-set filtered on the
holder or on the lease having run out).

One document per lane and partner (``_id`` ``"{lane}:{partner}"``); the expiry is
epoch milliseconds (an integer: both stores compare integers alike, where the
embedded one reads ISO-looking strings as dates and an empty one as nothing).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pc_core import collections as c
from pc_core.store.documents import replace_if_unchanged

log = logging.getLogger(__name__)

FREE = ""


def _now_ms() -> int:
    return int(time.time() * 1000)


def holder_name(kind: str) -> str:
    """A name no other process has: kind, host, pid and a random suffix."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


#: How a Dagster run names itself as a holder (``run_holder``); its sync tasks carry
#: the run id, so a takeover from a dead run knows which tasks were the run's.
RUN_PREFIX = "dagster:"


def run_holder(run_id: str) -> str:
    """A Dagster run's holder name."""
    return f"{RUN_PREFIX}{run_id}"


def run_of(holder: str) -> str | None:
    """The Dagster run a holder name stands for; ``None`` for a worker."""
    return holder.removeprefix(RUN_PREFIX) if holder.startswith(RUN_PREFIX) else None


def _key(lane: str, partner_id: str) -> str:
    return f"{lane}:{partner_id}"


@dataclass(frozen=True)
class Taken:
    """A lease taken; ``from_expired`` names the holder whose lease ran out (a process
    that died holding it), ``None`` when it was free or already ours."""

    from_expired: str | None = None


def take(db: Database, lane: str, partner_id: str, holder: str,
         seconds: float) -> Taken | None:
    """Take (or extend) the lease; ``None`` while another holder's lease runs.

    A free lease (the usual case: its last holder gave it back) is taken with one
    write filtered on it being free; otherwise read, then one compare-and-set on the
    revision read (``replace_if_unchanged``, the store's race-deciding write). Either
    way, of two takers exactly one wins."""
    key = _key(lane, partner_id)
    leases = db[c.WORKER_LEASES]
    if leases.find_one_and_update(
            {"_id": key, "holder": FREE},
            {"$set": {"holder": holder, "expires_ms": _now_ms() + int(seconds * 1000)},
             "$inc": {"rev": 1}}, {"_id": 1}) is not None:
        return Taken()
    current = leases.find_one({"_id": key})
    if current is None:  # the partner's first lease of this lane
        with suppress(DuplicateKeyError):
            leases.insert_one({"_id": key, "lane": lane, "partner_id": partner_id,
                               "holder": FREE, "expires_ms": 0, "rev": 0})
        current = leases.find_one({"_id": key})
    now = _now_ms()
    previous = (current or {}).get("holder") or FREE
    if current is None or (previous not in (FREE, holder)
                           and int(current.get("expires_ms") or 0) > now):
        return None
    written = replace_if_unchanged(leases, current, {
        "holder": holder, "expires_ms": now + int(seconds * 1000)})
    if written is None:
        return None
    return Taken(from_expired=previous if previous not in (FREE, holder) else None)


def acquire(db: Database, lane: str, partner_id: str, holder: str, seconds: float) -> bool:
    """``take`` as a yes or no."""
    return take(db, lane, partner_id, holder, seconds) is not None


def release(db: Database, lane: str, partner_id: str, holder: str) -> None:
    """Give the lease back (only if still ours), so the next taker need not wait."""
    # Only the holder releases, so no compare-and-set on the revision is needed: the
    # filter on the holder is the guard (the revision still moves, for the next taker).
    db[c.WORKER_LEASES].update_one({"_id": _key(lane, partner_id), "holder": holder},
                                   {"$set": {"holder": FREE, "expires_ms": 0},
                                    "$inc": {"rev": 1}})


def holder_of(db: Database, lane: str, partner_id: str) -> str | None:
    """Who holds the partner's lease now (``None``: nobody, or it ran out)."""
    doc = db[c.WORKER_LEASES].find_one({"_id": _key(lane, partner_id)})
    if not doc or not doc.get("holder") or int(doc.get("expires_ms") or 0) <= _now_ms():
        return None
    return doc["holder"]


def dead_holder(db: Database, lane: str, partner_id: str) -> str | None:
    """The holder an expired lease still names: it stopped renewing without giving
    the lease back (a holder giving it back frees it), so it died holding it (or
    stalled for longer than the lease). ``None`` while the lease is free or runs."""
    doc = db[c.WORKER_LEASES].find_one({"_id": _key(lane, partner_id)})
    if not doc or not doc.get("holder") or int(doc.get("expires_ms") or 0) > _now_ms():
        return None
    return doc["holder"]


@contextmanager
def held(db: Database, lane: str, partner_id: str, holder: str,
         seconds: float) -> Iterator[Taken | None]:
    """The ``Taken`` lease inside (renewed in the background until the block ends,
    then released), or ``None`` if someone else holds it."""
    taken = take(db, lane, partner_id, holder, seconds)
    if taken is None:
        yield None
        return
    done = threading.Event()

    def renew() -> None:
        while not done.wait(seconds / 3):
            try:
                if not acquire(db, lane, partner_id, holder, seconds):
                    log.error("lease %s:%s lost by %s", lane, partner_id, holder)
                    return
            except Exception:  # noqa: BLE001 - the database may be restarting; retry
                log.warning("lease %s:%s: renewal failed", lane, partner_id, exc_info=True)

    renewer = threading.Thread(target=renew, name=f"lease-{partner_id}", daemon=True)
    renewer.start()
    try:
        yield taken
    finally:
        done.set()
        renewer.join(timeout=5)
        try:
            release(db, lane, partner_id, holder)
        except Exception:  # noqa: BLE001 - it expires by itself
            log.warning("lease %s:%s: release failed", lane, partner_id, exc_info=True)
