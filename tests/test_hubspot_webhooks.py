"""HubSpot webhooks end to end: the signed endpoint and its inbox, the sensor that
requests one run per partner, and the run that applies HubSpot's current state to
the leads (never the event values: redelivered and shuffled events give the same
leads as one ordered delivery)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
from dagster import build_sensor_context
from fastapi.testclient import TestClient
from hubspot.utils.signature import Signature
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from pc_api.main import create_app
from pc_core import collections as c
from pc_core import events
from pc_core.hubspot.connection.oauth import PartnerTokens
from pc_core.hubspot.lead_build.lead_builder import build_leads
from pc_core.hubspot.lead_build.stage_mapping import store_pipeline_stages
from pc_core.hubspot.pull.engine import pull_objects, pull_pipelines
from pc_core.hubspot.webhooks.apply import apply_pending, run_webhook_sync
from pc_core.hubspot.webhooks.ingest import PortalDirectory, store_events
from pc_core.identity.partners import create_partner
from pc_core.security.encryption import encrypt_secret
from pc_core.timeutil import utcnow
from pc_dev import devstack
from pc_pipelines.hubspot_webhooks.jobs import hubspot_webhook_job
from pc_pipelines.hubspot_webhooks.sensors import hubspot_webhook_sensor
from tests.conftest import SYSTEM, fresh_settings, indexed_db


@pytest.fixture(autouse=True)
def _backstop_at_once(monkeypatch):
    """These tests are about the backstop run's launch rule, not its threshold (the
    hot-path worker's tests cover that): events count as left behind at once."""
    monkeypatch.setenv("PC_BACKSTOP_AFTER_SECONDS", "0")


PATH = "/v1/webhooks/hubspot"
LEAD_FIELDS = ("title", "company", "contact_name", "contact_email", "contact_phone",
               "company_size", "industry", "location", "amount_cents", "stage", "status",
               "hubspot_stage_id", "hubspot_pipeline_id", "hubspot_contact_id")


# -- helpers ------------------------------------------------------------------------------


