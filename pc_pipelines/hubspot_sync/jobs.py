"""The HubSpot sync job: pipelines, contacts, deals → leads, then the write-backs of
the ``hubspot`` group (``sync_back``), for one partner (its partition)."""

from dagster import AssetSelection, define_asset_job

from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.lib.run_tags import HUBSPOT_JOB_TAGS

hubspot_sync_job = define_asset_job(
    "hubspot_sync_job",
    selection=AssetSelection.groups("hubspot"),
    partitions_def=partners_partitions,
    description="Pull one partner's HubSpot pipelines, contacts and deals; rebuild its leads.",
    tags=HUBSPOT_JOB_TAGS,
)
