"""CRM delivery: a completed sale reaches its buyer's HubSpot by itself (one run for
every sale due, a buyer per worker; ``pc_core.hubspot.sync_back.sale_delivery``)."""

from dagster import Definitions

from pc_pipelines.crm_delivery.jobs import crm_delivery_job
from pc_pipelines.crm_delivery.sensors import crm_delivery_sensor

defs = Definitions(jobs=[crm_delivery_job], sensors=[crm_delivery_sensor])
