"""``hubspot_webhook_sensor``: the backstop of the hot path.

The hot-path worker (``pc worker``) applies events within a second or two of their
arrival. This sensor launches a run only for partners with events the worker left
unprocessed for longer than ``backstop_after_seconds`` (worker down, a
backlog, a partner failing in the worker); the run applies all their pending events.

Every few seconds it reads the unprocessed inbox events of all partners in one
indexed query (``pc_core.hubspot.sync_back.partner_runs.webhook_pending``). If any connected
partner has some and no webhook run is queued or in progress, it requests **one**
``hubspot_webhook_job`` run, whatever the number of partners: launches stay bounded
(one per tick at most) while each partner's events wait at most a tick plus a run
start. The run applies *every* pending event of every partner, including those that
arrive after the tick. The run key is a digest of each partner's highest pending
sequence; events a failed run left pending are launched again under a new key after
``RETRY_AFTER_S`` instead of being deduplicated away by Dagster's run keys.
"""

from __future__ import annotations

import time

from dagster import DefaultSensorStatus, SensorEvaluationContext, sensor

from pc_core.hubspot.sync_back import partner_runs
from pc_core.hubspot.webhooks.ingest import seq_of
from pc_pipelines.hubspot_webhooks.jobs import hubspot_webhook_job
from pc_pipelines.lib.fanout import one_run
from pc_pipelines.resources import PlatformResource

SEQ_TAG = "pc/webhook_max_seq"
RETRY_AFTER_S = 60.0


@sensor(job=hubspot_webhook_job, minimum_interval_seconds=3,
        default_status=DefaultSensorStatus.RUNNING)
def hubspot_webhook_sensor(context: SensorEvaluationContext, platform: PlatformResource):
    """At most one ``hubspot_webhook_job`` run per tick, for every partner with an
    event older than the backstop threshold."""
    threshold = platform.settings().backstop_after_seconds
    pending = partner_runs.webhook_pending(
        platform.db(), received_before=seq_of(time.time() - threshold))
    return one_run(context, hubspot_webhook_job.name, prefix="webhook", trigger="webhook",
                   pending={p: [str(seq)] for p, seq in pending.items()},
                   retry_after_s=RETRY_AFTER_S,
                   **{SEQ_TAG: str(max(pending.values(), default=0))})
