"""The webhook-triggered HubSpot run: apply one partner's pending inbox events.

An op job rather than an asset job: the pull assets own the raw collections' and the
lead table's materialisations; this run is a small, frequent update of the same
tables through the same pc_core services (``webhook_apply``), launched by
``hubspot_webhook_sensor`` with the partner in the run config.
"""

from dagster import Config, OpExecutionContext, job, op

from pc_core.hubspot.webhook_apply import run_webhook_sync
from pc_pipelines.resources import EventsResource, HubSpotResource, MongoResource
from pc_pipelines.run_tags import HUBSPOT_JOB_TAGS, PARTNER_TAG

__all__ = ["PARTNER_TAG", "hubspot_webhook_job", "webhook_run_config"]



class WebhookRunConfig(Config):
    partner_id: str


@op(description="Read the current HubSpot state of the objects named by the partner's "
                "pending webhook events, store it, rebuild the leads, mark events done.")
def apply_hubspot_webhooks(context: OpExecutionContext, config: WebhookRunConfig,
                           mongo: MongoResource, hubspot: HubSpotResource,
                           events: EventsResource) -> None:
    db = mongo.db()
    task_id, stats = run_webhook_sync(
        db, hubspot.settings(mongo), config.partner_id,
        events_settings=events.settings(), run_id=context.run_id)
    context.log.info(
        f"sync task {task_id}: {stats.events} events, {stats.objects} objects, "
        f"leads created {stats.leads.created} updated {stats.leads.updated}, "
        f"{stats.requests} HubSpot requests in {stats.duration_s:.2f}s")


def webhook_run_config(partner_id: str) -> dict:
    return {"ops": {"apply_hubspot_webhooks": {"config": {"partner_id": partner_id}}}}


@job(description="Apply one partner's pending HubSpot webhook events.",
     tags={"dagster/max_runtime": 600, **HUBSPOT_JOB_TAGS})
def hubspot_webhook_job() -> None:
    apply_hubspot_webhooks()
