"""``lead_rebuild_job``: rebuild one partner's leads from its stored raw deals now
(``pc_core.hubspot.lead_build.lead_rebuild``), e.g. after its stage mapping changed. Launched by
``lead_rebuild_sensor`` with the partner in the run config; no HubSpot pull.
"""

from dagster import Config, OpExecutionContext, in_process_executor, job, op

from pc_core.hubspot.lead_build.lead_rebuild import rebuild_leads
from pc_pipelines.lib import run_tags
from pc_pipelines.resources import PlatformResource

PARTNER_TAG = run_tags.PARTNER_TAG  # one run per partner at a time, syncs included


class LeadRebuildConfig(Config):
    partner_id: str


@op(description="Rebuild the partner's leads from its raw HubSpot deals (stage mapping "
                "applied again), publish the changes, close the request.")
def rebuild_partner_leads(context: OpExecutionContext, config: LeadRebuildConfig,
                          platform: PlatformResource) -> None:
    task_id, built = rebuild_leads(platform.db(), platform.settings(), config.partner_id,
                                   run_id=context.run_id)
    context.log.info(f"sync task {task_id}: leads created {built.created}, updated "
                     f"{built.updated}, unchanged {built.unchanged}, unmapped {built.unmapped}")


def rebuild_run_config(partner_id: str) -> dict:
    return {"ops": {"rebuild_partner_leads": {"config": {"partner_id": partner_id}}}}


@job(description="Rebuild one partner's leads from stored HubSpot data (after a "
                 "stage-mapping change).", tags={"dagster/max_runtime": 1800},
     executor_def=in_process_executor)  # one op: no second process start
def lead_rebuild_job() -> None:
    rebuild_partner_leads()
