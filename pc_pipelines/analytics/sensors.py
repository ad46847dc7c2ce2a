"""Sensors of the analytics feature.

``analytics_sensor`` keeps each partner's stage history and funnel current without a
click: a partner whose ``leads`` or ``marketplace_purchases`` changed after its last
funnel, or whose funnel is older than ``MAX_AGE_S`` (webhook runs, platform edits
and the marketplace change leads without materialising ``leads``), gets an
``analytics_job`` run (none while one of the partner's runs is queued or in
progress); the run key names what it covers, so each change runs once.

``purchases_outbox_sensor`` reports the purchases the API completed or refunded
(``pc_core.journal.outbox``) as materialisations of ``marketplace_purchases``. The
ids a tick reports travel in its cursor, which Dagster stores with the tick's events,
and are marked reported by the next tick: an outbox entry is reported once.
"""

import json
import time

from dagster import (
    AssetKey,
    AssetMaterialization,
    AssetRecordsFilter,
    DagsterRunStatus,
    DefaultSensorStatus,
    MetadataValue,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from pc_core.journal import outbox
from pc_pipelines.analytics.jobs import analytics_job
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.lib.run_tags import TRIGGER_TAG
from pc_pipelines.resources import PlatformResource

MAX_AGE_S = 15 * 60
ACTIVE = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
          DagsterRunStatus.STARTED]
LEADS, PURCHASES, FUNNEL = AssetKey("leads"), AssetKey(outbox.PURCHASES_ASSET), \
    AssetKey("partner_funnel")


def _latest(context: SensorEvaluationContext, key: AssetKey,
            partition: str | None = None) -> tuple[int, float]:
    """(storage id, timestamp) of the latest materialisation, or (0, 0)."""
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None),
        limit=1).records
    return (records[0].storage_id, records[0].timestamp) if records else (0, 0.0)


def _running(context: SensorEvaluationContext, partner_id: str) -> bool:
    """An analytics run of the partner is queued or in progress: it covers the change."""
    return bool(context.instance.get_runs(
        filters=RunsFilter(job_name=analytics_job.name, statuses=ACTIVE,
                           tags={"dagster/partition": partner_id}), limit=1))


@sensor(job=analytics_job, minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING)
def analytics_sensor(context: SensorEvaluationContext) -> list[RunRequest]:
    purchases_id, _ = _latest(context, PURCHASES)
    now = time.time()
    runs = []
    for partner_id in context.instance.get_dynamic_partitions(partners_partitions.name):
        leads_id, _ = _latest(context, LEADS, partner_id)
        if not leads_id:
            continue  # its first sync has not finished: nothing to analyse yet
        funnel_id, funnel_at = _latest(context, FUNNEL, partner_id)
        upstream = max(leads_id, purchases_id)
        stale = now - funnel_at > MAX_AGE_S
        if (funnel_id and upstream < funnel_id and not stale) or _running(context, partner_id):
            continue
        bucket = int(now // MAX_AGE_S) if stale else 0
        runs.append(RunRequest(partition_key=partner_id,
                               run_key=f"analytics:{partner_id}:{upstream}:{bucket}",
                               tags={TRIGGER_TAG: "analytics"}))
    return runs


@sensor(minimum_interval_seconds=10, default_status=DefaultSensorStatus.RUNNING)
def purchases_outbox_sensor(context: SensorEvaluationContext,
                            platform: PlatformResource) -> SensorResult:
    db = platform.db()
    reported: list[str] = json.loads(context.cursor) if context.cursor else []
    if reported:
        outbox.mark_reported(db, reported)
    docs = outbox.pending(db, exclude=reported)
    events = [AssetMaterialization(
        asset_key=PURCHASES,
        description=f"purchase {d['metadata']['purchase_id']} {d['event']}",
        metadata={**{k: v for k, v in d["metadata"].items() if v is not None},
                  "event": d["event"],
                  "dagster/row_count": MetadataValue.int(1)},
    ) for d in docs]
    return SensorResult(asset_events=events, cursor=json.dumps([d["_id"] for d in docs]))
