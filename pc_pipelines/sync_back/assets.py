"""Writes back to HubSpot: the platform's lead edits to the partner's deals
(``hubspot_pushback``) and a bought lead's progress in the buyer's CRM to the seller's
deal (``cross_partner_sync``).

Both sit in the ``hubspot`` group after ``leads``, so the 15-minute sync job runs them
for its partner. The hot-path worker writes them as edits and moves arrive and reports
each partner's batch as a runless materialisation of the same asset
(pc_pipelines/lib/runless.py); the sensors of this feature launch one multi-partner
run of ``hubspot_pushback_job`` / ``cross_partner_sync_job`` for what the worker left
behind, which reports a materialisation per partner it wrote for. Worker, runs and
these assets all write through ``pc_core.worker.sync_back_lane.apply_partner`` (the
partner's lease, then the one implementation).
Each partner's work is its own ``sync_task`` with direction "push"
(``pc_core.hubspot.sync_back.partner_runs``). A HubSpot outage does not fail the run: what could
not be written stays pending for the next run, and the task records the errors.
"""

from dagster import AssetExecutionContext, MaterializeResult, asset

from pc_core.store import leases
from pc_core.store.wakeups import PUSHBACK, RELAY
from pc_core.worker import sync_back_lane
from pc_pipelines.hubspot_sync.assets import GROUP, leads
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.lib.run_tags import trigger_of
from pc_pipelines.resources import PlatformResource


def _write(context: AssetExecutionContext, platform: PlatformResource,
           lane: str) -> MaterializeResult:
    """The partition's partner through the lane (its lease, the one implementation);
    a partner a hot-path worker is writing for right now is left to it (the worker
    reports its own materialisation)."""
    run_id = context.run.run_id
    done = sync_back_lane.apply_partner(platform.db(), platform.settings(), lane,
                                        context.partition_key, leases.run_holder(run_id),
                                        run_id=run_id, trigger=trigger_of(context.run.tags))
    if done is None:
        return MaterializeResult(metadata={"left_to_hot_path_worker": 1})
    return MaterializeResult(metadata=done.figures())


@asset(partitions_def=partners_partitions, group_name=GROUP, deps=[leads],
       kinds={"hubspot", "mongodb"})
def hubspot_pushback(
    context: AssetExecutionContext, platform: PlatformResource
) -> MaterializeResult:
    """Leads edited in the platform (stage, amount, notes) → the partner's HubSpot
    deals, in batches; HubSpot trouble leaves them pending for the next run."""
    return _write(context, platform, PUSHBACK)


@asset(partitions_def=partners_partitions, group_name=GROUP, deps=[leads],
       kinds={"hubspot", "mongodb"})
def cross_partner_sync(
    context: AssetExecutionContext, platform: PlatformResource
) -> MaterializeResult:
    """For the partition's partner as a buyer: deliver its purchases to its HubSpot
    (a deal per bought lead) and relay those deals' canonical stage to the sellers'
    deals (``pc_buyer_stage`` + a note) and to the sellers' view of the lead."""
    return _write(context, platform, RELAY)
