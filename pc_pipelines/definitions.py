"""The Dagster code location loaded by ``dagster dev -w workspace.yaml``."""

from dagster import Definitions

from pc_pipelines.assets.billing import monthly_invoices
from pc_pipelines.assets.hubspot import (
    hubspot_contacts,
    hubspot_deals,
    hubspot_pipelines,
    leads,
    no_unmapped_stages,
)
from pc_pipelines.jobs.billing import monthly_invoices_job, monthly_invoices_schedule
from pc_pipelines.jobs.hubspot_sync import hubspot_sync_job, hubspot_sync_schedule
from pc_pipelines.jobs.hubspot_webhooks import hubspot_webhook_job
from pc_pipelines.jobs.maintenance import ensure_indexes_job
from pc_pipelines.jobs.reminders import daily_reminders_job, daily_reminders_schedule
from pc_pipelines.jobs.reservations import reservation_expiry_job, reservation_expiry_schedule
from pc_pipelines.resources import default_resources
from pc_pipelines.sensors.hubspot import (
    hubspot_sync_failure_sensor,
    hubspot_sync_requests_sensor,
    partners_sensor,
)
from pc_pipelines.sensors.hubspot_webhooks import hubspot_webhook_sensor

defs = Definitions(
    assets=[hubspot_pipelines, hubspot_contacts, hubspot_deals, leads, monthly_invoices],
    asset_checks=[no_unmapped_stages],
    jobs=[hubspot_sync_job, reservation_expiry_job, ensure_indexes_job, hubspot_webhook_job,
          monthly_invoices_job, daily_reminders_job],
    schedules=[hubspot_sync_schedule, reservation_expiry_schedule, monthly_invoices_schedule,
               daily_reminders_schedule],
    sensors=[partners_sensor, hubspot_sync_requests_sensor, hubspot_sync_failure_sensor,
             hubspot_webhook_sensor],
    resources=default_resources(),
)
