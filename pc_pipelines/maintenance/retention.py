"""Retention: ``pruned_history`` deletes processed webhook events and finished sync
tasks past their retention (``pc_core.store.retention``; settings
``webhook_event_retention_days``, ``sync_task_retention_days``), every night, so the
database stays flat however long the platform runs. Its check fails, naming the
counts, when anything past retention is still stored after the prune."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    DefaultScheduleStatus,
    MaterializeResult,
    ScheduleDefinition,
    asset,
    asset_check,
    define_asset_job,
)

from pc_core.store.retention import overdue, prune
from pc_pipelines.resources import PlatformResource

GROUP = "maintenance"


@asset(group_name=GROUP, kinds={"mongodb"},
       description="Processed webhook events and finished sync tasks past retention, "
                   "deleted (the counts are this asset's metadata).")
def pruned_history(context: AssetExecutionContext,
                   platform: PlatformResource) -> MaterializeResult:
    settings = platform.settings()
    result = prune(platform.db(), settings)
    context.log.info(f"deleted {result.webhook_events} webhook events, {result.sync_tasks} "
                     "sync tasks")
    return MaterializeResult(metadata={
        "webhook_events_deleted": result.webhook_events,
        "sync_tasks_deleted": result.sync_tasks,
        "webhook_event_retention_days": settings.webhook_event_retention_days,
        "sync_task_retention_days": settings.sync_task_retention_days,
    })


@asset_check(asset=pruned_history, description="Nothing past retention is still stored.")
def nothing_past_retention(platform: PlatformResource) -> AssetCheckResult:
    left = overdue(platform.db(), platform.settings())
    return AssetCheckResult(
        passed=not (left.webhook_events or left.sync_tasks),
        severity=AssetCheckSeverity.ERROR,
        metadata={"webhook_events_past_retention": left.webhook_events,
                  "sync_tasks_past_retention": left.sync_tasks})


retention_job = define_asset_job("retention_job", selection=[pruned_history],
                                 description="Prune history past retention.")

retention_schedule = ScheduleDefinition(
    name="retention_schedule", job=retention_job, cron_schedule="30 3 * * *",
    execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING)
