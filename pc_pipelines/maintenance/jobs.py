"""Database maintenance: create every declared index (also done at API start-up)."""

from dagster import OpExecutionContext, job, op

from pc_core.store.indexes import INDEXES, ensure_indexes
from pc_pipelines.resources import PlatformResource


@op
def create_indexes(context: OpExecutionContext, platform: PlatformResource) -> None:
    ensure_indexes(platform.db())
    context.log.info(f"indexes ensured on {len(INDEXES)} collections")

@job(description="Create every MongoDB index declared in pc_core.store.indexes.")
def ensure_indexes_job() -> None:
    create_indexes()
