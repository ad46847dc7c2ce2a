"""The hot path (``pc worker``): a HubSpot change reaches the lead through the API in
seconds without a Dagster run, each batch shows in Dagster as a runless
materialisation of ``leads``, two workers share partners without applying an event
twice, a SIGKILLed worker's partners are taken over once its lease runs out, and the
Dagster sensor launches a backstop run only for events the worker left behind."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from dagster import AssetKey, build_sensor_context

from pc_core import collections as c
from pc_core.hubspot.connection import api_pool
from pc_core.hubspot.webhooks.ingest import seq_of
from pc_core.identity.partners import create_partner
from pc_core.security.encryption import decrypt_secret, encrypt_secret
from pc_core.settings import Settings
from pc_core.store import leases, wakeups
from pc_core.sync import tasks as sync_tasks
from pc_core.worker.runner import Worker
from pc_core.worker.webhook_lane import LANE, Applied
from pc_pipelines.hubspot_webhooks.sensors import hubspot_webhook_sensor
from pc_pipelines.lib.runless import DagsterReporter
from pc_pipelines.resources import PlatformResource
from tests.conftest import SYSTEM, sigkill_when, wait_for, worker_process, worker_settings
from tests.hubspot_helpers import Portal, connect, sync
from tests.test_hubspot_webhooks import PATH, sign

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


settings = worker_settings  # the sandbox's HubSpot and a 60 s poll (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("hubspot_faults_off")


def deal_change(portal_id: str, deal_id: str, n: int) -> dict:
    return {"eventId": 5000 + n, "subscriptionId": 4100001, "portalId": int(portal_id),
            "appId": 1000001, "occurredAt": int(time.time() * 1000) + n,
            "subscriptionType": "deal.propertyChange", "attemptNumber": 0,
            "objectId": int(deal_id), "propertyName": "dealname",
            "propertyValue": "ignored: the worker reads HubSpot", "changeSource": "CRM_UI"}


def post_events(client, settings: Settings, events: list[dict]) -> None:
    body = json.dumps(events)
    uri = settings.public_url.rstrip("/") + PATH
    answer = client.post(PATH, content=body,
                         headers=sign(body, settings.hubspot_client_secret, uri))
    assert answer.status_code == 200, answer.text


@contextmanager
def running(worker: Worker, redis_conn) -> Iterator[Worker]:
    """The worker's loop in a thread, subscribed to its wake-ups before we go on."""
    before = dict(redis_conn.pubsub_numsub(wakeups.CHANNEL)).get(wakeups.CHANNEL, 0)
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while dict(redis_conn.pubsub_numsub(wakeups.CHANNEL)).get(wakeups.CHANNEL, 0) <= before:
        assert time.monotonic() < deadline, "the worker never subscribed"
        time.sleep(0.05)
    try:
        yield worker
    finally:
        worker.stop.set()
        thread.join(timeout=30)


def a_lead(db, partner_id: str) -> dict:
    return db[c.LEADS].find_one({"partner_id": partner_id, "hubspot_deal_id": {"$ne": None}})


def test_a_deal_renamed_in_hubspot_shows_through_the_api_within_seconds_and_in_dagster(
        client, db, settings, redis_conn, world, instance):
    portal = Portal(settings, connect(db, settings, world.partner_a))
    sync(db, settings, world.partner_a)
    lead = a_lead(db, world.partner_a)
    portal.update_deal(lead["hubspot_deal_id"], dealname="Renamed in HubSpot")
    reported: list[Applied] = []
    holder = "worker:test-1"
    reporter = DagsterReporter(instance, holder)
    worker = Worker(settings, holder=holder,
                    report=lambda a: (reported.append(a), reporter(a)))
    with running(worker, redis_conn):
        started = time.monotonic()
        post_events(client, settings, [deal_change(portal.portal_id,
                                                   lead["hubspot_deal_id"], 1)])

        def visible() -> bool:
            answer = client.get(f"/v1/leads/{lead['_id']}", headers=world.admin_a.headers)
            return answer.status_code == 200 and answer.json()["title"] == "Renamed in HubSpot"

        wait_for(visible, 10, "the new deal name through GET /v1/leads/{id}")
        took = time.monotonic() - started
    # the wake-up, not the 60 s poll, brought it; no Dagster run was involved
    assert took < 5, f"webhook → lead visible took {took:.2f} s"
    [event] = db[c.WEBHOOK_EVENTS].find({"partner_id": world.partner_a})
    assert event["processed"] and event["processed_by"] == holder
    [batch] = reported
    assert batch.partner_id == world.partner_a and batch.stats.events == 1
    assert batch.stats.leads.updated == 1 and 0 <= batch.latency_s < 5
    task = db[c.SYNC_TASKS].find_one({"_id": batch.task_id})
    assert (task["trigger"], task["status"], task.get("dagster_run_id")) == \
        ("webhook", "succeeded", None)
    # Dagster saw a runless materialisation of the partner's leads partition
    record = instance.get_latest_materialization_event(AssetKey("leads"))
    assert record is not None and record.run_id == ""
    mat = record.asset_materialization
    assert mat.partition == world.partner_a
    assert mat.metadata["events"].value == 1 and mat.metadata["leads_updated"].value == 1
    assert mat.metadata["worker"].value == holder
    assert "latency_s_oldest" in mat.metadata and mat.metadata["sync_task_id"].value == task["_id"]


