"""Sensors that launch the write-back runs as soon as there is something to write.

Both read an indexed equality flag (``push_pending`` on leads, ``pending`` on deal
links; ``pc_core.hubspot.sync_back.partner_runs``) and request at most **one** run per tick for
every partner with pending writes, none while one is in progress (``lib.fanout``).
The run key is a digest of the pending documents and their revisions: the same
pending set is launched once, a new edit launches again, and what a run leaves
pending (HubSpot down) is retried by the 15-minute schedule.
"""

from dagster import DefaultSensorStatus, SensorEvaluationContext, sensor

from pc_core.hubspot.sync_back import partner_runs
from pc_pipelines.lib.fanout import one_run
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.resources import PlatformResource
from pc_pipelines.sync_back.jobs import cross_partner_sync_job, hubspot_pushback_job


def _known(context: SensorEvaluationContext, pending: dict[str, list[str]]) -> dict:
    """Only partners with a partition (connected, seen by ``partners_sensor``)."""
    known = set(context.instance.get_dynamic_partitions(partners_partitions.name))
    return {p: items for p, items in pending.items() if p in known}


@sensor(job=hubspot_pushback_job, minimum_interval_seconds=5,
        default_status=DefaultSensorStatus.RUNNING)
def hubspot_pushback_sensor(context: SensorEvaluationContext, platform: PlatformResource):
    """One pushback run for every partner with leads edited in the platform."""
    return one_run(context, hubspot_pushback_job.name, prefix="push", trigger="change",
                   pending=_known(context, partner_runs.pushback_pending(platform.db())))


@sensor(job=cross_partner_sync_job, minimum_interval_seconds=10,
        default_status=DefaultSensorStatus.RUNNING)
def cross_partner_sensor(context: SensorEvaluationContext, platform: PlatformResource):
    """One cross-partner run for every buyer whose bought leads' deals moved."""
    return one_run(context, cross_partner_sync_job.name, prefix="cross", trigger="change",
                   pending=_known(context, partner_runs.cross_partner_pending(platform.db())))