def sign(body: str, secret: str, uri: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(timestamp if timestamp is not None else int(time.time() * 1000))
    return {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": ts,
            "X-HubSpot-Signature-v3": Signature.get_signature(
                secret, body, "v3", http_uri=uri, http_method="POST", timestamp=ts)}


def post_signed(client: TestClient, settings, body: str, **kw) -> httpx.Response:
    uri = kw.pop("uri", settings.public_url.rstrip("/") + PATH)
    secret = kw.pop("secret", settings.hubspot_client_secret)
    return client.post(PATH, content=body, headers=sign(body, secret, uri, **kw))


def event(portal: str, n: int, stype: str = "deal.propertyChange", obj: int = 1) -> dict:
    return {"eventId": 1000 + n, "subscriptionId": 4100001, "portalId": int(portal),
            "appId": 1000001, "occurredAt": 1_700_000_000_000 + n, "subscriptionType": stype,
            "attemptNumber": 0, "objectId": obj + n, "propertyName": "dealstage",
            "propertyValue": "closedwon", "changeSource": "CRM_UI"}


def connect_portal(db, settings, hubspot_host: str, partner_id: str, portal_id: str) -> None:
    """Attach an existing sandbox portal to a partner (the OAuth flow has its own tests)."""
    tokens = httpx.post(f"{hubspot_host}/_sandbox/portals/{portal_id}/tokens").json()
    key = settings.token_encryption_key
    partner = db[c.PARTNERS].find_one({"_id": partner_id})
    hub = {"portal_id": portal_id, "scopes": [], "last_synced_at": None,
           "access_token": encrypt_secret(key, tokens["access_token"]),
           "refresh_token": encrypt_secret(key, tokens["refresh_token"]),
           "expires_at": utcnow() + timedelta(seconds=tokens["expires_in"])}
    db[c.PARTNERS].replace_one({"_id": partner_id}, {**partner, "hubspot": hub})


def new_portal(hubspot_host: str, deals: int = 40, contacts: int = 30, seed: int = 3) -> str:
    httpx.put(f"{hubspot_host}/_sandbox/config", json={"rate_limits": False})
    portal = httpx.post(f"{hubspot_host}/_sandbox/portals",
                        json={"contacts": contacts, "deals": deals, "pipelines": 2,
                              "seed": seed})
    return str(portal.json()["id"])


def initial_sync(db, settings, partner_id: str) -> None:
    """What the first scheduled sync does: stages, full pulls, leads."""
    tokens = PartnerTokens(db, settings, partner_id)
    store_pipeline_stages(db, partner_id, pull_pipelines(db, settings, partner_id, tokens))
    for otype in ("contacts", "deals"):
        pull_objects(db, settings, partner_id, otype, tokens)
    build_leads(db, partner_id)


def lead_state(db, partner_id: str) -> dict[str, dict]:
    return {d["hubspot_deal_id"]: {f: d.get(f) for f in LEAD_FIELDS}
            for d in db[c.LEADS].find({"partner_id": partner_id})}


@pytest.fixture
def hs_settings(settings, hubspot_host):
    return settings.model_copy(update={"hubspot_base_url": hubspot_host})


@pytest.fixture
def portal_a(db, settings, hubspot_host, world) -> str:
    portal = new_portal(hubspot_host)
    connect_portal(db, settings, hubspot_host, world.partner_a, portal)
    return portal


# -- the endpoint -------------------------------------------------------------------------


def test_valid_signature_stores_the_batch(client, db, settings, world, portal_a):
    body = json.dumps([event(portal_a, i) for i in range(5)])
    r = post_signed(client, settings, body)
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 5
    docs = list(db[c.WEBHOOK_EVENTS].find({"partner_id": world.partner_a, "processed": False}))
    assert len(docs) == 5
    assert docs[0]["_id"].startswith(f"{portal_a}:deal.propertyChange:")
    assert docs[0]["object_type"] == "deals"


def test_signature_as_received_without_proxy_also_passes(client, db, settings, portal_a):
    body = json.dumps([event(portal_a, 1)])
    assert post_signed(client, settings, body, uri="http://testserver" + PATH).status_code == 200


@pytest.mark.parametrize("case", ["tampered", "wrong_secret", "stale", "future", "other_uri"])
def test_bad_signatures_are_refused(client, db, settings, portal_a, case):
    body = json.dumps([event(portal_a, 1)])
    uri = settings.public_url + PATH
    secret = settings.hubspot_client_secret
    now = int(time.time() * 1000)
    headers = {
        "tampered": sign(body, secret, uri),
        "wrong_secret": sign(body, "not-the-secret", uri),
        "stale": sign(body, secret, uri, now - 301_000),
        "future": sign(body, secret, uri, now + 330_000),  # margin: a slow request eats into it
        "other_uri": sign(body, secret, "https://elsewhere.example" + PATH),
    }[case]
    sent = body.replace("closedwon", "closedlost") if case == "tampered" else body
    r = client.post(PATH, content=sent, headers=headers)
    assert r.status_code == 401
    assert db[c.WEBHOOK_EVENTS].count_documents({}) == 0


def test_missing_headers_are_refused(client, db, settings, portal_a):
    body = json.dumps([event(portal_a, 1)])
    full = sign(body, settings.hubspot_client_secret, settings.public_url + PATH)
    assert client.post(PATH, content=body).status_code == 401
    no_ts = {k: v for k, v in full.items() if k != "X-HubSpot-Request-Timestamp"}
    assert client.post(PATH, content=body, headers=no_ts).status_code == 401
    v1_only = {"X-HubSpot-Signature": Signature.get_signature(
        settings.hubspot_client_secret, body, "v1"), "X-HubSpot-Signature-Version": "v1"}
    assert client.post(PATH, content=body, headers=v1_only).status_code == 401
    assert db[c.WEBHOOK_EVENTS].count_documents({}) == 0


def test_v1_only_accepted_when_allowed(db, settings, redis_conn, portal_a):
    allowed = settings.model_copy(update={"hubspot_accept_v1_signatures": True})
    body = json.dumps([event(portal_a, 1)])
    secret = settings.hubspot_client_secret
    with TestClient(create_app(allowed)) as client:
        good = {"X-HubSpot-Signature": Signature.get_signature(secret, body, "v1")}
        assert client.post(PATH, content=body, headers=good).status_code == 200
        bad = {"X-HubSpot-Signature": Signature.get_signature("wrong", body, "v1")}
        assert client.post(PATH, content=body, headers=bad).status_code == 401


def test_behind_a_proxy_the_public_url_is_what_was_signed(db, settings, redis_conn, portal_a):
    proxied = settings.model_copy(update={"public_url": "https://hooks.example.com"})
    body = json.dumps([event(portal_a, 1)])
    with TestClient(create_app(proxied)) as client:
        r = post_signed(client, proxied, body)
        assert r.status_code == 200
        r = client.post(PATH + "?x=1", content=body, headers=sign(
            body, settings.hubspot_client_secret, "https://hooks.example.com" + PATH + "?x=1"))
        assert r.status_code == 200


def test_too_large_bodies_are_413(client, db, settings, portal_a):
    big = json.dumps([event(portal_a, 1) | {"propertyValue": "x" * (1024 * 1024)}])
    assert post_signed(client, settings, big).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the read itself is capped
        for _ in range(20):
            yield b"x" * 100_000

    r = client.post(PATH, content=chunks(), headers=sign("", "s", "u"))
    assert r.status_code == 413
    assert db[c.WEBHOOK_EVENTS].count_documents({}) == 0


@pytest.mark.parametrize("body", ["[{\"eventId\": 1", "{\"eventId\": 1}", "[1, 2]", ""])
def test_malformed_json_is_400(client, db, settings, body):
    assert post_signed(client, settings, body).status_code == 400


def test_unknown_portal_is_acknowledged_and_ignored(client, db, settings, world):
    r = post_signed(client, settings, json.dumps([event("987654321", i) for i in range(3)]))
    assert r.status_code == 200
    assert r.json()["ignored"] == 3
    assert db[c.WEBHOOK_EVENTS].count_documents({}) == 0


def test_redelivery_is_a_no_op(client, db, settings, portal_a):
    batch = [event(portal_a, i) for i in range(150)]
    assert post_signed(client, settings, json.dumps(batch[:100])).json()["stored"] == 100
    again = post_signed(client, settings, json.dumps(
        [e | {"attemptNumber": 1} for e in batch[50:150]])).json()
    assert (again["stored"], again["duplicates"]) == (50, 50)
    assert db[c.WEBHOOK_EVENTS].count_documents({}) == 150
    # same eventId, other occurredAt: HubSpot's eventId alone is not unique
    other = post_signed(client, settings, json.dumps(
        [batch[0] | {"occurredAt": batch[0]["occurredAt"] + 1}])).json()
    assert other["stored"] == 1


# -- applying events ----------------------------------------------------------------------


def _simulate(hubspot_host: str, portal: str, changes: int, seed: int, **kw) -> dict:
    return httpx.post(f"{hubspot_host}/_sandbox/portals/{portal}/simulate",
                      json={"changes": changes, "seed": seed, **kw}, timeout=60).json()


def _raw_snapshot(db, partner_id: str) -> dict[str, list[dict]]:
    return {name: list(db[name].find({"partner_id": partner_id}))
            for name in (c.HUBSPOT_CONTACTS, c.HUBSPOT_DEALS, c.LEADS, c.STAGE_MAPPINGS)}


def _restore(db, snapshot: dict[str, list[dict]], partner_id: str, old_partner: str) -> None:
    """Copy another database's synced state under this database's partner id."""
    def swap(value):
        if isinstance(value, str):
            return value.replace(old_partner, partner_id)
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    for name, docs in snapshot.items():
        if docs:
            db[name].insert_many([swap(d) for d in docs])


@contextmanager
def partner_db(stores, hubspot_host: str, portal: str):
    """A fresh database with one partner connected to ``portal``."""
    settings = fresh_settings(stores).model_copy(update={"hubspot_base_url": hubspot_host})
    gen = indexed_db(settings)
    db = next(gen)
    try:
        partner = create_partner(db, SYSTEM, name="Agency").id
        connect_portal(db, settings, hubspot_host, partner, portal)
        yield db, settings, partner
    finally:
        gen.close()
        db.client.drop_database(settings.mongodb_db)


@pytest.fixture(scope="module")
def synced_then_changed(stores, hubspot_host):
    """(portal, raw+lead snapshot before the changes, its partner id, the events)."""
    portal = new_portal(hubspot_host, deals=40, contacts=30, seed=11)
    with partner_db(stores, hubspot_host, portal) as (db, settings, partner):
        initial_sync(db, settings, partner)
        snapshot = _raw_snapshot(db, partner)
    sim = _simulate(hubspot_host, portal, 60, seed=5)
    return portal, snapshot, partner, sim["events"]


def _deliver_and_apply(db, settings, partner, batches, apply_between: bool) -> None:
    directory = PortalDirectory()
    for batch in batches:
        store_events(db, batch, directory)
        if apply_between:
            apply_pending(db, settings, partner)
    apply_pending(db, settings, partner)


@hyp_settings(max_examples=4, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
@given(data=st.data())
def test_duplicated_shuffled_delivery_gives_the_ordered_result(
    stores, hubspot_host, synced_then_changed, data
):
    portal, snapshot, old_partner, sim_events = synced_then_changed
    with partner_db(stores, hubspot_host, portal) as (db, settings, partner):
        _restore(db, snapshot, partner, old_partner)
        _deliver_and_apply(db, settings, partner, [sim_events], apply_between=False)
        ordered = lead_state(db, partner)
    extra = data.draw(st.lists(st.sampled_from(sim_events), min_size=1, max_size=60))
    shuffled = data.draw(st.permutations(sim_events + extra))
    size = data.draw(st.integers(min_value=1, max_value=100))
    apply_between = data.draw(st.booleans())
    batches = [shuffled[i:i + size] for i in range(0, len(shuffled), size)]
    with partner_db(stores, hubspot_host, portal) as (db, settings, partner):
        _restore(db, snapshot, partner, old_partner)
        _deliver_and_apply(db, settings, partner, batches, apply_between)
        assert lead_state(db, partner) == ordered
        assert db[c.WEBHOOK_EVENTS].count_documents(
            {"partner_id": partner, "processed": False}) == 0


def test_ordered_delivery_matches_a_fresh_full_pull(stores, hubspot_host, synced_then_changed):
    """The webhook path ends where a full pull of the changed portal ends."""
    portal, snapshot, old_partner, sim_events = synced_then_changed
    with partner_db(stores, hubspot_host, portal) as (db, settings, partner):
        _restore(db, snapshot, partner, old_partner)
        _deliver_and_apply(db, settings, partner, [sim_events], apply_between=False)
        via_webhooks = lead_state(db, partner)
    with partner_db(stores, hubspot_host, portal) as (db, settings, partner):
        initial_sync(db, settings, partner)
        truth = lead_state(db, partner)
    # A lead's status depends on its history, not only on the deal; the lead builder
    # sets hubspot_contact_id when it creates a lead and does not move it later.
    skip = {"status", "hubspot_contact_id"}
    assert {k: {f: v for f, v in d.items() if f not in skip} for k, d in via_webhooks.items()} \
        == {k: {f: v for f, v in d.items() if f not in skip} for k, d in truth.items()}


# -- the sensor and the run ---------------------------------------------------------------


def test_sensor_requests_one_run_for_every_partner_with_pending_events(
    client, db, settings, hubspot_host, world, instance, resources, portal_a
):
    portal_b = new_portal(hubspot_host, deals=5, contacts=5)
    connect_portal(db, settings, hubspot_host, world.partner_b, portal_b)
    ctx = build_sensor_context(instance=instance, resources=resources)
    assert hubspot_webhook_sensor(ctx).run_requests == []
    post_signed(client, settings, json.dumps([event(portal_a, i) for i in range(30)]))
    post_signed(client, settings, json.dumps([event(portal_a, i) for i in range(30, 60)]))
    result = hubspot_webhook_sensor(build_sensor_context(instance=instance,
                                                         resources=resources))
    assert len(result.run_requests) == 1
    run = result.run_requests[0]
    assert run.run_key.startswith("webhook:")
    assert run.tags["pc/trigger"] == "webhook"
    assert run.tags["pc/hubspot"] == "true" and run.tags["pc/partners"] == "1"
    assert run.tags["pc/fanout"] == "hubspot_webhook_job"
    assert "pc/partner_id" not in run.tags  # a multi-partner run names no one partner
    post_signed(client, settings, json.dumps([event(portal_b, 1)]))
    both = hubspot_webhook_sensor(build_sensor_context(instance=instance, resources=resources))
    [second] = both.run_requests  # still one run, now covering both partners
    assert second.tags["pc/partners"] == "2" and second.run_key != run.run_key
    # a partner whose events are processed gets no run
    db[c.WEBHOOK_EVENTS].update_many({}, {"$set": {"processed": True}})
    done = hubspot_webhook_sensor(build_sensor_context(instance=instance, resources=resources))
    assert done.run_requests == []


def test_failed_batch_is_retried_under_a_new_key_later(
    client, db, settings, world, instance, resources, portal_a
):
    post_signed(client, settings, json.dumps([event(portal_a, 1)]))
    first = hubspot_webhook_sensor(build_sensor_context(instance=instance,
                                                        resources=resources))
    cursor = first.cursor
    again = hubspot_webhook_sensor(build_sensor_context(instance=instance, cursor=cursor,
                                                        resources=resources))
    assert again.run_requests == []  # same batch, too soon: not asked twice
    aged = {k: {**v, "at": v["at"] - 120} for k, v in json.loads(again.cursor).items()}
    retry = hubspot_webhook_sensor(build_sensor_context(
        instance=instance, cursor=json.dumps(aged), resources=resources))
    assert retry.run_requests[0].run_key == first.run_requests[0].run_key + ":retry1"


@contextmanager
def live_api(settings) -> Iterator[str]:
    """The API under uvicorn with its public URL set to where it listens, so the
    sandbox's signature (over the URL it posts to) verifies."""
    port = devstack.free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MONGODB_URI": settings.mongodb_uri,
           "MONGODB_DB": settings.mongodb_db, "REDIS_URL": settings.redis_url,
           "PC_PUBLIC_URL": url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "pc_api.main:app_factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        devstack.wait_until(lambda: devstack.http_answers(url + "/health"), 60, "API")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_run_applies_simulated_activity_to_leads(
    client, db, settings, hs_settings, hubspot_host, world, instance, resources, redis_conn,
    portal_a
):
    initial_sync(db, hs_settings, world.partner_a)
    pubsub = redis_conn.pubsub()
    pubsub.subscribe(events.CHANNEL)
    with live_api(settings) as api_url:
        sim = _simulate(hubspot_host, portal_a, 40, seed=9,
                        webhook_url=api_url + PATH)
    assert sim["deliveries"] and all(d["status"] == 200 for d in sim["deliveries"])
    assert db[c.WEBHOOK_EVENTS].count_documents(
        {"partner_id": world.partner_a, "processed": False}) == len(sim["events"])
    result = hubspot_webhook_sensor(build_sensor_context(instance=instance,
                                                         resources=resources))
    [request] = result.run_requests
    run = hubspot_webhook_job.execute_in_process(
        run_config=request.run_config, instance=instance, resources=resources,
        tags=request.tags)
    assert run.success
    assert db[c.WEBHOOK_EVENTS].count_documents(
        {"partner_id": world.partner_a, "processed": False}) == 0
    # Every deal the simulation touched is on its lead as HubSpot has it now.
    token = httpx.post(f"{hubspot_host}/_sandbox/portals/{portal_a}/tokens").json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    touched = {ch["objectId"] for ch in sim["changes"] if ch["objectType"] == "deals"}
    leads = {d["hubspot_deal_id"]: d for d in db[c.LEADS].find({"partner_id": world.partner_a})}
    for deal_id in touched:
        live = httpx.get(f"{hubspot_host}/crm/v3/objects/deals/{deal_id}",
                         params={"properties": "dealstage,amount"}, headers=auth)
        lead = leads[str(deal_id)]
        if live.status_code == 404:
            assert lead["status"] == "archived"
            continue
        assert lead["hubspot_stage_id"] == live.json()["properties"]["dealstage"]
    # The sync log shows the webhook run, through the API too.
    task = db[c.SYNC_TASKS].find_one({"dagster_run_id": run.run_id})
    assert task["trigger"] == "webhook" and task["status"] == "succeeded"
    assert task["details"]["webhook"]["events"] == len(sim["events"])
    history = client.get("/v1/integrations/hubspot/sync-tasks",
                         headers=world.admin_a.headers).json()["items"]
    assert history[0]["trigger"] == "webhook"
    published = []
    while (message := pubsub.get_message(timeout=0.5)) is not None:
        if message["type"] == "message":
            published.append(json.loads(message["data"]))
    stage_moves = [ch for ch in sim["changes"] if ch.get("propertyName") == "dealstage"]
    if stage_moves:
        assert any(m["event"] == "stage-updated" for m in published)


def test_run_webhook_sync_records_a_failed_task(db, hs_settings, world, portal_a):
    store_events(db, [event(portal_a, 1)], PortalDirectory())
    db[c.PARTNERS].update_one({"_id": world.partner_a},
                              {"$set": {"hubspot.access_token": "garbage"}})
    with pytest.raises(Exception):
        run_webhook_sync(db, hs_settings, world.partner_a, run_id="run-x")
    task = db[c.SYNC_TASKS].find_one({"dagster_run_id": "run-x"})
    assert task["status"] == "failed" and task["errors"]
    assert db[c.WEBHOOK_EVENTS].count_documents({"processed": False}) == 1
