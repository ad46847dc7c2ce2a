"""Daily reminders at 09:00 UTC: reservations expiring within 24 h (buyer),
unmapped HubSpot stages (admins), tomorrow's meetings (the partner). Each email
has a dedupe key, so a second run the same day (a retry, a manual launch) sends
nothing again.
"""

from dagster import (
    DefaultScheduleStatus,
    OpExecutionContext,
    RunRequest,
    ScheduleEvaluationContext,
    job,
    op,
    schedule,
)

from pc_core.reminders.daily import run_daily_reminders
from pc_pipelines.resources import PlatformResource


@op(description="Send the day's reminders, once each.")
def daily_reminders_op(context: OpExecutionContext, platform: PlatformResource) -> None:
    report = run_daily_reminders(platform.db(), platform.settings())
    context.log.info(f"sent: reservations {report.reservations}, unmapped stages "
                     f"{report.unmapped_stages}, meetings {report.meetings}")


@job(description="Daily reminders (09:00 UTC).", tags={"dagster/max_runtime": 1800})
def daily_reminders_job() -> None:
    daily_reminders_op()


@schedule(name="daily_reminders_schedule", job=daily_reminders_job, cron_schedule="0 9 * * *",
          execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING)
def daily_reminders_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """One run per day; the run key makes a daemon restart not double a day."""
    when = context.scheduled_execution_time
    return RunRequest(run_key=f"daily-reminders:{when:%Y-%m-%d}" if when else None)
