"""Writes back to HubSpot: the platform's lead edits to the partner's deals
(``hubspot_pushback``) and a bought lead's progress in the buyer's CRM to the seller's
deal (``cross_partner_sync``).

Both sit in the ``hubspot`` group after ``leads``, so the 15-minute sync job runs them
for every partner; sensors (pc_pipelines/sensors/sync_back.py) also launch them alone
as soon as there is something to write. Each writes its own ``sync_task`` with
direction "push". A HubSpot outage does not fail the run: what could not be written
stays pending for the next run, and the task records the errors.
"""

from dagster import AssetExecutionContext, MaterializeResult, asset

from pc_core import sync_tasks
from pc_core.hubspot.connection import PartnerTokens
from pc_core.hubspot.cross_partner import sync_buyer
from pc_core.hubspot.pushback import push_partner
from pc_pipelines.assets.hubspot import GROUP, leads
from pc_pipelines.partitions import partners_partitions
from pc_pipelines.resources import HubSpotResource, MongoResource
from pc_pipelines.sync_runs import TRIGGER_TAG


def _push_task(context: AssetExecutionContext, db, partner_id: str) -> str:
    run = context.run
    trigger = "backfill" if "dagster/backfill" in run.tags else run.tags.get(TRIGGER_TAG,
                                                                            "dagster")
    return sync_tasks.task_for_run_id(db, partner_id, run.run_id, direction="push",
                                      trigger=trigger)


@asset(partitions_def=partners_partitions, group_name=GROUP, deps=[leads],
       kinds={"hubspot", "mongodb"})
def hubspot_pushback(
    context: AssetExecutionContext, mongo: MongoResource, hubspot: HubSpotResource
) -> MaterializeResult:
    """Leads edited in the platform (stage, amount, notes) → the partner's HubSpot
    deals, in batches; HubSpot trouble leaves them pending for the next run."""
    partner_id = context.partition_key
    db, settings = mongo.db(), hubspot.settings(mongo)
    task_id = _push_task(context, db, partner_id)
    stats = push_partner(db, settings, partner_id, PartnerTokens(db, settings, partner_id))
    errors = [*stats.errors, *(f"{s['lead_id']}: {s['reason']}" for s in stats.skipped)]
    sync_tasks.add_counts(db, task_id, "pushback", {
        "updated": stats.deals_updated, "unchanged": stats.up_to_date,
        "errors": stats.failed + len(stats.skipped), "leads": stats.leads,
        "notes": stats.notes_created, "deferred": stats.deferred, "failed": stats.failed,
        "missing_deals": len(stats.missing), "requests": stats.requests,
    }, errors, kind="push")
    sync_tasks.add_conflicts(db, task_id, stats.conflicts)
    sync_tasks.finish(db, task_id, "failed" if stats.failed else "succeeded")
    return MaterializeResult(metadata={
        "leads": stats.leads, "deals_updated": stats.deals_updated,
        "notes_created": stats.notes_created, "left_pending_after_failure": stats.failed,
        "deferred_to_newer_hubspot_change": stats.deferred,
        "skipped_no_reverse_stage": len(stats.skipped), "requests": stats.requests,
    })


@asset(partitions_def=partners_partitions, group_name=GROUP, deps=[leads],
       kinds={"hubspot", "mongodb"})
def cross_partner_sync(
    context: AssetExecutionContext, mongo: MongoResource, hubspot: HubSpotResource
) -> MaterializeResult:
    """For the partition's partner as a buyer: deliver its purchases to its HubSpot
    (a deal per bought lead) and relay those deals' canonical stage to the sellers'
    deals (``pc_buyer_stage`` + a note) and to the sellers' view of the lead."""
    partner_id = context.partition_key
    db, settings = mongo.db(), hubspot.settings(mongo)
    task_id = _push_task(context, db, partner_id)
    stats = sync_buyer(db, settings, partner_id)
    sync_tasks.add_counts(db, task_id, "cross_partner", {
        "created": stats.delivered, "updated": stats.relayed, "errors": len(stats.errors),
        "seller_deals_updated": stats.seller_deals_updated,
    }, stats.errors, kind="push")
    sync_tasks.finish(db, task_id, "failed" if stats.errors else "succeeded")
    return MaterializeResult(metadata={
        "delivered_to_buyer_crm": stats.delivered, "stages_relayed": stats.relayed,
        "seller_deals_updated": stats.seller_deals_updated, "errors": len(stats.errors),
    })
