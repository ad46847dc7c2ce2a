"""HubSpot sync: per-partner pulls (pipelines, contacts, deals) and the stage-mapped
lead table, the 15-minute schedule, the partner partitions' upkeep, Sync Now
requests and failed pulls. Domain logic: ``pc_core.hubspot`` and ``pc_core.sync.runs``."""

from dagster import Definitions

from pc_pipelines.hubspot_sync.assets import (
    hubspot_contacts,
    hubspot_deals,
    hubspot_pipelines,
    leads,
)
from pc_pipelines.hubspot_sync.checks import no_unmapped_stages
from pc_pipelines.hubspot_sync.jobs import hubspot_sync_job
from pc_pipelines.hubspot_sync.schedules import hubspot_sync_schedule
from pc_pipelines.hubspot_sync.sensors import (
    hubspot_sync_failure_sensor,
    hubspot_sync_requests_sensor,
    partners_sensor,
)

defs = Definitions(
    assets=[hubspot_pipelines, hubspot_contacts, hubspot_deals, leads],
    asset_checks=[no_unmapped_stages],
    jobs=[hubspot_sync_job],
    schedules=[hubspot_sync_schedule],
    sensors=[partners_sensor, hubspot_sync_requests_sensor, hubspot_sync_failure_sensor],
)
