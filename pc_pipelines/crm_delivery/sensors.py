"""``crm_delivery_sensor``: a sale reaches the buyer's CRM by itself (the backstop).

The hot-path worker (``pc worker``) delivers a sale within seconds of the payment;
this sensor launches a run only for deliveries due for longer than
``backstop_after_seconds`` (worker down, a backlog).

Every few seconds it reads the deliveries due (an equality on the indexed ``status``
plus a string range on ``due_key``: see pc_core/marketplace/deliveries.py). If there are
any and no delivery run is in progress, it requests **one** ``crm_delivery_job`` run
for all of them: the run fans out per buyer, so launches stay bounded however many
sales complete at once. The run key is a digest of the due deliveries and their
attempt counts, so a batch is launched once; a batch a failed run left untouched is
retried after ``RETRY_AFTER_S`` (``pc_pipelines.lib.fanout.backstop_run``, as the
saved-search e-mails' backstop). Back-off between attempts is the deliveries' own
(``due_key``).
"""

from __future__ import annotations

from datetime import timedelta

from dagster import DefaultSensorStatus, SensorEvaluationContext, sensor

from pc_core.marketplace import deliveries
from pc_core.timeutil import utcnow
from pc_pipelines.crm_delivery.jobs import crm_delivery_job
from pc_pipelines.lib.fanout import backstop_run
from pc_pipelines.lib.run_tags import TRIGGER_TAG
from pc_pipelines.resources import PlatformResource

PEEK = 1000  # due deliveries read per tick, for the run key
RETRY_AFTER_S = 60.0


@sensor(job=crm_delivery_job, minimum_interval_seconds=5,
        default_status=DefaultSensorStatus.RUNNING)
def crm_delivery_sensor(context: SensorEvaluationContext, platform: PlatformResource):
    """One delivery run for every sale due, unless one is already running."""
    left_behind = utcnow() - timedelta(seconds=platform.settings().backstop_after_seconds)
    due = deliveries.due(platform.db(), left_behind, limit=PEEK)
    return backstop_run(
        context, crm_delivery_job.name,
        pending=[f"{d['_id']}@{d.get('attempts') or 0}" for d in due],
        prefix="crm-delivery", retry_after_s=RETRY_AFTER_S,
        idle="no sale left waiting for its buyer's CRM by the hot path", noun="due",
        run_name="delivery",
        tags={TRIGGER_TAG: "sale", "pc/deliveries": str(len(due)),
              "pc/buyers": str(len({d["buyer_partner_id"] for d in due}))})
