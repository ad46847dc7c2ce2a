"""The sync log: one ``sync_task`` per sync run (manual, scheduled, webhook-triggered
or a backfill), with its counts, errors and Dagster run id."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.errors import Conflict
from pc_core.ids import new_id
from pc_core.models.sync_tasks import SyncTaskPage
from pc_core.store import replace_if_unchanged, sort_key, update_with_retry
from pc_core.store.pagination import add_key_range, fetch_page
from pc_core.timeutil import utcnow

COUNTS = ("fetched", "created", "updated", "unchanged", "archived", "errors")
ACTIVE = ("queued", "running")


def create_task(
    db: Database, partner_id: str, *, trigger: str, direction: str = "pull",
    requested_by: str | None = None, dagster_run_id: str | None = None,
    status: str = "queued",
) -> dict[str, Any]:
    now = utcnow()
    task_id = new_id()
    doc = {
        "_id": task_id,
        "partner_id": partner_id,
        "trigger": trigger,
        "direction": direction,
        "status": status,
        "requested_by": requested_by,
        "dagster_run_id": dagster_run_id,
        "counts": dict.fromkeys(COUNTS, 0),
        "details": {},
        "errors": [],
        "conflicts": [],
        "created_at": now,
        "started_at": now if status == "running" else None,
        "finished_at": None,
        "sort_key": sort_key(now, task_id),
        "rev": 1,
    }
    db[c.SYNC_TASKS].insert_one(doc)
    return doc


def request_manual_sync(db: Database, actor: Principal, partner_id: str | None) -> dict[str, Any]:
    """Queue a "Sync Now" for the caller's partner; one queued request at a time."""
    target = actor.acting_partner_id(partner_id)
    actor.require_write_on_partner(target, "partner")
    partner = db[c.PARTNERS].find_one({"_id": target})
    if partner is None or not (partner.get("hubspot") or {}).get("portal_id"):
        raise Conflict("HubSpot is not connected for this partner")
    if (partner.get("hubspot") or {}).get("sync_status") == "needs_reconnect":
        raise Conflict("HubSpot refused this partner's token: reconnect HubSpot first")
    pending = db[c.SYNC_TASKS].find_one({"partner_id": target, "status": "queued",
                                         "trigger": "manual"})
    if pending is not None:
        return pending
    return create_task(db, str(target), trigger="manual", requested_by=actor.user_id)


def queued_manual_tasks(db: Database, limit: int = 100) -> list[dict[str, Any]]:
    return list(db[c.SYNC_TASKS].find({"status": "queued"}).limit(limit))


def mark_running(db: Database, task_id: str, dagster_run_id: str | None) -> dict[str, Any]:
    return update_with_retry(
        db[c.SYNC_TASKS], task_id,
        lambda t: {"status": "running", "dagster_run_id": dagster_run_id or t["dagster_run_id"],
                   "started_at": utcnow()},
        what="sync task",
    )


# Which of a step's figures make the task's totals: records fetched come from the
# pulls; created/updated/unchanged are what happened to the partner's leads.
TOTALS_FROM = {
    "pull": ("fetched", "archived", "errors"),
    "leads": ("created", "updated", "unchanged", "errors"),
    "push": ("updated", "unchanged", "errors"),  # deals written / leads with nothing to write
    "details": (),
}


def add_counts(db: Database, task_id: str, step: str, counts: dict[str, int],
               errors: list[str] | None = None, *, kind: str = "pull") -> None:
    """Record one step's figures (e.g. the deals pull) and add the relevant ones to
    the task's totals (``kind``: "pull" or "leads")."""

    def merge(task: dict[str, Any]) -> dict[str, Any]:
        totals = dict(task.get("counts") or {})
        for key in TOTALS_FROM[kind]:
            totals[key] = int(totals.get(key, 0)) + int(counts.get(key, 0))
        details = {**(task.get("details") or {}), step: counts}
        return {"counts": totals, "details": details,
                "errors": [*task.get("errors", []), *(errors or [])][-100:]}

    update_with_retry(db[c.SYNC_TASKS], task_id, merge, what="sync task")


