"""Marketplace upkeep: reservation expiry and reminders, failed email retries, every
minute (``pc_core.marketplace.expiry``, ``pc_core.mail.mailer``)."""

from dagster import Definitions

from pc_pipelines.marketplace.jobs import reservation_expiry_job, reservation_expiry_schedule

defs = Definitions(jobs=[reservation_expiry_job], schedules=[reservation_expiry_schedule])
