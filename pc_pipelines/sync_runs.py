"""The link between a Dagster run and its ``sync_task``: every asset of a sync run
adds its figures to one task, found from the run's tags or created for it."""

from dagster import AssetExecutionContext
from pymongo.database import Database

from pc_core import collections as c
from pc_core import sync_tasks

TASK_TAG = "pc/sync_task_id"
TRIGGER_TAG = "pc/trigger"
FULL_TAG = "pc/full"


def task_for_run(context: AssetExecutionContext, db: Database, partner_id: str) -> str:
    run = context.run
    task_id = run.tags.get(TASK_TAG)
    if task_id:
        task = db[c.SYNC_TASKS].find_one({"_id": task_id})
        if task is not None and task["status"] == "queued":
            sync_tasks.mark_running(db, task_id, run.run_id)
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
    return task["_id"]