def finish_with_counts(db: Database, task_id: str,
                       steps: list[tuple[str, dict[str, int], str]], status: str, *,
                       current: dict[str, Any] | None = None) -> None:
    """``add_counts`` for each (step, counts, kind), then ``finish``: one read and one
    write instead of two per step (the hot path records a task per partner batch).
    ``current``: the task as the caller last wrote it (``create_task``'s answer), so
    the write needs no read unless something changed the task meanwhile."""

    def merge(task: dict[str, Any]) -> dict[str, Any]:
        totals = dict(task.get("counts") or {})
        details = dict(task.get("details") or {})
        for step, counts, kind in steps:
            for key in TOTALS_FROM[kind]:
                totals[key] = int(totals.get(key, 0)) + int(counts.get(key, 0))
            details[step] = counts
        return {"counts": totals, "details": details, "status": status,
                "finished_at": utcnow()}

    if current is not None and replace_if_unchanged(db[c.SYNC_TASKS], current,
                                                    merge(current)) is not None:
        return
    update_with_retry(db[c.SYNC_TASKS], task_id, merge, what="sync task")


MAX_CONFLICTS = 1000  # kept per task; the count in ``details`` keeps the total


def add_conflicts(db: Database, task_id: str, conflicts: list[dict[str, Any]]) -> None:
    """Record field conflicts the run decided ("most recent change wins"): lead id,
    field, both values, both times and the winner. Whole-document write (dates inside
    sub-documents would be stored as text by a ``$push`` on the embedded store)."""
    if not conflicts:
        return

    def merge(task: dict[str, Any]) -> dict[str, Any]:
        details = dict(task.get("details") or {})
        details["conflicts"] = int(details.get("conflicts") or 0) + len(conflicts)
        return {"conflicts": [*task.get("conflicts", []), *conflicts][-MAX_CONFLICTS:],
                "details": details}

    update_with_retry(db[c.SYNC_TASKS], task_id, merge, what="sync task")


def current_task_id(db: Database, partner_id: str, direction: str = "pull") -> str:
    """The partner's latest running task of ``direction`` (the run calling a service
    that did not get its task id), else a new one for this write alone. Running tasks
    are few: filtered here."""
    running = [t for t in db[c.SYNC_TASKS].find({"status": "running", "partner_id": partner_id})
               if t.get("direction") == direction]
    if running:
        return max(running, key=lambda t: t["sort_key"])["_id"]
    task = create_task(db, partner_id, trigger="lead-build", direction=direction,
                       status="running")
    finish(db, task["_id"], "succeeded")
    return task["_id"]


def task_for_run_id(db: Database, partner_id: str, run_id: str, *, direction: str,
                    trigger: str) -> str:
    """The task of ``direction`` for one Dagster run, created on first use: a run that
    pulls and then pushes keeps one task per direction."""
    for task in db[c.SYNC_TASKS].find({"dagster_run_id": run_id}):
        if task.get("direction") == direction:
            return task["_id"]
    return create_task(db, partner_id, trigger=trigger, direction=direction,
                       dagster_run_id=run_id, status="running")["_id"]


def finish(db: Database, task_id: str, status: str) -> None:
    update_with_retry(
        db[c.SYNC_TASKS], task_id,
        lambda _: {"status": status, "finished_at": utcnow()}, what="sync task",
    )


def list_tasks(
    db: Database, actor: Principal, partner_id: str | None, limit: int, cursor: str | None
) -> SyncTaskPage:
    target = actor.scoped_partner_id(partner_id)
    match: dict[str, Any] = {} if target is None else {"partner_id": target}
    add_key_range(match, cursor, None, None)
    docs, next_cursor = fetch_page(db[c.SYNC_TASKS], match, limit)
    return SyncTaskPage.from_docs(docs, next_cursor)
