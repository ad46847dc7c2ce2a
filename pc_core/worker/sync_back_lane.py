"""The write-back lanes: pushback (the platform's lead edits → the partner's HubSpot
deals) and the cross-partner relay (a buyer's deal move → the seller's deal and view),
one partner under its lease at a time.

The only way either is written, by the hot-path worker and by the Dagster runs alike
(the backstop jobs and the 15-minute sync's assets): take the partner's lease of the
lane (``leases``), run ``partner_runs.run_pushback`` / ``run_cross_partner`` (the one
implementation, recorded as the partner's push sync task), give the lease back. A
partner whose lease another process holds is skipped (``None``): that process is
writing the same changes, in order, right now. What makes a repeat harmless is in
the implementations: a deal update sets values (the pushback re-reads the deal and
skips what HubSpot already has), the relay's notes carry a reference recorded before
they are written (``cross_partner``), and each lead or link is cleared only after its
writes.

The worker's tasks carry the lane as their trigger (``pushback`` / ``relay``; a
Dagster run's say ``change``, and carry the run id), so a task a killed worker or a
SIGKILLed run left running is closed on takeover (``close_abandoned``: the expired
lease names the dead holder) or on the next poll (``sweep_abandoned``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from pymongo.database import Database

from pc_core import collections as c
from pc_core.hubspot.connection.oauth import connected_among
from pc_core.hubspot.lead_build.deal_links import FLAGGED_AT as LINK_FLAGGED_AT
from pc_core.hubspot.lead_build.deal_links import pending_links
from pc_core.hubspot.sync_back import partner_runs
from pc_core.hubspot.sync_back.cross_partner import CrossStats
from pc_core.hubspot.sync_back.pushback import FLAGGED_AT as PUSH_FLAGGED_AT
from pc_core.hubspot.sync_back.pushback import PushStats, pending_leads
from pc_core.settings import Settings
from pc_core.store import leases
from pc_core.store.queues import exact
from pc_core.store.wakeups import PUSHBACK, RELAY
from pc_core.sync import tasks as sync_tasks

LANES = (PUSHBACK, RELAY)
#: The Dagster asset each lane's writes are a materialisation of (per partner).
ASSETS = {PUSHBACK: "hubspot_pushback", RELAY: "cross_partner_sync"}
#: After a partner's failed pass the worker leaves it alone this long, doubling per
#: failure up to the maximum (its changes stay pending; the backstop run retries too).
BACKOFF_S = 2.0
BACKOFF_MAX_S = 60.0


def pushback_figures(stats: PushStats) -> dict[str, int]:
    """A pushback's counts, as Dagster metadata (worker and runs alike)."""
    return {
        "leads": stats.leads, "deals_updated": stats.deals_updated,
        "notes_created": stats.notes_created, "left_pending_after_failure": stats.failed,
        "deferred_to_newer_hubspot_change": stats.deferred,
        "skipped_no_reverse_stage": len(stats.skipped), "requests": stats.requests,
    }


def cross_partner_figures(stats: CrossStats) -> dict[str, int]:
    """A buyer's cross-partner sync's counts, as Dagster metadata."""
    return {
        "delivered_to_buyer_crm": stats.delivered, "stages_relayed": stats.relayed,
        "seller_deals_updated": stats.seller_deals_updated, "errors": len(stats.errors),
    }


@dataclass
class Pushed:
    """One partner's written batch of a lane, as the worker reports it to Dagster."""

    lane: str
    partner_id: str
    task_id: str
    stats: PushStats | CrossStats
    #: the oldest pending change flagged → written to HubSpot (seconds)
    latency_s: float

    @property
    def asset(self) -> str:
        return ASSETS[self.lane]

    @property
    def failed(self) -> bool:
        """HubSpot refused part of it: that part stays pending."""
        if isinstance(self.stats, PushStats):
            return bool(self.stats.failed)
        return bool(self.stats.errors)

    @property
    def written(self) -> int:
        """Leads pushed or stages relayed (0: nothing reached anyone)."""
        if isinstance(self.stats, PushStats):
            return self.stats.deals_updated + self.stats.notes_created
        return self.stats.relayed + self.stats.delivered

    def figures(self) -> dict[str, int | float]:
        counts = (pushback_figures(self.stats) if isinstance(self.stats, PushStats)
                  else cross_partner_figures(self.stats))
        return {**counts, "latency_s_oldest": round(self.latency_s, 3)}


