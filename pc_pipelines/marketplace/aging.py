"""Aging prices, hourly: due weekly price drops are applied and reach saved searches
and standing orders (``pc_core.marketplace.price_drops``). Job ``price_aging_job``,
schedule ``price_aging`` (running by default)."""

from dagster import (
    DefaultScheduleStatus,
    OpExecutionContext,
    RunRequest,
    ScheduleEvaluationContext,
    job,
    op,
    schedule,
)

from pc_core.buyer_alerts import dispatch
from pc_core.marketplace.price_drops import apply_drops
from pc_pipelines.lib.run_keys import scheduled_run_key
from pc_pipelines.resources import PlatformResource

#: Drops applied in this run reach the alerts (pc_core.buyer_alerts.dispatch).
LISTING_HOOK = dispatch.on_listed


@op(description="Apply the sellers' due weekly price drops.")
def apply_price_drops_op(context: OpExecutionContext, platform: PlatformResource) -> None:
    report = apply_drops(platform.db(), platform.settings())
    context.log.info(f"{report.dropped} prices dropped for {report.sellers} sellers "
                     f"({report.lost_races} left for the next run after a concurrent change)")


@job(description="Hourly: aging prices.", tags={"dagster/max_runtime": 900})
def price_aging_job() -> None:
    apply_price_drops_op()


@schedule(name="price_aging", job=price_aging_job, cron_schedule="7 * * * *",
          execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING)
def price_aging_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    return RunRequest(run_key=scheduled_run_key(context, "price-aging"))
