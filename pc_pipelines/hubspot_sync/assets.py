"""Per-partner HubSpot pulls and the stage-mapped lead table.

Thin over pc_core: each asset resolves the partner's token provider, calls one
service, records its figures on the run's sync task and reports them as metadata.
"""

from dagster import AssetExecutionContext, MaterializeResult, asset
from pymongo.database import Database

from pc_core.hubspot.connection.oauth import PartnerTokens, mark_synced
from pc_core.hubspot.connection.value_labels import refresh_value_labels
from pc_core.hubspot.lead_build.lead_builder import build_leads, publish_lead_events
from pc_core.hubspot.lead_build.stage_mapping import store_pipeline_stages
from pc_core.hubspot.pull.engine import PullFailed, PullStats, pull_objects, pull_pipelines
from pc_core.settings import Settings
from pc_core.sync import tasks as sync_tasks
from pc_core.sync.runs import report_finished, report_step, task_for_run
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.lib.run_tags import BACKFILL_TAG, FULL_TAG, TASK_TAG, trigger_of
from pc_pipelines.resources import PlatformResource

GROUP = "hubspot"


def _task(context: AssetExecutionContext, db: Database, settings: Settings,
          partner_id: str) -> str:
    """The run's sync task (pc_core.sync.runs), from what the run's tags say."""
    run = context.run
    return task_for_run(db, settings, partner_id, run_id=run.run_id,
                        task_id=run.tags.get(TASK_TAG), trigger=trigger_of(run.tags))


@asset(partitions_def=partners_partitions, group_name=GROUP, kinds={"hubspot", "mongodb"})
def hubspot_pipelines(
    context: AssetExecutionContext, platform: PlatformResource,
) -> MaterializeResult:
    """The partner's deal pipelines and stages (new stages appear unmapped), and the
    option labels of its enumeration properties when the stored ones are due."""
    partner_id = context.partition_key
    db, settings = platform.db(), platform.settings()
    task_id = _task(context, db, settings, partner_id)
    tokens = PartnerTokens(db, settings, partner_id)
    stages = pull_pipelines(db, settings, partner_id, tokens)
    new = store_pipeline_stages(db, partner_id, stages)
    labels = refresh_value_labels(db, settings, partner_id, tokens)
    counts = {"stages": len(stages), "new_stages": new, "labels": labels.labels}
    sync_tasks.add_counts(db, task_id, "pipelines", counts, kind="details")
    if labels.error:
        context.log.warning(f"option labels not read (kept the stored ones): {labels.error}")
    report_step(db, settings, task_id, "pipelines")
    return MaterializeResult(metadata={**counts, "labels_read": labels.read})


def _pull(context: AssetExecutionContext, platform: PlatformResource,
          object_type: str) -> MaterializeResult:
    partner_id = context.partition_key
    db, settings = platform.db(), platform.settings()
    task_id = _task(context, db, settings, partner_id)
    # A backfill (or a run tagged pc/full=true) re-pulls everything: that is what an
    # operator asks for when re-pulling one partner from the UI.
    full = BACKFILL_TAG in context.run.tags or context.run.tags.get(FULL_TAG) == "true"
    try:
        stats = pull_objects(db, settings, partner_id, object_type,
                             PartnerTokens(db, settings, partner_id), full=full)
    except PullFailed as failed:
        # Keep what was stored and counted; the cursor resumes from it next run.
        sync_tasks.add_counts(db, task_id, object_type, _counts(failed.stats),
                              [*failed.stats.errors, str(failed)])
        report_step(db, settings, task_id, object_type)
        raise
    counts = _counts(stats)
    sync_tasks.add_counts(db, task_id, object_type, counts, [str(e) for e in stats.errors])
    report_step(db, settings, task_id, object_type)
    metadata = {**counts, "mode": stats.mode, "requests": stats.requests}
    if stats.quota_stop:
        # Paused for the portal's daily budget: the cursor resumes after the reset.
        context.log.warning(stats.quota_stop)
        metadata["paused_for_daily_quota"] = stats.quota_stop
    return MaterializeResult(metadata=metadata)


def _counts(stats: PullStats) -> dict[str, int]:
    return {"fetched": stats.fetched, "created": stats.created, "updated": stats.updated,
            "unchanged": stats.unchanged, "archived": stats.archived,
            "errors": len(stats.errors)}


@asset(partitions_def=partners_partitions, group_name=GROUP, kinds={"hubspot", "mongodb"})
def hubspot_contacts(
    context: AssetExecutionContext, platform: PlatformResource,
) -> MaterializeResult:
    """Raw HubSpot contacts: full pull first, then incremental on lastmodifieddate."""
    return _pull(context, platform, "contacts")


@asset(partitions_def=partners_partitions, group_name=GROUP, kinds={"hubspot", "mongodb"})
def hubspot_deals(
    context: AssetExecutionContext, platform: PlatformResource,
) -> MaterializeResult:
    """Raw HubSpot deals with their contact associations (incremental on
    hs_lastmodifieddate)."""
    return _pull(context, platform, "deals")


@asset(
    partitions_def=partners_partitions,
    group_name=GROUP,
    deps=[hubspot_pipelines, hubspot_contacts, hubspot_deals],
    kinds={"polars", "mongodb"},
)
def leads(
    context: AssetExecutionContext, platform: PlatformResource,
) -> MaterializeResult:
    """Deals + contacts + stage mapping → the stage-mapped lead table; non_fit leads
    are listed on the marketplace; ``lead-listed`` and ``stage-updated`` are emitted."""
    partner_id = context.partition_key
    db, settings = platform.db(), platform.settings()
    task_id = _task(context, db, settings, partner_id)
    stats = build_leads(db, partner_id, settings=settings, task_id=task_id)
    sync_tasks.add_counts(db, task_id, "leads", {
        "created": stats.created, "updated": stats.updated, "unchanged": stats.unchanged,
        "listed": stats.listed, "unmapped": stats.unmapped,
    }, kind="leads")
    publish_lead_events(db, settings, partner_id, stats)
    sync_tasks.finish(db, task_id, "succeeded")
    mark_synced(db, partner_id)
    report_finished(db, settings, task_id)
    return MaterializeResult(metadata={
        "created": stats.created, "updated": stats.updated, "unchanged": stats.unchanged,
        "listed": stats.listed, "unmapped_stage_deals": stats.unmapped,
        "conflicts_retried_next_run": stats.conflicts,
    })
