"""HubSpot sync sensors: keep the ``partners`` partitions in step with connected partners,
and launch "Sync Now" requests queued by the API."""

from dagster import (
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    run_failure_sensor,
    sensor,
)

from pc_core.hubspot.connection.oauth import connected_partner_ids, linked_partner_ids
from pc_core.sync import runs as sync_runs
from pc_core.sync import tasks as sync_tasks
from pc_pipelines.hubspot_sync.jobs import hubspot_sync_job
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.lib.run_tags import TASK_TAG, TRIGGER_TAG, partner_tags
from pc_pipelines.resources import PlatformResource


@sensor(job=hubspot_sync_job, minimum_interval_seconds=10,
        default_status=DefaultSensorStatus.RUNNING)
def partners_sensor(context: SensorEvaluationContext, platform: PlatformResource) -> SensorResult:
    """Add a partition for each newly connected partner (and run its first, full
    sync); drop the partitions of partners that disconnected. A connection waiting
    for a reconnect keeps its partition (and its run history)."""
    connected = set(linked_partner_ids(platform.db()))
    known = set(context.instance.get_dynamic_partitions(partners_partitions.name))
    added, removed = sorted(connected - known), sorted(known - connected)
    requests = []
    if added:
        requests.append(partners_partitions.build_add_request(added))
    if removed:
        requests.append(partners_partitions.build_delete_request(removed))
    runs = [RunRequest(partition_key=p, run_key=f"connect:{p}",
                       tags=partner_tags(p, **{TRIGGER_TAG: "connect"})) for p in added]
    return SensorResult(run_requests=runs, dynamic_partitions_requests=requests)


@sensor(job=hubspot_sync_job, minimum_interval_seconds=5,
        default_status=DefaultSensorStatus.RUNNING)
def hubspot_sync_requests_sensor(
    context: SensorEvaluationContext, platform: PlatformResource
) -> SensorResult:
    """Launch queued "Sync Now" requests; the task id is the run key, so a request
    is launched once however often the sensor sees it."""
    db = platform.db()
    known = set(context.instance.get_dynamic_partitions(partners_partitions.name))
    connected = set(connected_partner_ids(db))
    runs, add = [], []
    for task in sync_tasks.queued_manual_tasks(db):
        partner_id = task["partner_id"]
        if partner_id not in connected:
            sync_runs.cancel_task(db, platform.settings(), task["_id"])
            continue
        if partner_id not in known:
            add.append(partner_id)
            known.add(partner_id)
        runs.append(RunRequest(partition_key=partner_id, run_key=task["_id"],
                               tags=partner_tags(partner_id, **{TASK_TAG: task["_id"],
                                                                TRIGGER_TAG: task["trigger"]})))
    requests = [partners_partitions.build_add_request(add)] if add else []
    return SensorResult(run_requests=runs, dynamic_partitions_requests=requests)


@run_failure_sensor(monitored_jobs=[hubspot_sync_job],
                    default_status=DefaultSensorStatus.RUNNING)
def hubspot_sync_failure_sensor(context: RunFailureSensorContext,
                                platform: PlatformResource) -> None:
    """A failed sync run marks its sync task failed, with the reason."""
    run = context.dagster_run
    sync_runs.fail_run(platform.db(), platform.settings(), run_id=run.run_id,
                       task_id=run.tags.get(TASK_TAG),
                       message=context.failure_event.message or "run failed")
