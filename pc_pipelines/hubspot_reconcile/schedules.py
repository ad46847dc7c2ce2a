"""Daily reconciliation of every partner whose HubSpot connection can sync."""

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from pc_core.hubspot.connection.oauth import connected_partner_ids
from pc_pipelines.hubspot_reconcile.jobs import hubspot_reconcile_job
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.lib.run_tags import TRIGGER_TAG, partner_tags
from pc_pipelines.resources import PlatformResource


@schedule(job=hubspot_reconcile_job, cron_schedule="30 3 * * *", execution_timezone="UTC",
          default_status=DefaultScheduleStatus.RUNNING)
def hubspot_reconcile_schedule(context: ScheduleEvaluationContext,
                               platform: PlatformResource):
    """At 03:30 UTC, one reconciliation run per connected partner (a partition)."""
    stamp = context.scheduled_execution_time.date().isoformat() \
        if context.scheduled_execution_time else "manual"
    known = set(context.instance.get_dynamic_partitions(partners_partitions.name))
    for partner_id in connected_partner_ids(platform.db()):
        if partner_id not in known:
            continue  # partners_sensor adds it within seconds; tomorrow it is in
        yield RunRequest(partition_key=partner_id, run_key=f"reconcile:{partner_id}:{stamp}",
                         tags=partner_tags(partner_id, **{TRIGGER_TAG: "reconcile"}))
