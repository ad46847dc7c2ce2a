"""A stage-mapping change reaches the partner's leads within seconds, not at the next
sync: ``PUT /v1/partners/{id}/stage-mapping`` records a rebuild request,
``lead_rebuild_sensor`` (evaluated in-process) requests a run for the partner, and the
run (executed in-process) rebuilds the leads from the stored raw deals, with HubSpot
itself down. Refused changes request nothing."""

from __future__ import annotations

import pytest
from dagster import build_sensor_context

from pc_core import collections as c
from pc_core.hubspot.lead_build import rebuild_requests
from pc_core.settings import Settings
from pc_pipelines.lead_rebuild.jobs import lead_rebuild_job
from pc_pipelines.lead_rebuild.sensors import lead_rebuild_sensor
from tests.hubspot_helpers import Portal, connect, sync


@pytest.fixture
def settings(stores, hubspot_host) -> Settings:
    from tests.conftest import fresh_settings

    return fresh_settings(stores).model_copy(update={"hubspot_base_url": hubspot_host})


def _sensor(instance, resources):
    with build_sensor_context(instance=instance,
                              resources=resources) as context:
        return lead_rebuild_sensor(context)


def test_a_stage_mapping_change_rebuilds_the_leads_through_the_sensor(
        client, db, world, settings, instance, resources):
    partner = world.partner_a
    portal = Portal(settings, connect(db, settings, partner, deals=25, contacts=15, seed=8))
    sync(db, settings, partner)
    url = f"/v1/partners/{partner}/stage-mapping"
    mapping = client.get(url, headers=world.admin_a.headers).json()
    # The stage holding the most leads, mapped somewhere none of them are.
    leads = list(db[c.LEADS].find({"partner_id": partner}))
    by_stage: dict[tuple[str, str], int] = {}
    for lead in leads:
        key = (lead.get("hubspot_pipeline_id"), lead.get("hubspot_stage_id"))
        by_stage[key] = by_stage.get(key, 0) + 1
    (pipeline, stage), count = max(by_stage.items(), key=lambda kv: kv[1])
    item = next(m for m in mapping if (m["pipeline_id"], m["stage_id"]) == (pipeline, stage))
    target = "negotiation" if item["canonical_stage"] != "negotiation" else "proposal"
    assert _sensor(instance, resources).run_requests == []  # nothing pending yet

    answer = client.put(url, headers=world.admin_a.headers, json=[
        {"pipeline_id": pipeline, "stage_id": stage, "canonical_stage": target}])
    assert answer.status_code == 200
    assert rebuild_requests.get(db, partner)["status"] == "pending"

    [request] = _sensor(instance, resources).run_requests
    assert request.run_config["ops"]["rebuild_partner_leads"]["config"] == \
        {"partner_id": partner}
    # The rebuild needs no HubSpot: it runs with the portal answering 500 to everything.
    portal.config(fail_500=1.0)
    try:
        result = lead_rebuild_job.execute_in_process(
            instance=instance, run_config=request.run_config, tags=request.tags,
            resources=resources)
    finally:
        portal.config(fail_500=0.0)
    assert result.success
    moved = [d for d in db[c.LEADS].find({"partner_id": partner})
             if (d.get("hubspot_pipeline_id"), d.get("hubspot_stage_id")) == (pipeline, stage)]
    assert len(moved) == count and {d["stage"] for d in moved} == {target}
    task = db[c.SYNC_TASKS].find_one({"partner_id": partner, "trigger": "stage-mapping"})
    assert task["status"] == "succeeded" and task["counts"]["updated"] >= count
    assert rebuild_requests.get(db, partner)["status"] == "done"
    # Done: the next tick launches nothing; a further change launches again.
    assert _sensor(instance, resources).run_requests == []
    client.put(url, headers=world.admin_a.headers, json=[
        {"pipeline_id": pipeline, "stage_id": stage, "canonical_stage": "won"}])
    [again] = _sensor(instance, resources).run_requests
    assert again.run_key != request.run_key


def test_a_newer_change_during_a_rebuild_stays_pending(db, world):
    first = rebuild_requests.request_rebuild(db, world.partner_a, "stage-mapping")
    second = rebuild_requests.request_rebuild(db, world.partner_a, "stage-mapping")
    assert first["request_id"] != second["request_id"]
    assert rebuild_requests.finish(db, world.partner_a, first["request_id"]) is False
    assert rebuild_requests.get(db, world.partner_a)["status"] == "pending"
    assert rebuild_requests.finish(db, world.partner_a, second["request_id"]) is True
    assert rebuild_requests.pending(db) == []


def test_refused_stage_mapping_changes_request_no_rebuild(client, db, world, settings):
    connect(db, settings, world.partner_a, deals=5, contacts=5, seed=9)
    sync(db, settings, world.partner_a)
    url = f"/v1/partners/{world.partner_a}/stage-mapping"
    item = client.get(url, headers=world.admin_a.headers).json()[0]
    body = [{"pipeline_id": item["pipeline_id"], "stage_id": item["stage_id"],
             "canonical_stage": "won"}]
    assert client.put(url, json=body, headers=world.user_a.headers).status_code == 403
    assert client.put(url, json=body, headers=world.admin_b.headers).status_code == 404
    unknown = [{**body[0], "stage_id": "no-such-stage"}]
    assert client.put(url, json=unknown, headers=world.admin_a.headers).status_code == 400
    wrong = [{**body[0], "canonical_stage": "finished"}]
    assert client.put(url, json=wrong, headers=world.admin_a.headers).status_code == 422
    assert client.put(url, json=[], headers=world.admin_a.headers).status_code == 200
    assert rebuild_requests.get(db, world.partner_a) is None
