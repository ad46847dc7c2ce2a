"""Marketplace upkeep: reservation expiry and reminders, failed email retries, every
minute (``pc_core.marketplace.expiry``, ``pc_core.mail.mailer``); aging prices' weekly
drops, hourly (``pc_core.marketplace.price_drops``); return deadlines every 15 minutes
(``pc_core.returns``)."""

from dagster import Definitions

from pc_pipelines.marketplace.aging import price_aging_job, price_aging_schedule
from pc_pipelines.marketplace.jobs import reservation_expiry_job, reservation_expiry_schedule
from pc_pipelines.marketplace.returns import return_deadlines_job, return_deadlines_schedule

defs = Definitions(jobs=[reservation_expiry_job, price_aging_job, return_deadlines_job],
                   schedules=[reservation_expiry_schedule, price_aging_schedule,
                              return_deadlines_schedule])
