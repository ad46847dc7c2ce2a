"""``lead_rebuild_sensor``: a stage-mapping change reaches the partner's leads within
seconds, not at the next sync.

Every few seconds it reads the pending rebuild requests (``lead_rebuilds``, an
equality on the indexed ``status``) and requests one ``lead_rebuild_job`` run per
partner that has no rebuild in progress, keyed by the request id: a request is
launched once, a newer request launches again, and a request a failed run left
pending is retried after ``RETRY_AFTER_S`` (``pc_pipelines.lib.run_keys``).
"""

from __future__ import annotations

import time

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from pc_core.hubspot.lead_build import rebuild_requests
from pc_pipelines.lead_rebuild.jobs import PARTNER_TAG, lead_rebuild_job, rebuild_run_config
from pc_pipelines.lib.run_keys import RetryingKeys
from pc_pipelines.lib.run_tags import TRIGGER_TAG
from pc_pipelines.resources import PlatformResource

RETRY_AFTER_S = 60.0
ACTIVE = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
          DagsterRunStatus.STARTED]


def _run_active(context: SensorEvaluationContext, partner_id: str) -> bool:
    return bool(context.instance.get_runs(
        filters=RunsFilter(job_name=lead_rebuild_job.name, statuses=ACTIVE,
                           tags={PARTNER_TAG: partner_id}), limit=1))


@sensor(job=lead_rebuild_job, minimum_interval_seconds=5,
        default_status=DefaultSensorStatus.RUNNING)
def lead_rebuild_sensor(context: SensorEvaluationContext,
                        platform: PlatformResource) -> SensorResult:
    """One rebuild run per partner with a pending request."""
    requests = rebuild_requests.pending(platform.db())
    keys = RetryingKeys(context.cursor, RETRY_AFTER_S)
    keys.keep_only(r["partner_id"] for r in requests)
    now = time.time()
    runs = []
    for request in requests:
        partner_id = request["partner_id"]
        if _run_active(context, partner_id):
            continue
        key = keys.key_for(partner_id, f"rebuild:{partner_id}:{request['request_id']}", now)
        if key is None:
            continue
        runs.append(RunRequest(run_key=key, run_config=rebuild_run_config(partner_id),
                               tags={TRIGGER_TAG: request.get("reason") or "stage-mapping",
                                     PARTNER_TAG: partner_id}))
    return SensorResult(run_requests=runs, cursor=keys.cursor())
