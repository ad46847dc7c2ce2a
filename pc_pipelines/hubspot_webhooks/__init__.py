"""HubSpot webhooks: the sensor on the webhook inbox and the run that applies every
partner's pending events (``pc_core.hubspot.webhooks.apply``, ``partner_runs``)."""

from dagster import Definitions

from pc_pipelines.hubspot_webhooks.jobs import hubspot_webhook_job
from pc_pipelines.hubspot_webhooks.sensors import hubspot_webhook_sensor

defs = Definitions(jobs=[hubspot_webhook_job], sensors=[hubspot_webhook_sensor])
