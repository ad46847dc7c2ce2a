"""Reservation expiry, every minute: lapsed reservations end and their leads go
back on the marketplace (``lead-listed``), the reservation-expiring email goes out
a day ahead, failed emails are retried, and a booked meeting's lead-assigned notice
that a dead API process never recorded is sent (``pc_core.meetings.notify``).

Job ``reservation_expiry_job``, schedule ``reservation_expiry`` (the Python name
``reservation_expiry_schedule``). Both need only the ``platform`` resource, whose
settings carry Redis (events) and Mailgun from the same environment as the API
(``REDIS_URL``, ``PC_MAILGUN_*``).
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

from pc_core.mail.mailer import retry_failed_emails
from pc_core.marketplace.expiry import expire_reservations
from pc_core.meetings.notify import resume_pending
from pc_pipelines.lib.run_keys import scheduled_run_key
from pc_pipelines.resources import PlatformResource


@op(description="End lapsed reservations, relist their leads, send expiry reminders.")
def expire_reservations_op(context: OpExecutionContext, platform: PlatformResource) -> None:
    report = expire_reservations(platform.db(), platform.settings())
    context.log.info(
        f"expired {report.expired}, held for a pending payment {report.held_for_payment}, "
        f"reminded {report.reminded}, orphan leads relisted {report.orphans_relisted}"
    )


@op(description="Resend emails whose Mailgun send failed, after their back-off.")
def retry_failed_emails_op(context: OpExecutionContext, platform: PlatformResource) -> None:
    sent = retry_failed_emails(platform.db(), platform.settings())
    context.log.info(f"resent {sent} failed emails")


@op(description="Send booked meetings' lead-assigned notices a dead API process left "
                "unrecorded; clear the settled ones' flags.")
def resume_meeting_notices_op(context: OpExecutionContext, platform: PlatformResource) -> None:
    sent = resume_pending(platform.db(), platform.settings())
    context.log.info(f"resumed {sent} lead-assigned notices")


@job(description="Every minute: reservation expiry and reminders, email retries, "
                 "meeting notices left unsent.",
     tags={"dagster/max_runtime": 300})
def reservation_expiry_job() -> None:
    expire_reservations_op()
    retry_failed_emails_op()
    resume_meeting_notices_op()


@schedule(name="reservation_expiry", job=reservation_expiry_job, cron_schedule="* * * * *",
          execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING)
def reservation_expiry_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """One run per minute; the run key makes a daemon restart not double a minute."""
    return RunRequest(run_key=scheduled_run_key(context, "reservation-expiry"))
