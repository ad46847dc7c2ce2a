"""The write-back lanes of the hot path (``pc worker``): a buyer's deal move reaches
the seller's HubSpot portal, and a platform edit the partner's own portal, within
seconds and without a Dagster run; each batch shows in Dagster as a runless
materialisation of its asset; HubSpot 429s and 500s in the middle of a relay are
retried and nothing is written twice, not even after a worker died between its
HubSpot writes and recording them; the sensors launch a backstop run only for work
left behind longer than the threshold."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import httpx
import pytest
from dagster import AssetKey, build_sensor_context

from pc_core import collections as c
from pc_core.hubspot.lead_build.deal_links import DEAL_LINKS
from pc_core.hubspot.sync_back.cross_partner import BUYER_STAGE_PROPERTY, sync_buyer
from pc_core.hubspot.sync_back.reverse_mapping import ReverseStages
from pc_core.identity.partners import create_partner
from pc_core.settings import Settings
from pc_core.store import leases, wakeups
from pc_core.sync import tasks as sync_tasks
from pc_core.timeutil import utcnow
from pc_core.worker import sync_back_lane
from pc_core.worker.runner import Worker
from pc_core.worker.sync_back_lane import Pushed
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.lib.runless import DagsterReporter
from pc_pipelines.resources import PlatformResource
from pc_pipelines.sync_back.sensors import cross_partner_sensor, hubspot_pushback_sensor
from tests.conftest import SYSTEM, sigkill_when, worker_settings
from tests.hubspot_helpers import Portal, connect, sync
from tests.test_cross_partner import _sell
from tests.test_hot_path_worker import REPO, deal_change, post_events, running, wait_for

settings = worker_settings  # the sandbox's HubSpot and a 60 s poll (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("hubspot_faults_off")


def _sold_and_delivered(db, settings, seller, buyer, n=1):
    """``n`` of the seller's leads sold to the buyer and delivered to its portal
    (a deal each, linked): (seller portal, buyer portal, [(lead, buyer deal id)])."""
    seller_portal = Portal(settings, connect(db, settings, seller, deals=max(20, 3 * n),
                                             seed=3))
    buyer_portal = Portal(settings, connect(db, settings, buyer, deals=5, contacts=5, seed=5))
    sync(db, settings, seller)
    sync(db, settings, buyer)
    leads = [d for d in db[c.LEADS].find({"partner_id": seller, "hubspot_deal_id": {"$ne": None}})
             if d["status"] in ("listed", "open")][:n]
    assert len(leads) == n
    for lead in leads:
        _sell(db, lead, buyer)
    assert sync_buyer(db, settings, buyer).delivered == n
    sold = [(lead, db[c.LEADS].find_one({"_id": lead["_id"]})["buyer_hubspot_deal_id"])
            for lead in leads]
    return seller_portal, buyer_portal, sold


def _relay_notes(portal: Portal, deal_id: str) -> list[str]:
    return [n for n in portal.notes_of(deal_id) if "The buyer moved this lead" in n]


def _move(db, buyer, buyer_portal, deal_id, canonical):
    deal = buyer_portal.deal(deal_id)["properties"]
    target = ReverseStages(db, buyer).stage_for(deal["pipeline"], canonical)
    assert target, f"the buyer's pipeline has a {canonical} stage"
    buyer_portal.update_deal(deal_id, dealstage=target)


def test_a_buyers_stage_change_reaches_the_sellers_portal_within_seconds_without_a_run(
        client, db, settings, redis_conn, world, instance):
    seller, buyer = world.partner_a, world.partner_b
    seller_portal, buyer_portal, [(lead, buyer_deal)] = _sold_and_delivered(
        db, settings, seller, buyer)
    reported: list = []
    holder = "worker:relay-1"
    reporter = DagsterReporter(instance, holder)
    worker = Worker(settings, holder=holder,
                    report=lambda b: (reported.append(b), reporter(b)))
    with running(worker, redis_conn):
        started = time.monotonic()
        _move(db, buyer, buyer_portal, buyer_deal, "proposal")
        post_events(client, settings, [deal_change(buyer_portal.portal_id, buyer_deal, 1)])

        def on_sellers_deal() -> bool:
            props = seller_portal.deal(lead["hubspot_deal_id"], BUYER_STAGE_PROPERTY)
            return props["properties"].get(BUYER_STAGE_PROPERTY) == "proposal"

        wait_for(on_sellers_deal, 15, "pc_buyer_stage on the seller's deal")
        took = time.monotonic() - started
    # the webhook lane flagged the link and woke the relay lane; no 60 s poll, no run
    assert took < 5, f"buyer's move → seller's portal took {took:.2f} s"
    assert instance.get_runs() == []
    assert len(_relay_notes(seller_portal, lead["hubspot_deal_id"])) == 1
    seller_view = client.get(f"/v1/leads/{lead['_id']}", headers=world.admin_a.headers)
    assert seller_view.json()["buyer_stage"] == "proposal"
    link = db[DEAL_LINKS].find_one({"buyer_partner_id": buyer})
    assert link["relayed_stage"] == "proposal" and not link["pending"]
    assert link.get("relay_intent") is None
    [relay] = [b for b in reported if isinstance(b, Pushed)]
    assert (relay.lane, relay.partner_id, relay.stats.relayed) == ("relay", buyer, 1)
    record = instance.get_latest_materialization_event(AssetKey("cross_partner_sync"))
    assert record is not None and record.run_id == ""  # runless
    mat = record.asset_materialization
    assert mat.partition == buyer and mat.metadata["stages_relayed"].value == 1
    assert 0 < mat.metadata["latency_s_oldest"].value < 5
    assert mat.metadata["worker"].value == holder
    task = db[c.SYNC_TASKS].find_one({"_id": relay.task_id})
    assert (task["trigger"], task["direction"], task["status"], task["dagster_run_id"]) == \
        ("relay", "push", "succeeded", None)


def _connected_with_a_lead_to_move(db, settings, partner: str):
    """The partner's portal connected and synced, its reverse stage map, and an open
    lead with a deal that can move to "proposal"."""
    portal = Portal(settings, connect(db, settings, partner))
    sync(db, settings, partner)
    stages = ReverseStages(db, partner)
    lead = next(d for d in db[c.LEADS].find({"partner_id": partner})
                if d["status"] == "open" and d.get("hubspot_deal_id") and d["stage"] != "proposal"
                and stages.stage_for(d["hubspot_pipeline_id"], "proposal"))
    return portal, stages, lead


def test_a_platform_edit_and_note_reach_the_partners_portal_within_seconds(
        client, db, settings, redis_conn, world, instance):
    partner = world.partner_a
    portal, stages, lead = _connected_with_a_lead_to_move(db, settings, partner)
    target = stages.stage_for(lead["hubspot_pipeline_id"], "proposal")
    holder = "worker:push-1"
    worker = Worker(settings, holder=holder, report=DagsterReporter(instance, holder))
    with running(worker, redis_conn):
        started = time.monotonic()
        edit = client.patch(f"/v1/leads/{lead['_id']}", json={"stage": "proposal"},
                            headers=world.admin_a.headers)
        assert edit.status_code == 200, edit.text
        wait_for(lambda: portal.deal(lead["hubspot_deal_id"])["properties"]["dealstage"]
                 == target, 15, "the new stage on the partner's deal")
        took = time.monotonic() - started
        note = client.post(f"/v1/leads/{lead['_id']}/notes", json={"body": "Called, keen"},
                           headers=world.admin_a.headers)
        assert note.status_code == 201, note.text
        wait_for(lambda: "Called, keen" in portal.notes_of(lead["hubspot_deal_id"]), 15,
                 "the note on the partner's deal")
        wait_for(lambda: not db[c.LEADS].find_one({"_id": lead["_id"]})["push_pending"], 5,
                 "the lead recorded as pushed")
    assert took < 5, f"edit → partner's portal took {took:.2f} s"
    assert instance.get_runs() == []
    assert portal.notes_of(lead["hubspot_deal_id"]).count("Called, keen") == 1
    record = instance.get_latest_materialization_event(AssetKey("hubspot_pushback"))
    assert record is not None and record.run_id == ""
    assert record.asset_materialization.partition == partner
    tasks = list(db[c.SYNC_TASKS].find({"partner_id": partner, "trigger": "pushback"}))
    assert tasks and all(t["status"] == "succeeded" for t in tasks)

    # A worker killed after writing the note and before recording it leaves the lead
    # as it was during the write (pending, the note's id intended, not pushed): the
    # next pass finds the note in HubSpot and writes nothing twice.
    doc = db[c.LEADS].find_one({"_id": lead["_id"]})
    note_id = doc["notes"][-1]["id"]
    assert note_id in doc["pushed_notes"] and not doc.get("push_notes_intent")
    db[c.LEADS].replace_one({"_id": doc["_id"]}, {
        **doc, "rev": doc["rev"] + 1, "push_pending": True, "push_notes_intent": [note_id],
        "pushed_notes": [i for i in doc["pushed_notes"] if i != note_id]})
    done = sync_back_lane.lane_pass(db, settings, wakeups.PUSHBACK, "worker:next")
    assert [p.partner_id for p in done.written] == [partner]
    assert portal.notes_of(lead["hubspot_deal_id"]).count("Called, keen") == 1
    after = db[c.LEADS].find_one({"_id": lead["_id"]})
    assert not after["push_pending"] and note_id in after["pushed_notes"]
    assert not after.get("push_notes_intent")


def test_hubspot_429s_and_500s_mid_relay_are_retried_and_nothing_is_written_twice(
        db, settings, world, hubspot_host):
    seller, buyer = world.partner_a, world.partner_b
    seller_portal, buyer_portal, sold = _sold_and_delivered(db, settings, seller, buyer, n=4)
    for _, buyer_deal in sold:
        _move(db, buyer, buyer_portal, buyer_deal, "proposal")
    sync(db, settings, buyer)  # the buyer's pull flags the links
    assert db[DEAL_LINKS].count_documents({"pending": True}) == 4
    before = httpx.get(f"{hubspot_host}/_sandbox/stats").json()["injected"]
    httpx.put(f"{hubspot_host}/_sandbox/config",
              json={"fail_500": 0.35, "fail_429": 0.35, "seed": 11}).raise_for_status()
    passes = 0
    while db[DEAL_LINKS].count_documents({"pending": True}) and passes < 10:
        sync_back_lane.lane_pass(db, settings, wakeups.RELAY, "worker:faulty")
        passes += 1
    injected = httpx.get(f"{hubspot_host}/_sandbox/stats").json()["injected"]
    httpx.put(f"{hubspot_host}/_sandbox/config", json={"fail_500": 0, "fail_429": 0})
    assert injected.get("500", 0) > before.get("500", 0), injected
    assert injected.get("429", 0) > before.get("429", 0), injected
    assert db[DEAL_LINKS].count_documents({"pending": True}) == 0, f"after {passes} passes"
    for lead, _ in sold:
        deal = seller_portal.deal(lead["hubspot_deal_id"], BUYER_STAGE_PROPERTY)
        assert deal["properties"][BUYER_STAGE_PROPERTY] == "proposal"
        assert len(_relay_notes(seller_portal, lead["hubspot_deal_id"])) == 1

    # A worker killed after its HubSpot writes and before recording them leaves the
    # link as it was during the writes (pending, with the intent): the next pass finds
    # the note it wrote and writes nothing twice.
    lead, _ = sold[0]
    link = db[DEAL_LINKS].find_one({"lead_id": lead["_id"]})
    [written] = _relay_notes(seller_portal, lead["hubspot_deal_id"])
    written_ref = written.rsplit("ref ", 1)[1]
    db[DEAL_LINKS].replace_one({"_id": link["_id"]}, {
        **link, "pending": True, "relayed_stage": None, "rev": link["rev"] + 1,
        "relay_intent": {"stage": "proposal", "id": written_ref.rstrip(")")}})
    done = sync_back_lane.lane_pass(db, settings, wakeups.RELAY, "worker:next")
    assert [p.stats.relayed for p in done.written] == [1]
    assert len(_relay_notes(seller_portal, lead["hubspot_deal_id"])) == 1
    after = db[DEAL_LINKS].find_one({"_id": link["_id"]})
    assert after["relayed_stage"] == "proposal" and not after["pending"]


def test_the_sensors_launch_backstop_runs_only_for_work_left_behind(
        db, settings, instance, monkeypatch):
    monkeypatch.setenv("PC_BACKSTOP_AFTER_SECONDS", "30")
    partner = create_partner(db, SYSTEM, name="Agency Y").id
    db[c.PARTNERS].update_one({"_id": partner}, {"$set": {"hubspot.portal_id": "778"}})
    instance.add_dynamic_partitions(partners_partitions.name, [partner])
    resources = {"platform": PlatformResource.of(settings)}

    def add_work(age_s: float) -> None:
        at = utcnow() - timedelta(seconds=age_s)
        db[c.LEADS].insert_one({"_id": uuid.uuid4().hex, "partner_id": partner, "rev": 1,
                                "push_pending": True, "updated_at": at})
        db[DEAL_LINKS].insert_one({"_id": uuid.uuid4().hex, "buyer_partner_id": partner,
                                   "rev": 1, "pending": True, "pending_since": at})

    def tick(sensor):
        return sensor(build_sensor_context(instance=instance, resources=resources))

    add_work(2)  # fresh: the worker's
    assert tick(hubspot_pushback_sensor).run_requests == []
    assert tick(cross_partner_sensor).run_requests == []
    add_work(45)  # left behind for longer than the threshold
    [push] = tick(hubspot_pushback_sensor).run_requests
    [cross] = tick(cross_partner_sensor).run_requests
    assert push.tags["pc/partners"] == "1" and cross.tags["pc/partners"] == "1"


def test_a_write_back_task_left_running_by_a_dead_worker_is_closed_on_the_next_poll(
        db, settings):
    """Killed after its HubSpot writes and records, before finishing its task: nothing
    is pending, so no takeover comes; the poll pass closes the task, saying why. A
    Dagster run's too, once its lease ran out still naming it (a SIGKILLed run never
    ends in Dagster); a live worker's, a live run's and a run's without a lease (a
    sale delivery's task, written outside the lanes) are left alone. A worker without
    the webhook lane sweeps too."""
    dead = sync_tasks.create_task(db, "p-dead", trigger="relay", direction="push",
                                  status="running")
    busy = sync_tasks.create_task(db, "p-busy", trigger="pushback", direction="push",
                                  status="running")

    def run_task(partner: str, run_id: str) -> dict:
        return sync_tasks.create_task(db, partner, trigger="change", direction="push",
                                      status="running", dagster_run_id=run_id)

    unleased, killed, alive = run_task("p-run", "run-1"), run_task("p-k", "run-2"), \
        run_task("p-a", "run-3")
    assert leases.acquire(db, wakeups.PUSHBACK, "p-busy", "worker:alive", 30)
    assert leases.acquire(db, wakeups.RELAY, "p-k", leases.run_holder("run-2"), 0.05)
    assert leases.acquire(db, wakeups.RELAY, "p-a", leases.run_holder("run-3"), 30)
    time.sleep(0.1)  # run-2's lease runs out
    # a worker of the write-back lanes only (`pc worker --lanes pushback,relay`) sweeps
    closed = Worker(settings, holder="worker:sweeper", db=db,
                    lanes=(wakeups.PUSHBACK, wakeups.RELAY)).run_once().closed
    assert sorted(closed) == sorted([dead["_id"], killed["_id"]])
    after = db[c.SYNC_TASKS].find_one({"_id": dead["_id"]})
    assert after["status"] == "failed" and "stopped" in after["errors"][0]
    after = db[c.SYNC_TASKS].find_one({"_id": killed["_id"]})
    assert after["status"] == "failed" and "Dagster run run-2 stopped" in after["errors"][0]
    for task in (busy, unleased, alive):
        assert db[c.SYNC_TASKS].find_one({"_id": task["_id"]})["status"] == "running"


# A Dagster job executed in a process of its own, as a run worker executes it, on the
# Dagster instance under DAGSTER_HOME (the test's, which knows the partner's partition).
RUN_JOB = """
import sys
from dagster import DagsterInstance
from pc_pipelines.definitions import defs
defs.resolve_job_def(sys.argv[1]).execute_in_process(instance=DagsterInstance.get(),
                                                     raise_on_error=False)
