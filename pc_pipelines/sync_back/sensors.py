"""Sensors that launch the write-back runs as soon as there is something to write.

Both read an indexed equality flag (``push_pending`` on leads, ``pending`` on deal
links: the embedded store cannot answer "changed since X" with a date range) and
request one run per partner. The run key is a digest of the pending documents and
their revisions: the same pending set is launched once, a new edit launches again,
and what a run leaves pending (HubSpot down) is retried by the 15-minute schedule.
"""

import hashlib
from collections import defaultdict
from collections.abc import Iterable

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, sensor

from pc_core.hubspot.deal_links import pending_links
from pc_core.hubspot.pushback import pending_leads
from pc_pipelines.jobs.sync_back import cross_partner_sync_job, hubspot_pushback_job
from pc_pipelines.partitions import partners_partitions
from pc_pipelines.resources import MongoResource
from pc_pipelines.run_tags import partner_tags
from pc_pipelines.sync_runs import TRIGGER_TAG

SCAN_LIMIT = 5000


def _requests(context: SensorEvaluationContext, prefix: str,
              pending: Iterable[tuple[str, str, int]]) -> list[RunRequest]:
    """(partner, doc id, rev) → one run request per known partner partition."""
    known = set(context.instance.get_dynamic_partitions(partners_partitions.name))
    by_partner: dict[str, list[str]] = defaultdict(list)
    for partner_id, doc_id, rev in pending:
        if partner_id in known:
            by_partner[partner_id].append(f"{doc_id}@{rev}")
    runs = []
    for partner_id, keys in sorted(by_partner.items()):
        digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:20]
        runs.append(RunRequest(partition_key=partner_id, run_key=f"{prefix}:{partner_id}:{digest}",
                               tags=partner_tags(partner_id, **{TRIGGER_TAG: "change"})))
    return runs


@sensor(job=hubspot_pushback_job, minimum_interval_seconds=5,
        default_status=DefaultSensorStatus.RUNNING)
def hubspot_pushback_sensor(context: SensorEvaluationContext, mongo: MongoResource):
    """A pushback run for each partner with leads edited in the platform."""
    docs = pending_leads(mongo.db(), SCAN_LIMIT)
    return _requests(context, "push",
                     ((d["partner_id"], d["_id"], d.get("rev") or 0) for d in docs))


@sensor(job=cross_partner_sync_job, minimum_interval_seconds=10,
        default_status=DefaultSensorStatus.RUNNING)
def cross_partner_sensor(context: SensorEvaluationContext, mongo: MongoResource):
    """A cross-partner run for each buyer whose bought leads' deals moved."""
    docs = pending_links(mongo.db(), SCAN_LIMIT)
    return _requests(context, "cross",
                     ((d["buyer_partner_id"], d["_id"], d.get("rev") or 0) for d in docs))
