"""Writes back to HubSpot: the platform's lead edits to the partner's deals
(``hubspot_pushback``) and a bought lead's progress in the buyer's CRM to the seller's
deal (``cross_partner_sync``).

Both sit in the ``hubspot`` group after ``leads``, so the 15-minute sync job runs them
for its partner; the sensors of this feature also launch one multi-partner run of
``hubspot_pushback_job`` / ``cross_partner_sync_job`` as soon as there is something
to write, which reports a materialisation of the same asset per partner it wrote for.
Each partner's work is its own ``sync_task`` with direction "push"
(``pc_core.hubspot.sync_back.partner_runs``). A HubSpot outage does not fail the run: what could
not be written stays pending for the next run, and the task records the errors.
"""

from dagster import AssetExecutionContext, MaterializeResult, asset

from pc_core.hubspot.sync_back.partner_runs import run_cross_partner, run_pushback
from pc_pipelines.hubspot_sync.assets import GROUP, leads
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.lib.run_tags import trigger_of
from pc_pipelines.resources import PlatformResource


def pushback_metadata(stats) -> dict:
    return {
        "leads": stats.leads, "deals_updated": stats.deals_updated,
        "notes_created": stats.notes_created, "left_pending_after_failure": stats.failed,
        "deferred_to_newer_hubspot_change": stats.deferred,
        "skipped_no_reverse_stage": len(stats.skipped), "requests": stats.requests,
    }


def cross_partner_metadata(stats) -> dict:
    return {
        "delivered_to_buyer_crm": stats.delivered, "stages_relayed": stats.relayed,
        "seller_deals_updated": stats.seller_deals_updated, "errors": len(stats.errors),
    }


@asset(partitions_def=partners_partitions, group_name=GROUP, deps=[leads],
       kinds={"hubspot", "mongodb"})
def hubspot_pushback(
    context: AssetExecutionContext, platform: PlatformResource
) -> MaterializeResult:
    """Leads edited in the platform (stage, amount, notes) → the partner's HubSpot
    deals, in batches; HubSpot trouble leaves them pending for the next run."""
    _, stats = run_pushback(platform.db(), platform.settings(), context.partition_key,
                            run_id=context.run.run_id, trigger=trigger_of(context.run.tags))
    return MaterializeResult(metadata=pushback_metadata(stats))


@asset(partitions_def=partners_partitions, group_name=GROUP, deps=[leads],
       kinds={"hubspot", "mongodb"})
def cross_partner_sync(
    context: AssetExecutionContext, platform: PlatformResource
) -> MaterializeResult:
    """For the partition's partner as a buyer: deliver its purchases to its HubSpot
    (a deal per bought lead) and relay those deals' canonical stage to the sellers'
    deals (``pc_buyer_stage`` + a note) and to the sellers' view of the lead."""
    _, stats = run_cross_partner(platform.db(), platform.settings(), context.partition_key,
                                 run_id=context.run.run_id,
                                 trigger=trigger_of(context.run.tags))
    return MaterializeResult(metadata=cross_partner_metadata(stats))
