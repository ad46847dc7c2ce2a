"""Retention: processed webhook events older than 7 days and sync tasks finished more
than 90 days ago are deleted by the nightly ``pruned_history`` asset; pending events
and running tasks stay whatever their age; the check fails while anything past
retention is still stored."""

from __future__ import annotations

from datetime import timedelta

from dagster import DagsterInstance, materialize

from pc_core import collections as c
from pc_core.store.keys import time_key
from pc_core.store.retention import overdue
from pc_core.timeutil import utcnow
from pc_pipelines.definitions import defs
from pc_pipelines.maintenance.retention import nothing_past_retention, pruned_history
from pc_pipelines.resources import PlatformResource


def _event(db, name: str, age_days: float, processed: bool) -> None:
    at = utcnow() - timedelta(days=age_days)
    db[c.WEBHOOK_EVENTS].insert_one({
        "_id": name, "partner_id": "p1", "processed": processed, "seq": 1,
        "processed_key": time_key(at) if processed else None, "received_at": at})


def _task(db, name: str, age_days: float, status: str) -> None:
    at = utcnow() - timedelta(days=age_days)
    db[c.SYNC_TASKS].insert_one({
        "_id": name, "partner_id": "p1", "status": status, "trigger": "webhook",
        "started_at": at, "finished_at": at if status != "running" else None,
        "sort_key": f"{time_key(at)}|{name}"})


def test_the_nightly_asset_prunes_only_history_past_retention(db, settings, tmp_path):
    _event(db, "applied-8d", 8, True)
    _event(db, "applied-6d", 6, True)
    _event(db, "pending-30d", 30, False)  # work, not history: kept
    _task(db, "ok-91d", 91, "succeeded")
    _task(db, "failed-120d", 120, "failed")
    _task(db, "ok-89d", 89, "succeeded")
    _task(db, "running-100d", 100, "running")  # stuck, not finished: kept
    before = overdue(db, settings)
    assert (before.webhook_events, before.sync_tasks) == (1, 2)
    platform = PlatformResource.of(settings)
    with DagsterInstance.ephemeral() as instance:
        result = materialize([pruned_history, nothing_past_retention],
                             resources={"platform": platform}, instance=instance)
    assert result.success
    [mat] = result.asset_materializations_for_node("pruned_history")
    assert mat.metadata["webhook_events_deleted"].value == 1
    assert mat.metadata["sync_tasks_deleted"].value == 2
    [check] = result.get_asset_check_evaluations()
    assert check.passed
    assert sorted(d["_id"] for d in db[c.WEBHOOK_EVENTS].find({})) == \
        ["applied-6d", "pending-30d"]
    assert sorted(d["_id"] for d in db[c.SYNC_TASKS].find({})) == ["ok-89d", "running-100d"]


def test_the_check_names_what_is_left_past_retention(db, settings):
    _event(db, "applied-10d", 10, True)
    _task(db, "ok-200d", 200, "cancelled")
    platform = PlatformResource.of(settings)
    check = nothing_past_retention(platform=platform)
    assert not check.passed
    assert check.metadata["webhook_events_past_retention"].value == 1
    assert check.metadata["sync_tasks_past_retention"].value == 1


def test_retention_runs_nightly_by_itself():
    schedule = defs.resolve_schedule_def("retention_schedule")
    assert schedule.default_status.value == "RUNNING"
    assert schedule.job_name == "retention_job"
