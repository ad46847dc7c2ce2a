"""The tags that the run coordinator's concurrency limits key on.

``deploy/dagster-values.yaml`` (QueuedRunCoordinator ``tagConcurrencyLimits``):

- ``pc/partner_id`` with ``applyLimitPerUniqueValue`` and limit 1: one HubSpot run
  (pull, webhook apply, pushback, cross-partner) per partner at a time, since
  HubSpot's limits are per portal and two runs of one partner would race on its
  cursors;
- ``pc/hubspot``: a global cap on concurrent HubSpot runs, so the sum of the pulls
  stays inside the app's request budget.

Every run request of a HubSpot job carries ``partner_tags(partner_id)``; the jobs
themselves carry ``HUBSPOT_JOB_TAGS``, so a run launched from the Dagster UI counts
against the global cap too. ``partner_of_run`` tells which partner a finished run
was for (alerts).
"""

from __future__ import annotations

from collections.abc import Mapping

PARTNER_TAG = "pc/partner_id"
HUBSPOT_TAG = "pc/hubspot"
PARTITION_TAG = "dagster/partition"
HUBSPOT_JOB_TAGS: dict[str, str] = {HUBSPOT_TAG: "true"}

#: Jobs whose runs talk to HubSpot for one partner (their partition is a partner).
HUBSPOT_JOBS = frozenset({
    "hubspot_sync_job", "hubspot_webhook_job", "hubspot_pushback_job", "cross_partner_sync_job",
})


def partner_tags(partner_id: str, **more: str) -> dict[str, str]:
    """Tags of a run request for one partner's HubSpot work."""
    return {PARTNER_TAG: partner_id, **HUBSPOT_JOB_TAGS, **more}


def partner_of_run(job_name: str, tags: Mapping[str, str]) -> str | None:
    """The partner a run was for: its partner tag, else (HubSpot jobs, which are
    partitioned by partner) its partition key."""
    if tags.get(PARTNER_TAG):
        return tags[PARTNER_TAG]
    if job_name in HUBSPOT_JOBS and tags.get(PARTITION_TAG):
        return tags[PARTITION_TAG]
    return None
