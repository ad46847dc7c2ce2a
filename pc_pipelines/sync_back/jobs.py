"""The write-back backstop runs: one run for every partner with something to write
that the hot-path worker (``pc worker``'s pushback and relay lanes) left pending
longer than ``backstop_after_seconds`` (worker down, a backlog, a partner failing in
the worker). Worker and run go through ``sync_back_lane.apply_partner``: the
partner's lease of the lane, then the one implementation; a partner the worker is
writing for right now is skipped (``pc_core.hubspot.sync_back.partner_runs.for_each_partner``:
a thread per partner, one partner's failure recorded on its sync task and sync
health without stopping the others; the run then fails, naming them, so the operator
is alerted). Each partner written for gets a materialisation of the asset
(``hubspot_pushback`` / ``cross_partner_sync``) in its partition, as a per-partner
run of the asset would report. The 15-minute sync job materialises the same assets
per partner.
"""

from dagster import (
    AssetMaterialization,
    Failure,
    OpExecutionContext,
    in_process_executor,
    job,
    op,
)

from pc_core.hubspot.sync_back import partner_runs
from pc_core.store import leases
from pc_core.store.wakeups import PUSHBACK, RELAY
from pc_core.worker import sync_back_lane
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.lib.run_tags import HUBSPOT_JOB_TAGS, trigger_of
from pc_pipelines.resources import PlatformResource


def _fan_out(context: OpExecutionContext, platform: PlatformResource, *, lane: str,
             pending: dict[str, list[str]]) -> None:
    db, settings = platform.db(), platform.settings()
    run_id, trigger = context.run_id, trigger_of(context.run.tags)
    asset_key = sync_back_lane.ASSETS[lane]
    known = set(context.instance.get_dynamic_partitions(partners_partitions.name))
    report = partner_runs.for_each_partner(
        db, [p for p in pending if p in known],
        lambda p: sync_back_lane.apply_partner(db, settings, lane, p, leases.run_holder(run_id),
                                               run_id=run_id, trigger=trigger),
        job=context.job_name, run_id=run_id)
    context.log.info(f"{asset_key}: {report.summary()}")
    for outcome in report.outcomes:
        if outcome.error is not None:
            continue
        if outcome.result is None:
            context.log.info(f"{outcome.partner_id}: a hot-path worker is writing it")
            continue
        context.log_event(AssetMaterialization(asset_key=asset_key,
                                               partition=outcome.partner_id,
                                               metadata=outcome.result.figures()))
    if report.failed:  # after every other partner was written: the operator hears of it
        raise Failure(f"{asset_key} failed for {len(report.failed)} partners (their sync "
                      "tasks say why)",
                      metadata={o.partner_id: o.error for o in report.failed[:20]})


@op(description="Push every partner's platform lead edits to its HubSpot deals, a "
                "partner per worker; one partner's failure does not stop the others.")
def push_pending_edits(context: OpExecutionContext, platform: PlatformResource) -> None:
    _fan_out(context, platform, lane=PUSHBACK,
             pending=partner_runs.pushback_pending(platform.db()))


@op(description="Deliver every buyer's purchases to its HubSpot and relay its deals' "
                "stages to the sellers, a buyer per worker.")
def relay_pending_buyers(context: OpExecutionContext, platform: PlatformResource) -> None:
    _fan_out(context, platform, lane=RELAY,
             pending=partner_runs.cross_partner_pending(platform.db()))


@job(description="Push every partner's platform lead edits to its HubSpot deals.",
     tags={"dagster/max_runtime": 900, **HUBSPOT_JOB_TAGS},
     executor_def=in_process_executor)  # one op: no second process start
def hubspot_pushback_job() -> None:
    push_pending_edits()


@job(description="Relay every buyer's HubSpot progress on bought leads to the sellers.",
     tags={"dagster/max_runtime": 900, **HUBSPOT_JOB_TAGS},
     executor_def=in_process_executor)
def cross_partner_sync_job() -> None:
    relay_pending_buyers()
