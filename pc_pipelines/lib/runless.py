"""The hot-path worker's batches, in Dagster: each partner's applied webhook batch is
a runless materialisation of that partner's ``leads`` partition, each pushback or
relay batch one of its ``hubspot_pushback`` / ``cross_partner_sync`` partition, and
each buyer's sales delivered to its CRM one of the buyer's ``cross_partner_sync``
partition (the asset that delivers them in the 15-minute sync)
(``DagsterInstance.report_runless_asset_event``), so the assets' history, lineage,
freshness and checks show the worker's writes beside the runs'. The alert lane writes
no asset (it sends e-mails; its backstop run materialises nothing either), so it
reports nothing.

Runless events need no run, no code server and no pod: a row in the instance's event
log (Postgres in production, SQLite under ``DAGSTER_HOME`` in development).
"""

from __future__ import annotations

from typing import Protocol

from dagster import AssetKey, AssetMaterialization, DagsterInstance, MetadataValue

from pc_core.hubspot.sync_back.sale_delivery import BuyerResult
from pc_core.store.wakeups import RELAY
from pc_core.worker.sync_back_lane import ASSETS, Pushed
from pc_core.worker.webhook_lane import Applied

LEADS = AssetKey("leads")
#: The buyer's cross-partner sync delivers its purchases too (``delivered_to_buyer_crm``).
SALES = AssetKey(ASSETS[RELAY])

Batch = Applied | Pushed | BuyerResult


class _Figures(Protocol):
    partner_id: str

    def figures(self) -> dict[str, int | float]: ...


def materialization(asset: AssetKey, batch: _Figures, task_id: str | None, what: str,
                    holder: str) -> AssetMaterialization:
    """The partner's partition of ``asset`` with the batch's figures, its sync task
    and the worker: the one shape of every lane's report."""
    return AssetMaterialization(
        asset_key=asset, partition=batch.partner_id,
        description=f"{what} by the hot-path worker {holder}",
        metadata={**{k: MetadataValue.int(v) if isinstance(v, int) else MetadataValue.float(v)
                     for k, v in batch.figures().items()},
                  "partner_id": MetadataValue.text(batch.partner_id),
                  "sync_task_id": MetadataValue.text(task_id or ""),
                  "worker": MetadataValue.text(holder)})


def batch_materialization(batch: Batch, holder: str) -> AssetMaterialization:
    """What a lane's batch materialised, in the partner's partition."""
    if isinstance(batch, Applied):
        return materialization(LEADS, batch, batch.task_id, "webhook batch applied", holder)
    if isinstance(batch, BuyerResult):
        return materialization(SALES, batch, batch.task_id,
                               "sales delivered to the buyer's CRM", holder)
    return materialization(AssetKey(batch.asset), batch, batch.task_id,
                           f"{batch.lane} batch written", holder)


class DagsterReporter:
    """``report`` for ``pc_core.worker.runner.Worker``: one runless event per batch."""

    def __init__(self, instance: DagsterInstance, holder: str) -> None:
        self.instance = instance
        self.holder = holder

    def __call__(self, batch: Batch) -> None:
        self.instance.report_runless_asset_event(batch_materialization(batch, self.holder))