# -- pending work -----------------------------------------------------------------------

@dataclass(frozen=True)
class Share:
    """One partner's pending work in a lane: when its oldest item was flagged, and a
    digest of the items and their revisions (a new edit or move changes it)."""

    since: datetime
    key: str


def pending(db: Database, lane: str, limit: int = partner_runs.PEEK) -> dict[str, Share]:
    """Connected partners with pending work in the lane (one indexed query for every
    partner)."""
    if lane == PUSHBACK:
        docs, field_name, when = pending_leads(db, limit), "partner_id", PUSH_FLAGGED_AT
    else:
        docs, field_name, when = pending_links(db, limit), "buyer_partner_id", LINK_FLAGGED_AT
    oldest = partner_runs.oldest_flags(docs, field_name, when)
    connected = connected_among(db, list(oldest))
    items: dict[str, list[str]] = {}
    for doc in docs:
        items.setdefault(doc.get(field_name), []).append(f"{doc['_id']}@{doc.get('rev') or 0}")
    return {p: Share(at, hashlib.sha256("|".join(sorted(items[p])).encode()).hexdigest())
            for p, at in oldest.items() if p in connected}


# -- one partner, under its lease -----------------------------------------------------------

def _worker_tasks(db: Database, lane: str, partner_id: str | None) -> list[dict]:
    """Running tasks of the lane's workers (their trigger is the lane, no run id)."""
    match: dict = {"status": "running", "trigger": lane}
    if partner_id is not None:
        match["partner_id"] = partner_id
    return [t for t in db[c.SYNC_TASKS].find(exact(match)) if not t.get("dagster_run_id")]


def _run_tasks(db: Database, partner_id: str | None, run_id: str | None = None) -> list[dict]:
    """Running push tasks of Dagster runs (their trigger is the run's: ``change``,
    ``schedule``...; a run writing both lanes for a partner keeps one push task)."""
    match: dict = {"status": "running", "direction": "push"}
    if partner_id is not None:
        match["partner_id"] = partner_id
    if run_id is not None:
        match["dagster_run_id"] = run_id
    return [t for t in db[c.SYNC_TASKS].find(exact(match)) if t.get("dagster_run_id")]


def _close(db: Database, task: dict, reason: str) -> str | None:
    """Mark a running task failed; ``None`` if it finished meanwhile (re-read: a live
    holder finishes its task before giving the lease back)."""
    current = db[c.SYNC_TASKS].find_one({"_id": task["_id"]}, {"status": 1})
    if current is None or current["status"] != "running":
        return None
    sync_tasks.add_counts(db, task["_id"], "failure", {"errors": 1}, [reason], kind="push")
    sync_tasks.finish(db, task["_id"], "failed")
    return str(task["_id"])


def _who(holder: str) -> str:
    run_id = leases.run_of(holder)
    return f"Dagster run {run_id}" if run_id else f"worker {holder}"


def close_abandoned(db: Database, lane: str, partner_id: str, dead_holder: str) -> list[str]:
    """The partner's tasks a dead holder of the lane left running (we took its expired
    lease), marked failed: what it had not recorded stays pending for this pass. A
    worker's are its lane's; a Dagster run's are the run's push tasks (Dagster never
    marks a SIGKILLed run failed, so no run-failure sensor would close them)."""
    run_id = leases.run_of(dead_holder)
    tasks = (_run_tasks(db, partner_id, run_id) if run_id
             else _worker_tasks(db, lane, partner_id))
    reason = (f"{_who(dead_holder)} stopped before finishing; what it had not recorded "
              "was written by the next holder")
    closed = (_close(db, t, reason) for t in tasks)
    return [task_id for task_id in closed if task_id]


def _dead_run(db: Database, task: dict) -> bool:
    """A run's task whose run died holding a lease of the partner (the lease ran out
    still naming it; a live run renews its lease and finishes its task before giving
    the lease back)."""
    holder = leases.run_holder(task["dagster_run_id"])
    return any(leases.dead_holder(db, lane, task["partner_id"]) == holder for lane in LANES)


