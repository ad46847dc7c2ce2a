"""The hot-path worker's batches, in Dagster: each partner's applied webhook batch is
a runless materialisation of that partner's ``leads`` partition, each pushback or
relay batch one of its ``hubspot_pushback`` / ``cross_partner_sync`` partition
(``DagsterInstance.report_runless_asset_event``), so the assets' history, lineage,
freshness and checks show the worker's writes beside the runs'.

Runless events need no run, no code server and no pod: a row in the instance's event
log (Postgres in production, SQLite under ``DAGSTER_HOME`` in development).
"""

from __future__ import annotations

from dagster import AssetKey, AssetMaterialization, DagsterInstance, MetadataValue

from pc_core.worker.sync_back_lane import Pushed
from pc_core.worker.webhook_lane import Applied

LEADS = AssetKey("leads")


def leads_materialization(applied: Applied, holder: str) -> AssetMaterialization:
    """The ``leads`` partition of the partner, with the batch's figures."""
    figures = applied.figures()
    return AssetMaterialization(
        asset_key=LEADS, partition=applied.partner_id,
        description=f"webhook batch applied by the hot-path worker {holder}",
        metadata={**{k: MetadataValue.int(v) if isinstance(v, int) else MetadataValue.float(v)
                     for k, v in figures.items()},
                  "partner_id": MetadataValue.text(applied.partner_id),
                  "sync_task_id": MetadataValue.text(applied.task_id),
                  "worker": MetadataValue.text(holder)})


def sync_back_materialization(pushed: Pushed, holder: str) -> AssetMaterialization:
    """The partner's partition of the lane's asset, with the batch's figures (the same
    counts a run's materialisation of it carries, plus the latency)."""
    return AssetMaterialization(
        asset_key=AssetKey(pushed.asset), partition=pushed.partner_id,
        description=f"{pushed.lane} batch written by the hot-path worker {holder}",
        metadata={**{k: MetadataValue.int(v) if isinstance(v, int) else MetadataValue.float(v)
                     for k, v in pushed.figures().items()},
                  "partner_id": MetadataValue.text(pushed.partner_id),
                  "sync_task_id": MetadataValue.text(pushed.task_id),
                  "worker": MetadataValue.text(holder)})


class DagsterReporter:
    """``report`` for ``pc_core.worker.runner.Worker``: one runless event per batch."""

    def __init__(self, instance: DagsterInstance, holder: str) -> None:
        self.instance = instance
        self.holder = holder

    def __call__(self, batch: Applied | Pushed) -> None:
        event = (sync_back_materialization(batch, self.holder) if isinstance(batch, Pushed)
                 else leads_materialization(batch, self.holder))
        self.instance.report_runless_asset_event(event)
