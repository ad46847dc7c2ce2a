"""Run outcomes: the failure alert and the figures behind ``pc_dagster_job_*``.

``run_failure_alert_sensor`` (every job of this code location, RUNNING by default),
for each failed run:

1. records the outcome (``pc_core.observability.job_outcomes``), so ``/metrics``
   shows ``pc_dagster_job_last_run_success{job} 0``;
2. when the run was for a partner's HubSpot work (its ``pc/partner_id`` tag or its
   partner partition), marks that partner's sync failed
   (``pc_core.hubspot.connection.sync_health``): ``GET /v1/integrations/hubspot/status`` answers
   ``sync_status: "failed"`` with the job and the reason until the next good pull;
3. emails the operator through pc_core's mailer
   (``pc_core.observability.operator_alerts``), once per run.

``run_success_outcome_sensor`` records successful runs, so the last outcome per job
is complete. Both cursors are Dagster's own (each run is seen once); recording is
idempotent per run id besides.
"""

from __future__ import annotations

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    run_failure_sensor,
    run_status_sensor,
)

from pc_core.hubspot.connection import sync_health
from pc_core.observability import job_outcomes
from pc_core.observability import operator_alerts as alerts
from pc_pipelines.lib.run_tags import HUBSPOT_JOBS, partner_of_run
from pc_pipelines.resources import PlatformResource


def _reason(context: RunFailureSensorContext) -> str:
    """Why the run failed: the run's failure message and each failed step's error (the
    run message alone only names the steps)."""
    parts = [(context.failure_event.message if context.failure_event else None) or "run failed"]
    try:
        step_events = context.get_step_failure_events()
    except Exception:  # noqa: BLE001 - the reason is best effort; the alert is not
        step_events = []
    for event in step_events[:3]:
        error = event.step_failure_data.error if event.step_failure_data else None
        while error is not None and error.cause is not None:  # past Dagster's wrapper
            error = error.cause
        if error is not None:
            parts.append(f"{event.step_key}: {error.message.strip()}")
    return "\n".join(parts)


@run_failure_sensor(name="run_failure_alert_sensor", default_status=DefaultSensorStatus.RUNNING,
                    minimum_interval_seconds=15)
def run_failure_alert_sensor(context: RunFailureSensorContext, platform: PlatformResource) -> None:
    """Email the operator and mark the partner's sync failed for every failed run."""
    run = context.dagster_run
    message = _reason(context)
    partner_id = partner_of_run(run.job_name, run.tags)
    db = platform.db()
    job_outcomes.record_outcome(db, run.job_name, run.run_id, job_outcomes.FAILURE,
                                partner_id=partner_id, message=message)
    if partner_id and run.job_name in HUBSPOT_JOBS:
        sync_health.mark_sync_failed(db, partner_id, job=run.job_name, run_id=run.run_id,
                                     error=message)
    alerts.notify_run_failed(db, platform.settings(), job=run.job_name, run_id=run.run_id,
                             partner_id=partner_id, error=message)
    context.log.info(f"alerted on failed run {run.run_id} of {run.job_name}")


@run_status_sensor(name="run_success_outcome_sensor", run_status=DagsterRunStatus.SUCCESS,
                   default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=15)
def run_success_outcome_sensor(context: RunStatusSensorContext, platform: PlatformResource) -> None:
    """Record every successful run's outcome for ``pc_dagster_job_*``."""
    run = context.dagster_run
    job_outcomes.record_outcome(platform.db(), run.job_name, run.run_id, job_outcomes.SUCCESS,
                                partner_id=partner_of_run(run.job_name, run.tags))
