"""The analytics run of one partner (stage history, listings, funnel, with their
checks: a blocking failure skips the funnel) and the five-minute data-quality run."""

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    in_process_executor,
    schedule,
)

from pc_pipelines.analytics.assets import lead_stage_history, marketplace_listings, partner_funnel
from pc_pipelines.analytics.checks import GLOBAL_CHECKS, no_lead_sold_twice
from pc_pipelines.lib.partitions import partners_partitions

analytics_job = define_asset_job(
    "analytics_job",
    selection=AssetSelection.assets(lead_stage_history, marketplace_listings, partner_funnel)
    | AssetSelection.checks(no_lead_sold_twice),
    partitions_def=partners_partitions,
    # Small steps over one partner: one process, not a process per step (each would
    # import Dagster and polars again).
    executor_def=in_process_executor,
    description="One partner's stage history (from HubSpot's property history), "
                "marketplace listings and daily funnel, with their checks.",
)

data_quality_job = define_asset_job(
    "data_quality_job",
    selection=AssetSelection.checks(*GLOBAL_CHECKS),
    executor_def=in_process_executor,
    description="Platform-wide data checks: no lead sold twice, invoices add up, "
                "partners synced within 30 minutes, webhook inbox under a minute.",
)


@schedule(job=data_quality_job, cron_schedule="*/5 * * * *", execution_timezone="UTC",
          default_status=DefaultScheduleStatus.RUNNING)
def data_quality_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    when = context.scheduled_execution_time
    return RunRequest(run_key=f"data-quality:{when.isoformat()}" if when else None)
