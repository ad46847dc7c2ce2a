"""Database maintenance: the index job (``pc_core.store.indexes``) and the nightly
retention asset (``retention``)."""

from dagster import Definitions

from pc_pipelines.maintenance.jobs import ensure_indexes_job
from pc_pipelines.maintenance.retention import (
    nothing_past_retention,
    pruned_history,
    retention_job,
    retention_schedule,
)

defs = Definitions(assets=[pruned_history], asset_checks=[nothing_past_retention],
                   jobs=[ensure_indexes_job, retention_job], schedules=[retention_schedule])
