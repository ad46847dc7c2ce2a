"""The daily digest of saved-search matches, at 07:00 UTC (job
``buyer_alert_digest_job``, schedule ``buyer_alert_digest``, running by default)."""

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
from pc_core.buyer_alerts.digests import send_digests
from pc_pipelines.lib.run_keys import scheduled_run_key
from pc_pipelines.resources import PlatformResource

#: Leads listed in Dagster's runs reach the alerts (pc_core.buyer_alerts.dispatch).
LISTING_HOOK = dispatch.on_listed


@op(description="Send each user's digest of the day's saved-search matches.")
def send_digests_op(context: OpExecutionContext, platform: PlatformResource) -> None:
    context.log.info(f"sent {send_digests(platform.db(), platform.settings())} digests")


@job(description="Daily: saved-search digests.", tags={"dagster/max_runtime": 900})
def buyer_alert_digest_job() -> None:
    send_digests_op()


@schedule(name="buyer_alert_digest", job=buyer_alert_digest_job, cron_schedule="0 7 * * *",
          execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING)
def buyer_alert_digest_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    return RunRequest(run_key=scheduled_run_key(context, "buyer-alert-digest"))
