"""``crm_delivery_job``: deliver every sale due to its buyer's HubSpot portal, in one
run (``pc_core.hubspot.sync_back.sale_delivery.deliver_due``: each buyer in its own worker
thread, one buyer's failure recorded on its deliveries and sync task without failing
the others). Launched by ``crm_delivery_sensor``; safe to launch by hand from the UI.
Each buyer it delivered to gets a materialisation of its ``cross_partner_sync``
partition (the asset that delivers a buyer's purchases in the 15-minute sync), with
the figures the hot-path worker's sale lane reports (pc_pipelines/lib/runless.py).
"""

from dagster import AssetMaterialization, OpExecutionContext, in_process_executor, job, op

from pc_core.hubspot.sync_back.sale_delivery import deliver_due
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.lib.run_tags import HUBSPOT_JOB_TAGS
from pc_pipelines.lib.runless import SALES
from pc_pipelines.resources import PlatformResource


@op(description="Create the contact, deal and note of each sale due in its buyer's "
                "HubSpot; failures back off and are recorded per delivery.")
def deliver_sales(context: OpExecutionContext, platform: PlatformResource) -> None:
    report = deliver_due(platform.db(), platform.settings(), run_id=context.run_id)
    context.log.info(report.summary())
    for error in report.errors[:50]:
        context.log.warning(error)
    known = set(context.instance.get_dynamic_partitions(partners_partitions.name))
    for buyer in report.buyers:
        if buyer.delivered and buyer.buyer_id in known:
            context.log_event(AssetMaterialization(asset_key=SALES, partition=buyer.buyer_id,
                                                   metadata=buyer.figures()))


@job(description="Deliver completed sales to their buyers' HubSpot portals.",
     tags={"dagster/max_runtime": 900, **HUBSPOT_JOB_TAGS},
     # one op: running it in the run worker saves a second process start per delivery
     executor_def=in_process_executor)
def crm_delivery_job() -> None:
    deliver_sales()
