"""The 15-minute incremental sync: one run per connected partner (its partition)."""

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from pc_pipelines.hubspot_sync.jobs import hubspot_sync_job
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.lib.run_tags import TRIGGER_TAG, partner_tags


@schedule(job=hubspot_sync_job, cron_schedule="*/15 * * * *", execution_timezone="UTC",
          default_status=DefaultScheduleStatus.RUNNING)
def hubspot_sync_schedule(context: ScheduleEvaluationContext):
    """Every 15 minutes, an incremental sync of every connected partner."""
    stamp = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time \
        else "manual"
    for partner_id in context.instance.get_dynamic_partitions(partners_partitions.name):
        yield RunRequest(
            partition_key=partner_id,
            run_key=f"{partner_id}:{stamp}",
            tags=partner_tags(partner_id, **{TRIGGER_TAG: "schedule"}),
        )
