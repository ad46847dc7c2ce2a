"""The Dagster code location loaded by ``dagster dev -w workspace.yaml``."""

from __future__ import annotations

from dagster import Definitions

from pc_pipelines.jobs.maintenance import ensure_indexes_job
from pc_pipelines.resources import mongo_resource

defs = Definitions(
    jobs=[ensure_indexes_job],
    resources={"mongo": mongo_resource()},
)