def test_two_workers_share_partners_and_never_apply_an_event_twice(
        client, db, settings, redis_conn, world):
    partners = [create_partner(db, SYSTEM, name=f"Agency {i}").id for i in range(5)]
    portals, deals = {}, {}
    for i, partner in enumerate(partners):
        portals[partner] = connect(db, settings, partner, deals=4, contacts=3, seed=10 + i)
        sync(db, settings, partner)
        deals[partner] = [d["hubspot_deal_id"] for d in db[c.LEADS].find(
            {"partner_id": partner, "hubspot_deal_id": {"$ne": None}})]
    one = Worker(settings, holder="worker:one")
    two = Worker(settings, holder="worker:two")
    total = 0
    with running(one, redis_conn), running(two, redis_conn):
        for wave in range(4):
            for partner in partners:
                events = [deal_change(portals[partner], d, wave * 100 + k)
                          for k, d in enumerate(deals[partner])]
                post_events(client, settings, events)
                total += len(events)
        wait_for(lambda: db[c.WEBHOOK_EVENTS].find_one({"processed": False}) is None,
                 60, "every event applied")
    events = list(db[c.WEBHOOK_EVENTS].find({}))
    assert len(events) == total
    assert {e["processed_by"] for e in events} == {"worker:one", "worker:two"}
    # each event was applied once: the sync tasks' event counts add up to the events
    applied = sum((t.get("details") or {}).get("webhook", {}).get("events", 0)
                  for t in db[c.SYNC_TASKS].find({"trigger": "webhook"}))
    assert applied == total
    # and never did two workers work on one partner at once: each partner's sync tasks
    # (written inside the lease) follow one another
    for partner in partners:
        tasks = sorted(db[c.SYNC_TASKS].find({"partner_id": partner, "trigger": "webhook"}),
                       key=lambda t: t["started_at"])
        for before, after in zip(tasks, tasks[1:], strict=False):
            assert after["started_at"] >= before["finished_at"], f"{partner}: overlapping"


def test_a_sigkilled_worker_loses_nothing_its_partner_is_taken_over_after_the_lease(
        client, db, settings, redis_conn, world, hubspot_host):
    portal = Portal(settings, connect(db, settings, world.partner_a))
    sync(db, settings, world.partner_a)
    lead = a_lead(db, world.partner_a)
    portal.update_deal(lead["hubspot_deal_id"], dealname="Applied after the crash")
    # HubSpot answers slowly, so the worker is caught in the middle of applying
    httpx.put(f"{hubspot_host}/_sandbox/config",
              json={"slow_fraction": 1.0, "slow_ms": 4000}).raise_for_status()
    proc = worker_process(settings, lease_s=3.0)
    try:
        post_events(client, settings, [deal_change(portal.portal_id,
                                                   lead["hubspot_deal_id"], 1)])
    except BaseException:
        proc.kill()
        raise
    dead = sigkill_when(proc, lambda: leases.holder_of(db, LANE, world.partner_a), 30,
                        "the worker taking the partner")
    httpx.put(f"{hubspot_host}/_sandbox/config", json={"slow_fraction": 0, "slow_ms": 0})
    [event] = db[c.WEBHOOK_EVENTS].find({"partner_id": world.partner_a})
    assert not event["processed"]  # killed mid-apply: still in the inbox
    survivor = Worker(settings, holder="worker:survivor")
    first = survivor.run_once({wakeups.WEBHOOK})
    assert first.skipped == [world.partner_a] and not first.applied  # its lease still runs
    assert leases.holder_of(db, LANE, world.partner_a) == dead

    def taken_over():
        return survivor.run_once({wakeups.WEBHOOK}).applied

    [applied] = wait_for(taken_over, 15, "the partner taken over after the lease")
    assert applied.stats.events == 1
    after = db[c.LEADS].find_one({"_id": lead["_id"]})
    assert after["title"] == "Applied after the crash"
    assert db[c.WEBHOOK_EVENTS].find_one({"_id": event["_id"]})["processed_by"] == \
        "worker:survivor"
    # the sync-task history tells it: the dead worker's task failed, naming it; the
    # survivor's applied the one event
    tasks = {t["status"]: t for t in db[c.SYNC_TASKS].find(
        {"partner_id": world.partner_a, "trigger": "webhook"})}
    assert set(tasks) == {"failed", "succeeded"}
    assert dead in tasks["failed"]["errors"][0]
    assert tasks["succeeded"]["details"]["webhook"]["events"] == 1


