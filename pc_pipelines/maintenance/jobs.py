"""Database maintenance: create every declared index (also done at API start-up), and
give documents written before they existed their derived fields (the known-contact
``match_keys``)."""

from dagster import OpExecutionContext, job, op

from pc_core.marketplace import known_contacts
from pc_core.store.indexes import INDEXES, ensure_indexes
from pc_pipelines.resources import PlatformResource


@op
def create_indexes(context: OpExecutionContext, platform: PlatformResource) -> None:
    ensure_indexes(platform.db())
    context.log.info(f"indexes ensured on {len(INDEXES)} collections")
    changed = known_contacts.backfill(platform.db())
    context.log.info(f"match_keys written on {changed} leads and HubSpot contacts")

@job(description="Create every MongoDB index declared in pc_core.store.indexes.")
def ensure_indexes_job() -> None:
    create_indexes()
