"""``hubspot_webhook_sensor``: one run per partner with pending webhook events.

Every few seconds it asks, per connected partner, for unprocessed inbox events
(equality on the indexed ``partner_id`` + ``processed``, with a limit: the store
scans for sorts and date ranges). A partner with pending events and no webhook run
queued or in progress gets one run, keyed by the partner and the highest inbox
sequence it saw; that run applies *every* pending event of the partner, including
those that arrive after the tick. The cursor (JSON text) remembers the last key per
partner, so events left pending by a failed run are retried under a new key after
``RETRY_AFTER_S`` instead of being deduplicated away by Dagster's run keys.
"""

from __future__ import annotations

import json
import time

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)
from pymongo.database import Database

from pc_core.hubspot.connection import connected_partner_ids
from pc_core.hubspot.webhook_apply import pending_events
from pc_pipelines.jobs.hubspot_webhooks import (
    PARTNER_TAG,
    hubspot_webhook_job,
    webhook_run_config,
)
from pc_pipelines.resources import MongoResource
from pc_pipelines.run_tags import partner_tags
from pc_pipelines.sync_runs import TRIGGER_TAG

SEQ_TAG = "pc/webhook_max_seq"
PEEK = 5_000  # pending events read per partner and tick, for the run key
RETRY_AFTER_S = 60.0
ACTIVE = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
          DagsterRunStatus.STARTED]


def pending_max_seq(db: Database, partner_id: str) -> int | None:
    events = pending_events(db, partner_id, PEEK)
    return max((int(e.get("seq") or 0) for e in events), default=None) if events else None


def _run_active(context: SensorEvaluationContext, partner_id: str) -> bool:
    runs = context.instance.get_runs(
        filters=RunsFilter(job_name=hubspot_webhook_job.name, statuses=ACTIVE,
                           tags={PARTNER_TAG: partner_id}), limit=1)
    return bool(runs)


@sensor(job=hubspot_webhook_job, minimum_interval_seconds=3,
        default_status=DefaultSensorStatus.RUNNING)
def hubspot_webhook_sensor(context: SensorEvaluationContext,
                           mongo: MongoResource) -> SensorResult:
    """Request one ``hubspot_webhook_job`` run per partner with pending events."""
    db = mongo.db()
    last: dict[str, dict] = json.loads(context.cursor) if context.cursor else {}
    now = time.time()
    runs: list[RunRequest] = []
    for partner_id in connected_partner_ids(db):
        max_seq = pending_max_seq(db, partner_id)
        if max_seq is None or _run_active(context, partner_id):
            continue
        base = f"webhook:{partner_id}:{max_seq}"
        seen = last.get(partner_id) or {}
        attempt = 0
        if seen.get("key") == base:  # same pending batch as last time: the run failed
            if now - float(seen.get("at", 0)) < RETRY_AFTER_S:
                continue
            attempt = int(seen.get("n", 0)) + 1
        key = base if attempt == 0 else f"{base}:retry{attempt}"
        last[partner_id] = {"key": base, "n": attempt, "at": now}
        runs.append(RunRequest(
            run_key=key, run_config=webhook_run_config(partner_id),
            tags=partner_tags(partner_id, **{TRIGGER_TAG: "webhook", SEQ_TAG: str(max_seq)})))
    return SensorResult(run_requests=runs, cursor=json.dumps(last, sort_keys=True))
