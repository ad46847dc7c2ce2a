"""The reconciliation's check: it fails (WARN) when the last run found drift, so missed
webhooks and search results show up in Dagster even though they were healed."""

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, asset_check

from pc_pipelines.hubspot_reconcile.assets import hubspot_reconciliation

COUNTS = ("missing", "stale", "deleted", "stages_removed", "drift", "healed",
          "hubspot_deals", "our_deals")


@asset_check(asset=hubspot_reconciliation,
             description="The last reconciliation found no drift between HubSpot and us")
def no_hubspot_drift(context: AssetCheckExecutionContext) -> AssetCheckResult:
    event = context.instance.get_latest_materialization_event(hubspot_reconciliation.key)
    materialization = event.asset_materialization if event else None
    if materialization is None:
        return AssetCheckResult(passed=True, metadata={"note": "not reconciled yet"})
    meta = {k: v.value for k, v in materialization.metadata.items() if k in COUNTS}
    return AssetCheckResult(
        passed=not meta.get("drift"), severity=AssetCheckSeverity.WARN,
        metadata={**meta, "partition": materialization.partition or "-"},
    )
