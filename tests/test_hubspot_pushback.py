"""Platform → HubSpot pushback and "most recent change wins", against the sandbox
process and nx-27017: edits reach the deal (stage through the reverse mapping, amount,
notes), our own change coming back is not a change, conflicts are decided both ways
and logged, and a HubSpot outage leaves everything pending for the next run."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance, build_sensor_context
from urllib3.util.retry import Retry

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.hubspot.connection.oauth import PartnerTokens
from pc_core.hubspot.connection.transport import CallPolicy
from pc_core.hubspot.sync_back.pushback import push_partner
from pc_core.hubspot.sync_back.reverse_mapping import ReverseStages
from pc_core.leads.inventory import add_note, update_lead
from pc_core.models.leads import LeadOut, LeadUpdate
from pc_core.models.sync_tasks import SyncTaskOut
from pc_core.sync import tasks as sync_tasks
from pc_pipelines.definitions import defs
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.resources import PlatformResource
from pc_pipelines.sync_back.jobs import hubspot_pushback_job
from pc_pipelines.sync_back.sensors import hubspot_pushback_sensor
from tests.hubspot_helpers import Portal, connect, sync


@pytest.fixture
def hs(settings, hubspot_host):
    return settings.model_copy(update={"hubspot_base_url": hubspot_host})


@pytest.fixture
def setup(db, hs, world):
    """Partner A connected to a fresh portal and synced once."""
    portal_id = connect(db, hs, world.partner_a)
    sync(db, hs, world.partner_a)
    actor = Principal(world.admin_a.id, Role.ADMIN, world.partner_a)
    return Portal(hs, portal_id), actor


def _open_leads(db, partner_id, wanted="proposal", n=1):
    """Open leads whose pipeline has a stage for ``wanted`` and which are elsewhere."""
    stages = ReverseStages(db, partner_id)
    leads = [d for d in db[c.LEADS].find({"partner_id": partner_id})
             if d["status"] == "open" and d["stage"] not in (wanted,)
             and stages.stage_for(d["hubspot_pipeline_id"], wanted)]
    assert len(leads) >= n
    return leads[:n]


def _push(db, hs, partner_id, **kw):
    return push_partner(db, hs, partner_id, PartnerTokens(db, hs, partner_id), **kw)


def _lead(db, lead_id):
    return db[c.LEADS].find_one({"_id": lead_id})


def test_platform_edits_reach_the_deal_and_the_echo_is_no_change(db, hs, world, setup):
    portal, actor = setup
    p = world.partner_a
    (lead,) = _open_leads(db, p)
    update_lead(db, actor, lead["_id"], LeadUpdate(stage="proposal", amount_cents=123456))
    add_note(db, actor, lead["_id"], "Called; proposal on its way")
    assert _lead(db, lead["_id"])["push_pending"] is True

    stats = _push(db, hs, p)
    assert (stats.leads, stats.deals_updated, stats.notes_created, stats.failed) == (1, 1, 1, 0)
    expected = ReverseStages(db, p).stage_for(lead["hubspot_pipeline_id"], "proposal")
    deal = portal.deal(lead["hubspot_deal_id"])["properties"]
    assert deal["dealstage"] == expected and deal["amount"] == "1234.56"
    assert portal.notes_of(lead["hubspot_deal_id"]) == ["Called; proposal on its way"]
    after = _lead(db, lead["_id"])
    assert after["push_pending"] is False and after["hubspot_synced_at"] is not None
    assert after["pushed"]["stage"]["value"] == "proposal"
    assert after["pushed"]["amount_cents"]["value"] == 123456
    assert after["local_edits"] == {} and after["hubspot_stage_id"] == expected
    assert _push(db, hs, p).leads == 0  # nothing pending any more

    # The pull brings our own change back: not a change, not a conflict.
    task = sync_tasks.create_task(db, p, trigger="test", status="running")
    built = sync(db, hs, p, task_id=task["_id"])
    assert built.resolved == []
    again = _lead(db, lead["_id"])
    assert (again["stage"], again["amount_cents"]) == ("proposal", 123456)
    assert again["field_times"]["stage"] == after["field_times"]["stage"]
    assert db[c.SYNC_TASKS].find_one({"_id": task["_id"]})["conflicts"] == []


def test_an_echo_arriving_after_a_newer_platform_edit_is_ignored(db, hs, world, setup):
    portal, actor = setup
    p = world.partner_a
    (lead,) = _open_leads(db, p)
    update_lead(db, actor, lead["_id"], LeadUpdate(stage="proposal"))
    _push(db, hs, p)
    update_lead(db, actor, lead["_id"], LeadUpdate(stage="negotiation"))
    built = sync(db, hs, p)  # HubSpot now says "proposal": what we pushed
    assert built.resolved == []
    now = _lead(db, lead["_id"])
    assert now["stage"] == "negotiation" and now["push_pending"] is True
    _push(db, hs, p)
    stages = ReverseStages(db, p)
    deal = portal.deal(lead["hubspot_deal_id"])["properties"]
    assert stages.canonical(deal["pipeline"], deal["dealstage"]) == "negotiation"


def test_conflicts_are_won_by_the_latest_change_and_logged(db, hs, world, setup):
    portal, actor = setup
    p = world.partner_a
    first, second, third, fourth = _open_leads(db, p, n=4)
    # 1: the platform edits, then a HubSpot user: HubSpot wins.
    update_lead(db, actor, first["_id"], LeadUpdate(amount_cents=100))
    portal.update_deal(first["hubspot_deal_id"], amount="200")
    # 2: a HubSpot user edits, then the platform: the platform wins.
    portal.update_deal(second["hubspot_deal_id"], amount="300")
    update_lead(db, actor, second["_id"], LeadUpdate(amount_cents=40000))
    # 3: the platform edits the stage, HubSpot changes it, and the pushback runs before
    # the pull: HubSpot's newer stage is not overwritten.
    update_lead(db, actor, third["_id"], LeadUpdate(stage="proposal"))
    pipeline = third["hubspot_pipeline_id"]
    stages = ReverseStages(db, p)
    hubspot_stage = next(stages.stage_for(pipeline, s) for s in ("negotiation", "won", "lost")
                         if s != third["stage"] and stages.stage_for(pipeline, s))
    portal.update_deal(third["hubspot_deal_id"], dealstage=hubspot_stage)
    early = _push(db, hs, p, batch=50)
    assert early.deferred == 2  # first and third: HubSpot's change is the newer one
    # second: the platform's change is newer and goes out; HubSpot's is overridden, logged.
    (two,) = early.conflicts
    assert (two["lead_id"], two["field"], two["winner"]) == (second["_id"], "amount_cents",
                                                             "platform")
    assert (two["platform_value"], two["hubspot_value"]) == (40000, 30000)
    assert two["platform_at"] > two["hubspot_at"]
    assert portal.deal(third["hubspot_deal_id"])["properties"]["dealstage"] == hubspot_stage

    # 4: as 2, but the pull comes first: the lead builder decides for the platform.
    portal.update_deal(fourth["hubspot_deal_id"], amount="500")
    update_lead(db, actor, fourth["_id"], LeadUpdate(amount_cents=60000))

    task = sync_tasks.create_task(db, p, trigger="test", status="running")
    sync(db, hs, p, task_id=task["_id"])
    assert _lead(db, first["_id"])["amount_cents"] == 20000
    assert _lead(db, fourth["_id"])["amount_cents"] == 60000
    assert _lead(db, second["_id"])["amount_cents"] == 40000
    assert _lead(db, third["_id"])["stage"] == stages.canonical(pipeline, hubspot_stage)
    logged = {(x["lead_id"], x["field"]): x
              for x in db[c.SYNC_TASKS].find_one({"_id": task["_id"]})["conflicts"]}
    one = logged[(first["_id"], "amount_cents")]
    assert (one["winner"], one["platform_value"], one["hubspot_value"]) == ("hubspot", 100,
                                                                             20000)
    assert one["hubspot_at"] > one["platform_at"]
    assert (second["_id"], "amount_cents") not in logged  # decided by the pushback
    four = logged[(fourth["_id"], "amount_cents")]
    assert (four["winner"], four["platform_value"], four["hubspot_value"]) == ("platform",
                                                                               60000, 50000)
    assert four["platform_at"] > four["hubspot_at"]
    assert logged[(third["_id"], "stage")]["winner"] == "hubspot"
    assert SyncTaskOut.from_doc(db[c.SYNC_TASKS].find_one({"_id": task["_id"]})).conflicts

    # The winners end up on both sides.
    _push(db, hs, p)
    assert portal.deal(first["hubspot_deal_id"])["properties"]["amount"] == "200"
    assert portal.deal(second["hubspot_deal_id"])["properties"]["amount"] == "400.00"
    assert portal.deal(fourth["hubspot_deal_id"])["properties"]["amount"] == "600.00"
    assert all(not _lead(db, x["_id"])["push_pending"] for x in (first, second, third, fourth))


def test_hubspot_down_during_pushback_is_retried_later_and_nothing_is_lost(
    db, hs, world, setup
):
    portal, actor = setup
    p = world.partner_a
    leads = _open_leads(db, p, n=3)
    for i, lead in enumerate(leads):
        update_lead(db, actor, lead["_id"], LeadUpdate(stage="proposal", amount_cents=1000 + i))
        add_note(db, actor, lead["_id"], f"note {i}")
    before = {x["_id"]: portal.deal(x["hubspot_deal_id"])["properties"] for x in leads}
    quick = Retry(total=1, backoff_factor=0, status_forcelist=[500, 502, 503, 504],
                  allowed_methods=None, raise_on_status=False)
    portal.config(fail_500=1.0)
    try:
        down = _push(db, hs, p, policy=CallPolicy(attempts=2, pause_s=0.01), retry=quick)
    finally:
        portal.config(fail_500=0)
    assert down.failed == 3 and down.errors
    for lead in leads:
        assert _lead(db, lead["_id"])["push_pending"] is True
        assert portal.deal(lead["hubspot_deal_id"])["properties"] == before[lead["_id"]]

    back = _push(db, hs, p)
    assert (back.leads, back.deals_updated, back.notes_created) == (3, 3, 3)
    for i, lead in enumerate(leads):
        deal = portal.deal(lead["hubspot_deal_id"])["properties"]
        assert deal["amount"] == f"{10 + i // 100}.{(1000 + i) % 100:02d}"
        assert portal.notes_of(lead["hubspot_deal_id"]) == [f"note {i}"]
        assert _lead(db, lead["_id"])["push_pending"] is False


def test_a_stage_without_a_hubspot_stage_is_skipped_and_reported(db, hs, world, setup):
    _, actor = setup
    p = world.partner_a
    (lead,) = _open_leads(db, p)
    for mapping in db[c.STAGE_MAPPINGS].find({"partner_id": p, "canonical_stage": "lost"}):
        db[c.STAGE_MAPPINGS].replace_one({"_id": mapping["_id"]},
                                         {**mapping, "canonical_stage": None})
    update_lead(db, actor, lead["_id"], LeadUpdate(stage="lost"))
    stats = _push(db, hs, p)
    assert [s["lead_id"] for s in stats.skipped] == [lead["_id"]]
    after = _lead(db, lead["_id"])
    assert after["push_pending"] is False and after["stage"] == "lost"
    assert "stage" in after["push_skipped"]
    assert LeadOut.from_doc(after).stage == "lost"


def test_the_sensor_launches_one_pushback_run(db, hs, world, setup, tmp_path, monkeypatch):
    monkeypatch.setenv("PC_BACKSTOP_AFTER_SECONDS", "0")  # the launch rule, not its threshold
    _, actor = setup
    p = world.partner_a
    assert "hubspot_pushback" in {k.to_user_string() for k in
                                  defs.get_repository_def().asset_graph.get_all_asset_keys()}
    (lead,) = _open_leads(db, p)
    update_lead(db, actor, lead["_id"], LeadUpdate(amount_cents=777))
    resources = {"platform": PlatformResource.of(hs)}
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        instance.add_dynamic_partitions(partners_partitions.name, [p])
        [request] = hubspot_pushback_sensor(build_sensor_context(
            instance=instance, resources=resources)).run_requests
        assert request.tags["pc/partners"] == "1" and "pc/partner_id" not in request.tags
        again = hubspot_pushback_sensor(build_sensor_context(instance=instance,
                                                             resources=resources))
        assert [r.run_key for r in again.run_requests] == [request.run_key]
        result = hubspot_pushback_job.execute_in_process(instance=instance,
                                                         resources=resources,
                                                         tags=request.tags)
        assert result.success
        # the run reports the asset's materialisation in the partner's partition
        [mat] = result.asset_materializations_for_node("push_pending_edits")
        assert mat.asset_key.to_user_string() == "hubspot_pushback" and mat.partition == p
    assert _lead(db, lead["_id"])["push_pending"] is False
    task = db[c.SYNC_TASKS].find_one({"dagster_run_id": result.run_id})
    assert task["direction"] == "push" and task["status"] == "succeeded"
    assert task["counts"]["updated"] == 1
