"""The link between a Dagster run and its ``sync_task``: every asset of a sync run
adds its figures to one task, found from the run's tags or created for it, and the
partner's open pages hear about each step (``sync-progress``) and the end
(``sync-finished``) through ``pc_core.events``."""

from dagster import AssetExecutionContext
from pymongo.database import Database

from pc_core import collections as c
from pc_core import events, sync_tasks
from pc_core.settings import Settings

TASK_TAG = "pc/sync_task_id"
TRIGGER_TAG = "pc/trigger"
FULL_TAG = "pc/full"


def task_for_run(context: AssetExecutionContext, db: Database, partner_id: str,
                 live: Settings | None = None) -> str:
    """The run's task; ``live`` (the events settings) announces it when it starts."""
    run = context.run
    task_id = run.tags.get(TASK_TAG)
    if task_id:
        task = db[c.SYNC_TASKS].find_one({"_id": task_id})
        if task is not None and task["status"] == "queued":
            running = sync_tasks.mark_running(db, task_id, run.run_id)
            if live is not None:
                events.sync_progress(live, running)
        if task is not None:
            return task_id
    existing = db[c.SYNC_TASKS].find_one({"dagster_run_id": run.run_id})
    if existing is not None:
        return existing["_id"]
    backfill = "dagster/backfill" in run.tags
    trigger = "backfill" if backfill else run.tags.get(TRIGGER_TAG, "dagster")
    task = sync_tasks.create_task(
        db, partner_id, trigger=trigger, dagster_run_id=run.run_id, status="running"
    )
    if live is not None:
        events.sync_progress(live, task)
    return task["_id"]


def report_step(live: Settings | None, db: Database, task_id: str, step: str) -> None:
    """``sync-progress`` after a step recorded its figures (the task's running totals)."""
    task = db[c.SYNC_TASKS].find_one({"_id": task_id}) if live is not None else None
    if task is not None:
        events.sync_progress(live, task, step)


def report_finished(live: Settings | None, db: Database, task_id: str) -> None:
    """``sync-finished`` once the task has its final status."""
    task = db[c.SYNC_TASKS].find_one({"_id": task_id}) if live is not None else None
    if task is not None:
        events.sync_finished(live, task)
