"""Monthly invoices: the partitioned job and its schedule (the 1st, 00:00 UTC,
for the month that just ended). Backfills of any month run from the Dagster UI
on the ``monthly_invoices`` asset or this job.
"""

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    build_schedule_from_partitioned_job,
    define_asset_job,
)

from pc_pipelines.billing.assets import monthly_invoices, monthly_partitions

monthly_invoices_job = define_asset_job(
    "monthly_invoices_job",
    selection=AssetSelection.assets(monthly_invoices),
    partitions_def=monthly_partitions,
    description="Build, send and close every partner's invoice for one month.",
)

# A monthly partitioned job's schedule targets the previous (just completed) month.
monthly_invoices_schedule = build_schedule_from_partitioned_job(
    monthly_invoices_job, name="monthly_invoices_schedule",
    day_of_month=1, hour_of_day=0, minute_of_hour=0,
    default_status=DefaultScheduleStatus.RUNNING,
)
