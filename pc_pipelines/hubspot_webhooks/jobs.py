"""The webhook backstop run: apply every partner's pending inbox events.

The hot-path worker (``pc worker``, ``pc_core.worker``) applies events as they arrive;
this run is launched only for events it left older than
``backstop_after_seconds`` (worker down, backlog). Both go through
``webhook_lane.apply_partner``: the partner's lease, then the one apply.

An op job rather than an asset job: the pull assets own the raw collections' and the
lead table's materialisations; this run is a small, frequent update of the same
tables through the same pc_core services (``webhook_apply``). One run covers every
connected partner with pending events, a partner per worker thread
(``pc_core.hubspot.sync_back.partner_runs``): each partner's apply is its own ``sync_task``
(trigger "webhook"); a partner whose apply fails has that task marked failed and its
sync health set, its events stay pending, and the others are applied; the run then
fails, naming those partners, so the operator is alerted. Partners whose
events arrive while the run works are picked up by the run's next round (up to
``ROUNDS``), so a busy minute does not wait for another pod start.
"""

from dagster import Failure, OpExecutionContext, in_process_executor, job, op

from pc_core.hubspot.sync_back import partner_runs
from pc_core.store import leases
from pc_core.worker.webhook_lane import apply_partner
from pc_pipelines.lib.run_tags import HUBSPOT_JOB_TAGS
from pc_pipelines.resources import PlatformResource

ROUNDS = 3  # passes over "who has pending events" per run


@op(description="For every partner with pending webhook events: read the current "
                "HubSpot state of the objects they name, store it, rebuild the leads, "
                "mark the events done. One partner's failure does not stop the others.")
def apply_hubspot_webhooks(context: OpExecutionContext, platform: PlatformResource) -> None:
    db, settings = platform.db(), platform.settings()
    failed: dict[str, str] = {}
    for _ in range(ROUNDS):
        pending = [p for p in partner_runs.webhook_pending(db) if p not in failed]
        if not pending:
            break
        report = partner_runs.for_each_partner(
            db, pending,
            lambda p: apply_partner(db, settings, p, leases.run_holder(context.run_id),
                                    run_id=context.run_id),
            job=context.job_name, run_id=context.run_id)
        for outcome in report.outcomes:
            if outcome.error is not None:
                failed[outcome.partner_id] = outcome.error
                continue
            if outcome.result is None:
                context.log.info(f"{outcome.partner_id}: a hot-path worker is applying it")
                continue
            task_id, stats = outcome.result.task_id, outcome.result.stats
            context.log.info(
                f"{outcome.partner_id}: sync task {task_id}: {stats.events} events, "
                f"{stats.objects} objects, leads created {stats.leads.created} updated "
                f"{stats.leads.updated}, {stats.requests} HubSpot requests in "
                f"{stats.duration_s:.2f}s")
    if failed:  # after every other partner was applied: the operator hears of it
        raise Failure(f"webhook apply failed for {len(failed)} partners (their sync tasks "
                      "say why; their events stay pending)",
                      metadata={p: e for p, e in sorted(failed.items())[:20]})


@job(description="Apply every partner's pending HubSpot webhook events.",
     tags={"dagster/max_runtime": 600, **HUBSPOT_JOB_TAGS},
     executor_def=in_process_executor)  # one op: no second process start
def hubspot_webhook_job() -> None:
    apply_hubspot_webhooks()
