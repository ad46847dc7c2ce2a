"""Billing: the monthly invoices asset (with its totals check), job and schedule
(``pc_core.billing``)."""

from dagster import Definitions

from pc_pipelines.billing.assets import monthly_invoices
from pc_pipelines.billing.jobs import monthly_invoices_job, monthly_invoices_schedule

defs = Definitions(assets=[monthly_invoices], jobs=[monthly_invoices_job],
                   schedules=[monthly_invoices_schedule])
