"""One partner's pending webhook events, applied under the partner's lease.

The only way webhook events are applied, by the hot-path worker and by the Dagster
backstop run alike: take the partner's lease (``leases``), run
``webhook_apply.run_webhook_sync`` (the one implementation: HubSpot's current state →
raw documents → leads → events marked processed, recorded as a sync task), give the
lease back. A partner whose lease another process holds is skipped (``None``): that
process is applying the same events, in order, right now.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pymongo.database import Database

from pc_core import collections as c
from pc_core.hubspot.webhooks.apply import ApplyStats, run_webhook_sync
from pc_core.hubspot.webhooks.ingest import seq_time
from pc_core.settings import Settings
from pc_core.store import leases
from pc_core.store.queues import exact
from pc_core.sync import tasks as sync_tasks

LANE = "webhook"


@dataclass
class Applied:
    """One partner's applied batch, as the worker reports it to Dagster."""

    partner_id: str
    task_id: str
    stats: ApplyStats
    #: receipt of the oldest / newest event applied → its lead written (seconds)
    latency_s: float
    newest_latency_s: float

    def figures(self) -> dict[str, int | float]:
        """Counts and latencies (seconds, receipt → lead written) of the batch."""
        stats = self.stats
        return {
            "events": stats.events, "ignored_events": stats.ignored,
            "deals": stats.objects["deals"], "contacts": stats.objects["contacts"],
            "leads_created": stats.leads.created, "leads_updated": stats.leads.updated,
            "leads_unchanged": stats.leads.unchanged, "listed": stats.leads.listed,
            "hubspot_requests": stats.requests,
            "latency_s_oldest": round(self.latency_s, 3),
            "latency_s_newest": round(self.newest_latency_s, 3),
            "apply_s": round(stats.duration_s, 3),
        }


def _holder_name(task: dict) -> str:
    run_id = task.get("dagster_run_id")
    return f"Dagster run {run_id}" if run_id else "the worker"


def _close(db: Database, task_id: str, message: str) -> bool:
    """Mark a running task failed with ``message``; False if it finished meanwhile
    (re-read: its holder may have finished it between our reads)."""
    current = db[c.SYNC_TASKS].find_one({"_id": task_id}, {"status": 1})
    if current is None or current["status"] != "running":
        return False
    sync_tasks.add_counts(db, task_id, "failure", {"errors": 1}, [message])
    sync_tasks.finish(db, task_id, "failed")
    return True


def close_abandoned_tasks(db: Database, partner_id: str, dead_holder: str) -> list[str]:
    """The partner's webhook sync tasks a dead holder left running (it held the lease
    we took over from an expired one), marked failed with the reason: their events
    are still pending and are applied by the task that follows. A worker's and a
    Dagster run's alike: a run SIGKILLed mid-apply is never marked failed by Dagster
    (no failure event, so no run-failure sensor), and only the lease tells."""
    closed = []
    for task in db[c.SYNC_TASKS].find(exact({"status": "running", "partner_id": partner_id})):
        if task.get("trigger") != "webhook":
            continue
        if _close(db, task["_id"], f"{dead_holder} stopped before finishing; its events "
                  "were applied by the next worker"):
            closed.append(task["_id"])
    return closed


def sweep_abandoned_tasks(db: Database) -> list[str]:
    """Webhook sync tasks (a worker's or a Dagster run's) still running while nobody
    holds their partner's lease: the holder died after marking its events processed
    and before finishing its task (the takeover in ``apply_partner`` never comes, as
    nothing is pending). Closed as failed, saying so. A live holder keeps the lease
    for as long as its task runs and finishes the task before giving it back, so the
    status is read again after the lease was seen free."""
    closed = []
    for task in db[c.SYNC_TASKS].find(exact({"status": "running"})):  # every poll pass
        if task.get("trigger") != "webhook":
            continue
        if leases.holder_of(db, LANE, task["partner_id"]) is not None:
            continue
        if _close(db, task["_id"], f"{_holder_name(task)} stopped after applying its "
                  "events and before recording them"):
            closed.append(task["_id"])
    return closed


def apply_partner(db: Database, settings: Settings, partner_id: str, holder: str, *,
                  run_id: str | None = None,
                  lease_s: float | None = None) -> Applied | None:
    """Apply the partner's pending events if its lease is free (else ``None``)."""
    seconds = lease_s if lease_s is not None else settings.worker_lease_seconds
    with leases.held(db, LANE, partner_id, holder, seconds) as taken:
        if taken is None:
            return None
        if taken.from_expired:
            close_abandoned_tasks(db, partner_id, taken.from_expired)
        task_id, stats = run_webhook_sync(db, settings, partner_id,
                                          run_id=run_id,
                                          applied_by=holder)
    now = time.time()
    oldest = now - seq_time(stats.min_seq) if stats.events else 0.0
    newest = now - seq_time(stats.max_seq) if stats.events else 0.0
    return Applied(partner_id, task_id, stats, max(0.0, oldest), max(0.0, newest))
