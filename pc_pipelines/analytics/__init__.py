"""The analytics feature of the Dagster code location: stage history, marketplace
lineage, funnel, data-quality checks, the Parquet warehouse, exposed as ``defs``;
the domain logic is in ``pc_core.analytics``."""

from dagster import Definitions

from pc_pipelines.analytics.assets import (
    lead_stage_history,
    marketplace_listings,
    marketplace_purchases,
    partner_funnel,
)
from pc_pipelines.analytics.checks import ASSET_CHECKS
from pc_pipelines.analytics.jobs import analytics_job, data_quality_job, data_quality_schedule
from pc_pipelines.analytics.sensors import analytics_sensor, purchases_outbox_sensor
from pc_pipelines.analytics.warehouse import IO_MANAGER_KEY, warehouse_io_manager

ASSETS = [lead_stage_history, marketplace_listings, marketplace_purchases, partner_funnel]
JOBS = [analytics_job, data_quality_job]
SCHEDULES = [data_quality_schedule]
SENSORS = [analytics_sensor, purchases_outbox_sensor]


def resources() -> dict:
    """The warehouse IO manager (``PC_WAREHOUSE_URL``, default ``.pc/warehouse``)."""
    return {IO_MANAGER_KEY: warehouse_io_manager()}


defs = Definitions(assets=ASSETS, asset_checks=ASSET_CHECKS, jobs=JOBS, schedules=SCHEDULES,
                   sensors=SENSORS, resources=resources())

__all__ = ["ASSETS", "ASSET_CHECKS", "JOBS", "SCHEDULES", "SENSORS", "defs", "resources"]
