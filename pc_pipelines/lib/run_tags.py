"""Run tags: what the run coordinator's concurrency limits key on, and what a run
tells the sync log (its trigger, the task it was launched for).

``deploy/dagster-values.yaml`` (QueuedRunCoordinator ``tagConcurrencyLimits``, the same
in ``deploy/dagster.yaml``):

- ``pc/partner_id`` with ``applyLimitPerUniqueValue`` and limit 1: one run of a
  partner's own (a pull: schedule, Sync Now, connect; a lead rebuild) at a time,
  since HubSpot's limits are per portal and two pulls would race on its cursors;
- ``pc/hubspot``: a global cap on concurrent HubSpot runs, so the sum of the pulls
  stays inside the app's request budget;
- ``pc/fanout`` with ``applyLimitPerUniqueValue`` and limit 1: one multi-partner run
  per job at a time (webhook apply, pushback, cross-partner). Those runs cover every
  partner with pending work, one partner per worker thread inside the run, so they
  carry no partner tag (it names one partner); their sensors launch at most one per
  tick and none while one is active, and this limit holds the same for UI launches.

Per-partner runs carry ``partner_tags(partner_id)``; multi-partner runs
``fanout_tags(job, partners)``; every HubSpot job carries ``HUBSPOT_JOB_TAGS`` itself,
so a run launched from the Dagster UI counts against the global cap too.
``partner_of_run`` tells which partner a finished run was for (alerts).
"""

from __future__ import annotations

from collections.abc import Mapping

PARTNER_TAG = "pc/partner_id"
HUBSPOT_TAG = "pc/hubspot"
FANOUT_TAG = "pc/fanout"
PARTNERS_TAG = "pc/partners"  # how many partners had pending work at launch (information)
PARTITION_TAG = "dagster/partition"
BACKFILL_TAG = "dagster/backfill"
TASK_TAG = "pc/sync_task_id"  # the queued sync task a Sync Now run was launched for
TRIGGER_TAG = "pc/trigger"
FULL_TAG = "pc/full"
HUBSPOT_JOB_TAGS: dict[str, str] = {HUBSPOT_TAG: "true"}

#: HubSpot jobs of one partner per run (partitioned by partner).
PARTNER_JOBS = frozenset({"hubspot_sync_job", "hubspot_reconcile_job"})
#: HubSpot jobs whose run covers every partner with pending work.
FANOUT_JOBS = frozenset({"hubspot_webhook_job", "hubspot_pushback_job",
                         "cross_partner_sync_job"})
#: Every job whose runs talk to HubSpot (all carry ``HUBSPOT_JOB_TAGS``).
HUBSPOT_JOBS = PARTNER_JOBS | FANOUT_JOBS


def partner_tags(partner_id: str, **more: str) -> dict[str, str]:
    """Tags of a run request for one partner's HubSpot work."""
    return {PARTNER_TAG: partner_id, **HUBSPOT_JOB_TAGS, **more}


def fanout_tags(job_name: str, partners: int, **more: str) -> dict[str, str]:
    """Tags of a multi-partner run request: the global cap and one per job at a time."""
    return {FANOUT_TAG: job_name, PARTNERS_TAG: str(partners), **HUBSPOT_JOB_TAGS, **more}


def trigger_of(tags: Mapping[str, str]) -> str:
    """The sync log's trigger for a run: a backfill, else its trigger tag."""
    return "backfill" if BACKFILL_TAG in tags else tags.get(TRIGGER_TAG, "dagster")


def partner_of_run(job_name: str, tags: Mapping[str, str]) -> str | None:
    """The partner a run was for: its partner tag, else (per-partner HubSpot jobs,
    which are partitioned by partner) its partition key. A multi-partner run has none:
    its partners' failures are on their own sync tasks."""
    if tags.get(PARTNER_TAG):
        return tags[PARTNER_TAG]
    if job_name in PARTNER_JOBS and tags.get(PARTITION_TAG):
        return tags[PARTITION_TAG]
    return None
