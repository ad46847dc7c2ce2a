"""The lifecycle of a sync run's ``sync_task``: every step of a pull run adds its
figures to one task, found from the run (the task the API queued for it, or the one
already made for the run id) or created for it, and the partner's open pages hear
about each step (``sync-progress``) and the end (``sync-finished``) through
``pc_core.events`` (on the Redis of the one ``Settings`` every function takes).

Orchestrator-free: the Dagster side (``pc_pipelines``) passes the run id, the task id
its tags carry and the trigger; the rules of the lifecycle live here.
"""

from __future__ import annotations

from pymongo.database import Database

from pc_core import collections as c
from pc_core import events
from pc_core.models.live_events import SyncFinished, SyncProgress
from pc_core.settings import Settings
from pc_core.sync import tasks as sync_tasks


def task_for_run(db: Database, settings: Settings, partner_id: str, *, run_id: str,
                 task_id: str | None, trigger: str) -> str:
    """The run's task: the queued one it was launched for (``task_id``, marked running
    now), else the task already made for ``run_id``, else a new running one; a task
    is announced as it starts."""
    if task_id:
        task = db[c.SYNC_TASKS].find_one({"_id": task_id})
        if task is not None and task["status"] == "queued":
            running = sync_tasks.mark_running(db, task_id, run_id)
            events.emit(settings, SyncProgress.of_task(running))
        if task is not None:
            return task_id
    existing = db[c.SYNC_TASKS].find_one({"dagster_run_id": run_id})
    if existing is not None:
        return existing["_id"]
    task = sync_tasks.create_task(db, partner_id, trigger=trigger, dagster_run_id=run_id,
                                  status="running")
    events.emit(settings, SyncProgress.of_task(task))
    return task["_id"]


def report_step(db: Database, settings: Settings, task_id: str, step: str) -> None:
    """``sync-progress`` after a step recorded its figures (the task's running totals)."""
    task = db[c.SYNC_TASKS].find_one({"_id": task_id})
    if task is not None:
        events.emit(settings, SyncProgress.of_task(task, step))


def report_finished(db: Database, settings: Settings, task_id: str) -> None:
    """``sync-finished`` once the task has its final status."""
    task = db[c.SYNC_TASKS].find_one({"_id": task_id})
    if task is not None:
        events.emit(settings, SyncFinished.of_task(task))


def fail_run(db: Database, settings: Settings, *, run_id: str, task_id: str | None,
             message: str) -> str | None:
    """A pull run failed: its task (made for ``run_id``, else the queued ``task_id``)
    is marked failed with the reason and its pages hear it. Returns the task id, or
    ``None`` when the run never had a task."""
    task = db[c.SYNC_TASKS].find_one({"dagster_run_id": run_id})
    found = (task or {}).get("_id") or task_id
    if not found:
        return None
    sync_tasks.add_counts(db, found, "failure", {"errors": 1}, [message[:500]])
    sync_tasks.finish(db, found, "failed")
    report_finished(db, settings, found)
    return found


def cancel_task(db: Database, settings: Settings, task_id: str) -> None:
    """A queued "Sync Now" whose partner disconnected before it ran."""
    sync_tasks.finish(db, task_id, "cancelled")
    report_finished(db, settings, task_id)