def test_the_sensor_launches_a_backstop_run_only_for_events_the_worker_left_behind(
        db, settings, instance, monkeypatch):
    monkeypatch.setenv("PC_BACKSTOP_AFTER_SECONDS", "30")
    partner = create_partner(db, SYSTEM, name="Agency Z").id
    db[c.PARTNERS].update_one({"_id": partner}, {"$set": {"hubspot.portal_id": "777"}})
    resources = {"platform": PlatformResource.of(settings)}

    def add_event(age_s: float) -> None:
        db[c.WEBHOOK_EVENTS].insert_one({
            "_id": uuid.uuid4().hex, "partner_id": partner, "processed": False,
            "seq": seq_of(time.time() - age_s), "object_type": "deals", "object_id": "1"})

    def tick():
        return hubspot_webhook_sensor(build_sensor_context(instance=instance,
                                                           resources=resources))

    add_event(2)  # fresh: the worker's
    assert tick().run_requests == []
    add_event(45)  # left behind for longer than the threshold
    [request] = tick().run_requests
    assert request.tags["pc/partners"] == "1"


def test_a_task_left_running_by_a_dead_worker_is_closed_on_the_next_poll(db, settings):
    """Killed after marking its events processed, before recording them: nothing is
    pending, so no takeover comes; the poll pass closes the task, saying why."""
    dead = sync_tasks.create_task(db, "p-dead", trigger="webhook", status="running")
    busy = sync_tasks.create_task(db, "p-busy", trigger="webhook", status="running")
    run = sync_tasks.create_task(db, "p-run", trigger="webhook", status="running",
                                 dagster_run_id="run-1")
    assert leases.acquire(db, LANE, "p-busy", "worker:alive", 30)
    closed = Worker(settings, holder="worker:sweeper", db=db).run_once().closed
    # a SIGKILLed Dagster run's task too: Dagster never marks such a run failed, so no
    # run-failure sensor would ever close it (found by the fault soak)
    assert sorted(closed) == sorted([dead["_id"], run["_id"]])
    after = db[c.SYNC_TASKS].find_one({"_id": dead["_id"]})
    assert after["status"] == "failed" and "stopped" in after["errors"][0]
    assert "Dagster run run-1" in db[c.SYNC_TASKS].find_one({"_id": run["_id"]})["errors"][0]
    assert db[c.SYNC_TASKS].find_one({"_id": busy["_id"]})["status"] == "running"


def test_a_partners_hubspot_client_is_kept_between_batches_with_its_current_token(
        client, db, settings, world, hubspot_host):
    """The worker keeps a partner's HubSpot client between batches (``api_pool``: no
    SDK client built per batch), yet a batch after a reconnect sends the new token at
    once: the old one, expired, would cost a 401 and a refresh (an extra request)."""
    portal = Portal(settings, connect(db, settings, world.partner_a))
    sync(db, settings, world.partner_a)
    lead = a_lead(db, world.partner_a)
    worker = Worker(settings, holder="worker:pool", db=db)
    built = api_pool.POOL.built

    def rename_and_apply(name: str, n: int) -> Applied:
        portal.update_deal(lead["hubspot_deal_id"], dealname=name)
        post_events(client, settings, [deal_change(portal.portal_id,
                                                   lead["hubspot_deal_id"], n)])
        [applied] = worker.run_once({wakeups.WEBHOOK}).applied
        assert db[c.LEADS].find_one({"_id": lead["_id"]})["title"] == name
        return applied

    first = rename_and_apply("Before the reconnect", 1)
    # the partner reconnects: new tokens stored, the old access token dead
    old = db[c.PARTNERS].find_one({"_id": world.partner_a})["hubspot"]
    tokens = httpx.post(f"{hubspot_host}/_sandbox/portals/{portal.portal_id}/tokens").json()
    key = settings.token_encryption_key
    db[c.PARTNERS].update_one({"_id": world.partner_a}, {"$set": {
        "hubspot.access_token": encrypt_secret(key, tokens["access_token"]),
        "hubspot.refresh_token": encrypt_secret(key, tokens["refresh_token"])}})
    httpx.post(f"{hubspot_host}/_sandbox/tokens/"
               f"{decrypt_secret(key, old['access_token'])}/expire").raise_for_status()
    second = rename_and_apply("After the reconnect", 2)
    assert second.stats.requests == first.stats.requests  # no 401, no refresh
    assert api_pool.POOL.built == built + 1  # one client for both batches


def test_batch_reports_go_to_dagster_in_order_off_the_pass_and_all_before_a_stop(caplog):
    """``pc worker`` queues each batch's report (``ReportQueue``): the pass goes on
    while Dagster's event log is written, the reports keep their order, one that
    fails is logged without stopping the others, and a stop sends what is queued."""
    from pc_core.worker.report_queue import ReportQueue

    sent: list[int] = []
    gate = threading.Event()

    def send(n: int) -> None:
        gate.wait(5)  # a slow event log
        if n == 2:
            raise RuntimeError("event log unavailable")
        sent.append(n)

    reports = ReportQueue(send)
    started = time.monotonic()
    for n in range(5):
        reports(n)
    assert time.monotonic() - started < 1 and sent == []  # the caller did not wait
    gate.set()
    reports.close()
    assert sent == [0, 1, 3, 4]
    assert "could not report a batch" in caplog.text
