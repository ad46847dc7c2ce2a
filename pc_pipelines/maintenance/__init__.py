"""Database maintenance: the index job (``pc_core.store.indexes``)."""

from dagster import Definitions

from pc_pipelines.maintenance.jobs import ensure_indexes_job

defs = Definitions(jobs=[ensure_indexes_job])
