"""HubSpot reconciliation: the daily (and on-demand, per partner partition) comparison
of HubSpot's deals with ours, healing missed webhooks, missed search results,
deletions and removed stages; its check fails when drift was found. Domain logic:
``pc_core.hubspot.reconcile``."""

from dagster import Definitions

from pc_pipelines.hubspot_reconcile.assets import hubspot_reconciliation
from pc_pipelines.hubspot_reconcile.jobs import hubspot_reconcile_job
from pc_pipelines.hubspot_reconcile.schedules import hubspot_reconcile_schedule

defs = Definitions(
    assets=[hubspot_reconciliation],
    jobs=[hubspot_reconcile_job],
    schedules=[hubspot_reconcile_schedule],
)
