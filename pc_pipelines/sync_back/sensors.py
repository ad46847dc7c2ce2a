"""Backstop sensors of the write-back lanes: a run only for what the hot-path worker
(``pc worker``'s pushback and relay lanes) left pending longer than
``backstop_after_seconds`` (worker down, a backlog, a partner failing in the worker).

Both read an indexed equality flag (``push_pending`` on leads, ``pending`` on deal
links; ``pc_core.hubspot.sync_back.partner_runs``) with when it was flagged (the lead's
``updated_at``, the link's ``pending_since``), and request at most **one** run per
tick for every partner with a change older than the threshold, none while one is in
progress (``lib.fanout``); the run writes all of those partners' pending changes.
The run key is a digest of the pending documents and their revisions: the same
pending set is launched once, a new edit launches again; what a failed run left
pending is retried by the worker (with its back-off) and the 15-minute schedule.
"""

from datetime import timedelta

from dagster import DefaultSensorStatus, SensorEvaluationContext, sensor

from pc_core.hubspot.sync_back import partner_runs
from pc_core.timeutil import utcnow
from pc_pipelines.lib.fanout import one_run
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.resources import PlatformResource
from pc_pipelines.sync_back.jobs import cross_partner_sync_job, hubspot_pushback_job


def _known(context: SensorEvaluationContext, pending: dict[str, list[str]]) -> dict:
    """Only partners with a partition (connected, seen by ``partners_sensor``)."""
    known = set(context.instance.get_dynamic_partitions(partners_partitions.name))
    return {p: items for p, items in pending.items() if p in known}


def _left_behind(platform: PlatformResource):
    return utcnow() - timedelta(seconds=platform.settings().backstop_after_seconds)


@sensor(job=hubspot_pushback_job, minimum_interval_seconds=5,
        default_status=DefaultSensorStatus.RUNNING)
def hubspot_pushback_sensor(context: SensorEvaluationContext, platform: PlatformResource):
    """One pushback run for every partner with platform edits the worker left behind."""
    pending = partner_runs.pushback_pending(platform.db(),
                                            flagged_before=_left_behind(platform))
    return one_run(context, hubspot_pushback_job.name, prefix="push", trigger="change",
                   pending=_known(context, pending))


@sensor(job=cross_partner_sync_job, minimum_interval_seconds=10,
        default_status=DefaultSensorStatus.RUNNING)
def cross_partner_sensor(context: SensorEvaluationContext, platform: PlatformResource):
    """One cross-partner run for every buyer whose deal moves the worker left behind."""
    pending = partner_runs.cross_partner_pending(platform.db(),
                                                 flagged_before=_left_behind(platform))
    return one_run(context, cross_partner_sync_job.name, prefix="cross", trigger="change",
                   pending=_known(context, pending))
