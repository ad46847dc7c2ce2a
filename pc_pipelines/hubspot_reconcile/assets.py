"""``hubspot_reconciliation``: per partner, HubSpot's deals against ours, drift healed.

Thin over ``pc_core.hubspot.reconcile.drift``. The asset carries its check
(``no_hubspot_drift``): it fails (WARN) for the partition when this run found drift,
with the numbers as metadata, so missed webhooks and search results show in Dagster
even though they were healed.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    asset,
)

from pc_core.hubspot.connection.oauth import PartnerTokens
from pc_core.hubspot.reconcile.drift import reconcile_partner
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.resources import PlatformResource

GROUP = "hubspot_reconcile"
CHECK = "no_hubspot_drift"
COUNTS = ("missing", "stale", "deleted", "stages_removed", "leads_missing", "drift",
          "healed",
          "hubspot_deals", "our_deals", "requests")


@asset(partitions_def=partners_partitions, group_name=GROUP, kinds={"hubspot", "mongodb"},
       check_specs=[AssetCheckSpec(CHECK, asset="hubspot_reconciliation",
                                   description="The reconciliation found HubSpot and our "
                                               "leads in step (no drift to heal)")])
def hubspot_reconciliation(context: AssetExecutionContext,
                           platform: PlatformResource) -> MaterializeResult:
    """Every HubSpot deal id and modification time compared with our deals and leads;
    missed changes and deletions are read and applied, removed stages set aside."""
    partner_id = context.partition_key
    db, settings = platform.db(), platform.settings()
    report = reconcile_partner(db, settings, partner_id, PartnerTokens(db, settings, partner_id))
    meta = report.as_metadata()
    counts = {k: meta[k] for k in COUNTS}
    samples = "\n".join(f"{k}: {', '.join(v)}" for k, v in meta["samples"].items() if v)
    if report.drift:
        context.log.warning(f"partner {partner_id}: drift found and healed: {counts}")
    return MaterializeResult(
        metadata={**counts, **{f"leads_{k}": v for k, v in meta["leads"].items()},
                  "samples": samples or "none"},
        check_results=[AssetCheckResult(
            check_name=CHECK, passed=not report.drift, severity=AssetCheckSeverity.WARN,
            metadata={**counts, "samples": samples or "none"})],
    )
