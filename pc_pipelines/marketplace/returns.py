"""Return deadlines, every 15 minutes: a return the seller left unanswered past its
``return_answer_days`` is accepted (silence accepts): the buyer is refunded, the lead
goes back to the seller (``pc_core.returns.flow.accept_overdue``).

Job ``return_deadlines_job``, schedule ``return_deadlines`` (on by default).
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

from pc_core.returns.flow import accept_overdue
from pc_pipelines.lib.run_keys import scheduled_run_key
from pc_pipelines.resources import PlatformResource


@op(description="Accept returns whose seller did not answer in time.")
def accept_overdue_returns_op(context: OpExecutionContext, platform: PlatformResource) -> None:
    context.log.info(f"accepted {accept_overdue(platform.db(), platform.settings())} overdue "
                     "returns")


@job(description="Every 15 minutes: returns the seller left unanswered are accepted.",
     tags={"dagster/max_runtime": 600})
def return_deadlines_job() -> None:
    accept_overdue_returns_op()


@schedule(name="return_deadlines", job=return_deadlines_job, cron_schedule="*/15 * * * *",
          execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING)
def return_deadlines_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    return RunRequest(run_key=scheduled_run_key(context, "return-deadlines"))
