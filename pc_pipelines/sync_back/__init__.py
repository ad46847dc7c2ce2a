"""Sync back to HubSpot: platform lead edits to the partner's deals (pushback) and a
bought lead's progress in the buyer's CRM to the seller (cross-partner), with the
sensors that launch one multi-partner run of each when there is something to write."""

from dagster import Definitions

from pc_pipelines.sync_back.assets import cross_partner_sync, hubspot_pushback
from pc_pipelines.sync_back.jobs import cross_partner_sync_job, hubspot_pushback_job
from pc_pipelines.sync_back.sensors import cross_partner_sensor, hubspot_pushback_sensor

defs = Definitions(
    assets=[hubspot_pushback, cross_partner_sync],
    jobs=[hubspot_pushback_job, cross_partner_sync_job],
    sensors=[hubspot_pushback_sensor, cross_partner_sensor],
)
