"""Daily reminders at 09:00 UTC (``pc_core.reminders``)."""

from dagster import Definitions

from pc_pipelines.reminders.jobs import daily_reminders_job, daily_reminders_schedule

defs = Definitions(jobs=[daily_reminders_job], schedules=[daily_reminders_schedule])
