"""The HubSpot sync's asset check: every HubSpot stage has a canonical stage."""

from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from pc_core.hubspot.lead_build.stage_mapping import unmapped_stages
from pc_pipelines.hubspot_sync.assets import hubspot_pipelines
from pc_pipelines.resources import PlatformResource


@asset_check(asset=hubspot_pipelines, description="Every HubSpot stage has a canonical stage")
def no_unmapped_stages(platform: PlatformResource) -> AssetCheckResult:
    unmapped = unmapped_stages(platform.db())
    listing = [f"{u['partner_id']}: {u['pipeline_label'] or u['pipeline_id']} / "
               f"{u['stage_label'] or u['stage_id']} (suggested: {u['suggested_stage']})"
               for u in unmapped[:50]]
    return AssetCheckResult(
        passed=not unmapped,
        severity=AssetCheckSeverity.WARN,
        metadata={"unmapped_count": len(unmapped), "unmapped": "\n".join(listing) or "none"},
    )
