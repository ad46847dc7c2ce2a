"""The Dagster code location loaded by ``dagster dev -w workspace.yaml``."""

from dagster import Definitions

from pc_pipelines import analytics
from pc_pipelines.assets.billing import monthly_invoices
from pc_pipelines.assets.hubspot import (
    hubspot_contacts,
    hubspot_deals,
    hubspot_pipelines,
    leads,
    no_unmapped_stages,
)
from pc_pipelines.assets.sync_back import cross_partner_sync, hubspot_pushback
from pc_pipelines.jobs.billing import monthly_invoices_job, monthly_invoices_schedule
from pc_pipelines.jobs.crm_delivery import crm_delivery_job
from pc_pipelines.jobs.hubspot_sync import hubspot_sync_job, hubspot_sync_schedule
from pc_pipelines.jobs.hubspot_webhooks import hubspot_webhook_job
from pc_pipelines.jobs.lead_rebuild import lead_rebuild_job
from pc_pipelines.jobs.maintenance import ensure_indexes_job
from pc_pipelines.jobs.reminders import daily_reminders_job, daily_reminders_schedule
from pc_pipelines.jobs.reservations import reservation_expiry_job, reservation_expiry_schedule
from pc_pipelines.jobs.sync_back import cross_partner_sync_job, hubspot_pushback_job
from pc_pipelines.resources import default_resources
from pc_pipelines.sensors.alerts import run_failure_alert_sensor, run_success_outcome_sensor
from pc_pipelines.sensors.crm_delivery import crm_delivery_sensor
from pc_pipelines.sensors.hubspot import (
    hubspot_sync_failure_sensor,
    hubspot_sync_requests_sensor,
    partners_sensor,
)
from pc_pipelines.sensors.hubspot_webhooks import hubspot_webhook_sensor
from pc_pipelines.sensors.lead_rebuild import lead_rebuild_sensor
from pc_pipelines.sensors.sync_back import cross_partner_sensor, hubspot_pushback_sensor

defs = Definitions(
    # hubspot_pushback and cross_partner_sync are in the "hubspot" group: the 15-minute
    # sync job runs them after the leads, their sensors run them alone on changes.
    assets=[hubspot_pipelines, hubspot_contacts, hubspot_deals, leads, hubspot_pushback,
            cross_partner_sync, monthly_invoices, *analytics.ASSETS],
    asset_checks=[no_unmapped_stages, *analytics.ASSET_CHECKS],
    jobs=[hubspot_sync_job, reservation_expiry_job, ensure_indexes_job, hubspot_webhook_job,
          hubspot_pushback_job, cross_partner_sync_job, monthly_invoices_job,
          daily_reminders_job, crm_delivery_job, lead_rebuild_job, *analytics.JOBS],
    schedules=[hubspot_sync_schedule, reservation_expiry_schedule, monthly_invoices_schedule,
               daily_reminders_schedule, *analytics.SCHEDULES],
    sensors=[partners_sensor, hubspot_sync_requests_sensor, hubspot_sync_failure_sensor,
             hubspot_webhook_sensor, hubspot_pushback_sensor, cross_partner_sensor,
             crm_delivery_sensor, lead_rebuild_sensor, run_failure_alert_sensor,
             run_success_outcome_sensor,
             *analytics.SENSORS],
    resources={**default_resources(), **analytics.resources()},
)
