"""The 15-minute incremental sync: one run per connected partner (its partition)."""

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from pc_core.hubspot.connection.oauth import reconnect_waiting_ids
from pc_pipelines.hubspot_sync.jobs import hubspot_sync_job
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.lib.run_tags import TRIGGER_TAG, partner_tags
from pc_pipelines.resources import PlatformResource


@schedule(job=hubspot_sync_job, cron_schedule="*/15 * * * *", execution_timezone="UTC",
          default_status=DefaultScheduleStatus.RUNNING)
def hubspot_sync_schedule(context: ScheduleEvaluationContext, platform: PlatformResource):
    """Every 15 minutes, an incremental sync of every connected partner; one whose
    token HubSpot refused waits for its reconnect instead (no retry loop)."""
    waiting = reconnect_waiting_ids(platform.db())
    stamp = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time \
        else "manual"
    for partner_id in context.instance.get_dynamic_partitions(partners_partitions.name):
        if partner_id in waiting:
            continue
        yield RunRequest(
            partition_key=partner_id,
            run_key=f"{partner_id}:{stamp}",
            tags=partner_tags(partner_id, **{TRIGGER_TAG: "schedule"}),
        )