def sweep_abandoned(db: Database) -> list[str]:
    """Tasks of these lanes still running while their holder is gone (it died after
    its writes, before finishing its task, and nothing is pending to bring a
    takeover): closed as failed, saying so. A worker's: nobody holds its partner's
    lease of the lane. A Dagster run's: the partner's lease ran out naming the run."""
    stopped = "stopped before recording the end of its task"
    closed = [_close(db, t, f"the worker {stopped}")
              for lane in LANES for t in _worker_tasks(db, lane, None)
              if leases.holder_of(db, lane, t["partner_id"]) is None]
    closed += [_close(db, t, f"Dagster run {t['dagster_run_id']} {stopped}")
               for t in _run_tasks(db, None) if _dead_run(db, t)]
    return [task_id for task_id in closed if task_id]


def apply_partner(db: Database, settings: Settings, lane: str, partner_id: str, holder: str,
                  *, run_id: str | None = None, trigger: str | None = None,
                  since: datetime | None = None,
                  lease_s: float | None = None) -> Pushed | None:
    """Write the partner's pending changes of the lane if its lease is free (else
    ``None``). ``run_id``: the Dagster run doing it (its task is the run's);
    ``since``: when the oldest change was flagged (for the latency)."""
    if lane not in LANES:
        raise ValueError(f"unknown write-back lane {lane!r}")
    seconds = lease_s if lease_s is not None else settings.worker_lease_seconds
    run = partner_runs.run_pushback if lane == PUSHBACK else partner_runs.run_cross_partner
    with leases.held(db, lane, partner_id, holder, seconds) as taken:
        if taken is None:
            return None
        if taken.from_expired:
            close_abandoned(db, lane, partner_id, taken.from_expired)
        task_id, stats = run(db, settings, partner_id, run_id=run_id, trigger=trigger or lane)
    latency = max(0.0, time.time() - since.timestamp()) if since is not None else 0.0
    return Pushed(lane, partner_id, task_id, stats, latency)


# -- a pass over every partner ------------------------------------------------------------

@dataclass
class Backoff:
    """Partners the worker leaves alone for a while after a pass that failed or wrote
    nothing while leaving the same work pending (a portal down; a lead whose HubSpot
    change is newer, waiting for the pull): 2, 4 … 60 s, unless its pending work
    changes (a new edit or move is taken at once). In memory: a restarted worker
    tries at once."""

    until: dict[tuple[str, str], tuple[float, float, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def waiting(self, lane: str, partner_id: str, key: str) -> bool:
        with self.lock:
            entry = self.until.get((lane, partner_id))
        return entry is not None and entry[2] == key and entry[0] > time.monotonic()

    def record(self, lane: str, partner_id: str, key: str, stuck: bool) -> None:
        with self.lock:
            if not stuck:
                self.until.pop((lane, partner_id), None)
                return
            previous = self.until.get((lane, partner_id), (0.0, BACKOFF_S / 2, key))[1]
            pause = min(BACKOFF_MAX_S, previous * 2)
            self.until[(lane, partner_id)] = (time.monotonic() + pause, pause, key)


@dataclass
class LanePass:
    written: list[Pushed] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # leased elsewhere, or backing off
    failed: dict[str, str] = field(default_factory=dict)


def lane_pass(db: Database, settings: Settings, lane: str, holder: str,
              backoff: Backoff | None = None) -> LanePass:
    """Every partner with pending work in the lane, a thread per partner (at most
    ``partner_runs.MAX_WORKERS``), each under its lease; one partner's failure is
    recorded on its task and sync health and does not stop the others."""
    result = LanePass()
    due = pending(db, lane)
    if backoff is not None:
        result.skipped.extend(p for p, share in due.items()
                              if backoff.waiting(lane, p, share.key))
        due = {p: share for p, share in due.items() if p not in result.skipped}
    if not due:
        return result
    outcomes = partner_runs.for_each_partner(
        db, due, lambda p: apply_partner(db, settings, lane, p, holder, since=due[p].since),
        job=f"hot-path worker ({lane})", run_id=holder).outcomes
    for outcome in outcomes:
        done = outcome.result
        if outcome.error is not None:
            result.failed[outcome.partner_id] = outcome.error
        elif done is None:
            result.skipped.append(outcome.partner_id)
            continue
        else:
            result.written.append(done)
        if backoff is not None:
            stuck = done is None or done.failed or not done.written
            backoff.record(lane, outcome.partner_id, due[outcome.partner_id].key, stuck)
    return result
