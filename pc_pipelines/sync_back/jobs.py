"""Jobs that write back to HubSpot on their own, launched by the sensors in
pc_pipelines/sensors/sync_back.py (the 15-minute sync job runs the same assets too)."""

from dagster import AssetSelection, define_asset_job

from pc_pipelines.partitions import partners_partitions
from pc_pipelines.run_tags import HUBSPOT_JOB_TAGS

hubspot_pushback_job = define_asset_job(
    "hubspot_pushback_job",
    selection=AssetSelection.assets("hubspot_pushback"),
    partitions_def=partners_partitions,
    description="Push one partner's platform lead edits to its HubSpot deals.",
    tags=HUBSPOT_JOB_TAGS,
)

cross_partner_sync_job = define_asset_job(
    "cross_partner_sync_job",
    selection=AssetSelection.assets("cross_partner_sync"),
    partitions_def=partners_partitions,
    description="Relay one buyer's HubSpot progress on bought leads to their sellers.",
    tags=HUBSPOT_JOB_TAGS,
)
