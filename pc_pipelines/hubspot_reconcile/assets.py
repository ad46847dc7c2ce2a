"""``hubspot_reconciliation``: per partner, HubSpot's deals against ours, drift healed.

Thin over ``pc_core.hubspot.reconcile.drift``; the figures go to the materialisation's
metadata, where the asset check reads them.
"""

from dagster import AssetExecutionContext, MaterializeResult, asset

from pc_core.hubspot.connection.oauth import PartnerTokens
from pc_core.hubspot.reconcile.drift import reconcile_partner
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.resources import HubSpotResource, MongoResource

GROUP = "hubspot_reconcile"


@asset(partitions_def=partners_partitions, group_name=GROUP, kinds={"hubspot", "mongodb"})
def hubspot_reconciliation(context: AssetExecutionContext, mongo: MongoResource,
                           hubspot: HubSpotResource) -> MaterializeResult:
    """Every HubSpot deal id and modification time compared with our deals and leads;
    missed changes and deletions are read and applied, removed stages set aside."""
    partner_id = context.partition_key
    db, settings = mongo.db(), hubspot.settings(mongo)
    report = reconcile_partner(db, settings, partner_id, PartnerTokens(db, settings, partner_id))
    if report.drift:
        context.log.warning(f"partner {partner_id}: drift healed {report.as_metadata()}")
    meta = report.as_metadata()
    samples = meta.pop("samples")
    leads = meta.pop("leads")
    return MaterializeResult(metadata={
        **meta, **{f"leads_{k}": v for k, v in leads.items()},
        "samples": "\n".join(f"{k}: {', '.join(v)}" for k, v in samples.items() if v) or "none",
    })
