"""The HubSpot sync job (pipelines, contacts, deals → leads) and its 15-minute schedule."""

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from pc_pipelines.partitions import partners_partitions
from pc_pipelines.run_tags import HUBSPOT_JOB_TAGS, partner_tags
from pc_pipelines.sync_runs import TRIGGER_TAG

hubspot_sync_job = define_asset_job(
    "hubspot_sync_job",
    selection=AssetSelection.groups("hubspot"),
    partitions_def=partners_partitions,
    description="Pull one partner's HubSpot pipelines, contacts and deals; rebuild its leads.",
    tags=HUBSPOT_JOB_TAGS,
)


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
