"""The reconciliation job: one partner per run (its partition), on demand from the
Dagster UI (launch a partition) or daily from the schedule."""

from dagster import AssetSelection, define_asset_job

from pc_pipelines.hubspot_reconcile.assets import GROUP
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.lib.run_tags import HUBSPOT_JOB_TAGS

hubspot_reconcile_job = define_asset_job(
    "hubspot_reconcile_job",
    selection=AssetSelection.groups(GROUP),
    partitions_def=partners_partitions,
    description="Compare one partner's HubSpot deals with ours and heal the drift.",
    tags=HUBSPOT_JOB_TAGS,
)
