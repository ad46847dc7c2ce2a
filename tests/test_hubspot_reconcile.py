"""The reconciliation asset: with webhooks dropped (changes made in the portal reach
us by no webhook), the 15-minute pull misses deletions past 200 and a removed stage;
the reconciliation finds and heals every drift, its check fails with the numbers, and
a second run finds nothing."""

from __future__ import annotations

import httpx
from dagster import build_schedule_context, materialize

from pc_core import collections as c
from pc_core.hubspot.lead_build.stage_mapping import unmapped_stages
from pc_core.timeutil import utcnow
from pc_pipelines.hubspot_reconcile.assets import CHECK, hubspot_reconciliation
from pc_pipelines.hubspot_reconcile.schedules import hubspot_reconcile_schedule
from pc_pipelines.lib.partitions import partners_partitions
from tests.hubspot_helpers import Portal, connect, sync

DEALS = 320
EARLY = 230  # archived records past the 200 an incremental pull keeps looking at
DELETED = 15  # deleted afterwards: only a webhook or the reconciliation finds these


def _live_leads(db, partner_id: str) -> dict[str, dict]:
    return {lead["hubspot_deal_id"]: lead
            for lead in db[c.LEADS].find({"partner_id": partner_id})
            if lead.get("status") != "archived"}


def _reconcile(partner_id, instance, resources):
    result = materialize([hubspot_reconciliation], partition_key=partner_id,
                         instance=instance, resources=resources)
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == CHECK
    meta = result.asset_materializations_for_node("hubspot_reconciliation")[0].metadata
    return check, {k: v.value for k, v in meta.items()}


def test_reconciliation_heals_what_dropped_webhooks_and_pulls_missed(
    db, settings, hubspot_host, world, instance, resources
):
    hs_settings = settings.model_copy(update={"hubspot_base_url": hubspot_host})
    partner = world.partner_a
    portal_id = connect(db, hs_settings, partner, deals=DEALS, contacts=120)
    sync(db, hs_settings, partner)
    instance.add_dynamic_partitions(partners_partitions.name, [partner])
    assert len(_live_leads(db, partner)) == DEALS

    user = Portal(hs_settings, portal_id)
    ids = sorted(_live_leads(db, partner), key=int)

    def archive(deal_ids):
        for start in range(0, len(deal_ids), 100):
            httpx.post(f"{hubspot_host}/crm/v3/objects/deals/batch/archive",
                       headers=user.headers,
                       json={"inputs": [{"id": i} for i in deal_ids[start:start + 100]]}
                       ).raise_for_status()

    # A big clean-up the pull sees (230 archived records), then, with no webhook
    # reaching us: a rename, a new deal, 15 more deletions, and a stage removed while
    # deals are still in it.
    archive(ids[-EARLY:])
    sync(db, hs_settings, partner)
    ids = ids[:-EARLY]
    before = _live_leads(db, partner)
    assert set(before) == set(ids)
    renamed, doomed = ids[0], ids[1:1 + DELETED]
    user.update_deal(renamed, dealname="Renamed, webhook dropped")
    victim = next(d for d in ids[1 + DELETED:]
                  if not before[d].get("stage_unmapped") and before[d].get("hubspot_stage_id"))
    pipeline, stage = before[victim]["hubspot_pipeline_id"], before[victim]["hubspot_stage_id"]
    in_stage = {d for d in ids[1 + DELETED:] if before[d].get("hubspot_stage_id") == stage
                and before[d].get("hubspot_pipeline_id") == pipeline}
    created = httpx.post(f"{hubspot_host}/crm/v3/objects/deals", headers=user.headers, json={
        "properties": {"dealname": "Created, webhook dropped", "pipeline": pipeline,
                       "dealstage": user.stages(pipeline)[0]["id"]}}).json()["id"]
    archive(doomed)
    httpx.delete(f"{hubspot_host}/crm/v3/pipelines/deals/{pipeline}/stages/{stage}",
                 headers=user.headers).raise_for_status()
    history_before = db[c.STAGE_EVENTS].count_documents({"lead_id": before[victim]["_id"]})

    # The scheduled incremental pull brings the rename and the new deal, not the
    # deletions (past 200 archived records it stops looking) nor the removed stage.
    sync(db, hs_settings, partner)
    live = _live_leads(db, partner)
    assert live[renamed]["title"] == "Renamed, webhook dropped" and created in live
    assert set(doomed) <= set(live)

    # The daily schedule asks for this partner; the reconciliation heals it all.
    ctx = build_schedule_context(instance=instance, scheduled_execution_time=utcnow(),
                                 resources=resources)
    assert [r.partition_key for r in hubspot_reconcile_schedule(ctx)] == [partner]
    check, meta = _reconcile(partner, instance, resources)
    assert not check.passed
    assert meta["deleted"] == DELETED and meta["stages_removed"] == 1
    assert meta["drift"] == DELETED + 1 and meta["missing"] == 0
    assert meta["hubspot_deals"] == DEALS - EARLY + 1 - DELETED
    live = _live_leads(db, partner)
    assert set(live) == set(ids[1 + DELETED:]) | {renamed, created}
    assert all(db[c.LEADS].find_one({"partner_id": partner, "hubspot_deal_id": d})["status"]
               == "archived" for d in doomed)
    # The removed stage's deals are unmapped now, their stage history kept, and the
    # partner is not asked to map a stage that no longer exists.
    assert in_stage and all(live[d]["stage_unmapped"] for d in in_stage)
    assert db[c.STAGE_EVENTS].count_documents({"lead_id": before[victim]["_id"]}) >= \
        history_before >= 1
    assert not [u for u in unmapped_stages(db, partner) if u["stage_id"] == stage]

    # A missed update alone (the pull did not run): found as stale and applied.
    user.update_deal(ids[-1], dealname="Second rename, webhook dropped")
    check, meta = _reconcile(partner, instance, resources)
    assert not check.passed and meta["stale"] == 1 and meta["drift"] == 1
    assert _live_leads(db, partner)[ids[-1]]["title"] == "Second rename, webhook dropped"

    # In step again: the check passes.
    check, meta = _reconcile(partner, instance, resources)
    assert check.passed and meta["drift"] == 0
