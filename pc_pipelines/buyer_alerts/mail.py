"""The backstop of the saved searches' e-mails: ``buyer_alert_mail_sensor`` launches
``buyer_alert_mail_job`` only for e-mails the worker's alert lane left waiting
(``pc worker`` down, or a backlog) for longer than ``backstop_after_seconds``; the
run drains them through the same ``mail_queue.drain`` (claims included), so it
never sends what a live worker sends. One run at a time; a batch is requested once
per ``RETRY_AFTER_S`` (``pc_pipelines.lib.fanout.backstop_run``, as the sale
delivery's backstop).
"""

from datetime import timedelta

from dagster import (
    DefaultSensorStatus,
    OpExecutionContext,
    SensorEvaluationContext,
    in_process_executor,
    job,
    op,
    sensor,
)

from pc_core.buyer_alerts import mail_queue
from pc_core.timeutil import utcnow
from pc_pipelines.lib.fanout import backstop_run
from pc_pipelines.lib.run_tags import TRIGGER_TAG
from pc_pipelines.resources import PlatformResource

PEEK = 1000
RETRY_AFTER_S = 60.0
RUN_BUDGET_S = 600.0


@op(description="Send the saved searches' e-mails waiting in the queue.")
def send_alert_mails(context: OpExecutionContext, platform: PlatformResource) -> None:
    report = mail_queue.drain(platform.db(), platform.settings(), budget_s=RUN_BUDGET_S)
    context.log.info(f"{report.sent} e-mails sent ({report.retaken} retaken from a "
                     f"stopped sender) in {report.batches} batches")


@job(description="Send saved-search e-mails the worker left waiting (backstop).",
     tags={"dagster/max_runtime": 900}, executor_def=in_process_executor)
def buyer_alert_mail_job() -> None:
    send_alert_mails()


@sensor(job=buyer_alert_mail_job, minimum_interval_seconds=10,
        default_status=DefaultSensorStatus.RUNNING)
def buyer_alert_mail_sensor(context: SensorEvaluationContext, platform: PlatformResource):
    """One drain run when e-mails have waited past the backstop delay, unless one runs."""
    left_behind = utcnow() - timedelta(seconds=platform.settings().backstop_after_seconds)
    waiting = mail_queue.waiting(platform.db(), left_behind, limit=PEEK)
    return backstop_run(
        context, buyer_alert_mail_job.name, pending=[d["_id"] for d in waiting],
        prefix="alert-mail", retry_after_s=RETRY_AFTER_S,
        idle="no saved-search e-mail left waiting by the worker", noun="waiting",
        run_name="drain", tags={TRIGGER_TAG: "alert-mail", "pc/emails": str(len(waiting))})
