"""Rebuild one partner's leads from the raw HubSpot deals already stored: what a
stage-mapping change needs (every deal's canonical stage may have moved), without
waiting for the next pull.

``put_stage_mapping`` marks the partner's raw deals dirty and records a rebuild
request (``pc_core.hubspot.lead_build.rebuild_requests``); ``lead_rebuild_sensor`` launches
``lead_rebuild_job``, which calls ``rebuild_leads`` here. No HubSpot call is needed
(only a contested field conflict reads HubSpot's history), so a HubSpot outage does
not hold the rebuild up. The run is a ``sync_task`` (trigger ``stage-mapping``).
"""

from __future__ import annotations

from pymongo.database import Database

from pc_core.hubspot.lead_build import rebuild_requests
from pc_core.hubspot.lead_build.lead_builder import LeadBuildStats, build_leads, publish_lead_events
from pc_core.settings import Settings
from pc_core.sync import tasks as sync_tasks

TRIGGER = "stage-mapping"


def rebuild_leads(db: Database, settings: Settings, partner_id: str, *,
                  run_id: str | None = None) -> tuple[str, LeadBuildStats]:
    """Build the partner's dirty deals into leads, publish the changes, and close the
    request this run answers; returns (sync task id, build figures)."""
    request = rebuild_requests.get(db, partner_id)
    task = sync_tasks.create_task(db, partner_id, trigger=(request or {}).get("reason")
                                  or TRIGGER, direction="pull", dagster_run_id=run_id,
                                  status="running")
    try:
        built = build_leads(db, partner_id, settings=settings, task_id=task["_id"])
    except Exception as exc:
        sync_tasks.add_counts(db, task["_id"], "failure", {"errors": 1},
                              [f"{type(exc).__name__}: {exc}"[:500]])
        sync_tasks.finish(db, task["_id"], "failed")
        raise
    sync_tasks.add_counts(db, task["_id"], "leads", {
        "created": built.created, "updated": built.updated, "unchanged": built.unchanged,
        "errors": len(built.errors), "listed": built.listed, "unmapped": built.unmapped,
    }, built.errors, kind="leads")
    publish_lead_events(db, settings, partner_id, built)
    sync_tasks.finish(db, task["_id"], "succeeded")
    if request is not None:
        rebuild_requests.finish(db, partner_id, request["request_id"])
    return task["_id"], built