"""


def _run_process(settings: Settings, job: str, home: str, lease_s: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": REPO, "DAGSTER_HOME": home,
           "MONGODB_URI": settings.mongodb_uri, "MONGODB_DB": settings.mongodb_db,
           "REDIS_URL": settings.redis_url, "PC_HUBSPOT_BASE_URL": settings.hubspot_base_url,
           "PC_HUBSPOT_CLIENT_SECRET": settings.hubspot_client_secret,
           "PC_TOKEN_ENCRYPTION_KEY": settings.token_encryption_key,
           "PC_WORKER_LEASE_SECONDS": str(lease_s), "PC_LOG_FORMAT": "text"}
    return subprocess.Popen([sys.executable, "-c", RUN_JOB, job], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_sigkilled_pushback_run_is_taken_over_its_task_closed_and_its_edit_written_once(
        client, db, settings, world, instance, hubspot_host):
    """SIGKILLed in the middle of writing, a Dagster run never ends (no failure event,
    so no run-failure sensor): its sync task stayed "running" for ever. Its lease runs
    out like a dead worker's; the next holder closes the run's task as failed, naming
    the run, and writes the edit once; the history reads: failed, then succeeded."""
    partner = world.partner_a
    portal, stages, lead = _connected_with_a_lead_to_move(db, settings, partner)
    for answer in (
            client.patch(f"/v1/leads/{lead['_id']}", json={"stage": "proposal"},
                         headers=world.admin_a.headers),
            client.post(f"/v1/leads/{lead['_id']}/notes", json={"body": "Killed mid-write"},
                        headers=world.admin_a.headers)):
        assert answer.status_code in (200, 201), answer.text
    instance.add_dynamic_partitions(partners_partitions.name, [partner])
    httpx.put(f"{hubspot_host}/_sandbox/config",  # HubSpot slow: caught mid-write
              json={"slow_fraction": 1.0, "slow_ms": 700}).raise_for_status()
    run = _run_process(settings, "hubspot_pushback_job", instance.root_directory, lease_s=1.0)
    task = sigkill_when(run, lambda: db[c.SYNC_TASKS].find_one(
        {"partner_id": partner, "status": "running", "direction": "push"}), 60,
        "the run writing the partner's edit", settle=0.3)  # inside its HubSpot calls
    httpx.put(f"{hubspot_host}/_sandbox/config", json={"slow_fraction": 0, "slow_ms": 0})
    run_id = task["dagster_run_id"]
    assert run_id and task["trigger"] != "pushback"  # the run's task, not a worker's
    assert db[c.SYNC_TASKS].find_one({"_id": task["_id"]})["status"] == "running"

    # the worker's passes (a poll pass sweeps as well) until the run's lease ran out
    worker = Worker(settings, holder="worker:after-the-run", db=db)
    wait_for(lambda: worker.run_once().pushed or (
        not db[c.LEADS].find_one({"_id": lead["_id"]})["push_pending"]
        and db[c.SYNC_TASKS].find_one({"_id": task["_id"]})["status"] != "running"),
        15, "the partner's edit taken over")
    target = stages.stage_for(lead["hubspot_pipeline_id"], "proposal")
    assert portal.deal(lead["hubspot_deal_id"])["properties"]["dealstage"] == target
    assert portal.notes_of(lead["hubspot_deal_id"]).count("Killed mid-write") == 1
    assert not db[c.LEADS].find_one({"_id": lead["_id"]})["push_pending"]
    dead = db[c.SYNC_TASKS].find_one({"_id": task["_id"]})
    assert dead["status"] == "failed" and f"Dagster run {run_id}" in dead["errors"][-1]
    history = sorted(db[c.SYNC_TASKS].find({"partner_id": partner, "direction": "push"}),
                     key=lambda t: t["sort_key"])
    assert [(t["status"], t["dagster_run_id"]) for t in history] == \
        [("failed", run_id), ("succeeded", None)]
    assert not db[c.SYNC_TASKS].find_one({"status": "running"})
