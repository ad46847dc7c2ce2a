"""Reservations: exactly one winner under concurrency (threads and processes), the
rules (own lead, cap, days, roles, other partners), release and expiry."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from pc_core import collections as c
from pc_core.access import Role
from pc_core.marketplace.expiry import expire_reservations
from pc_core.store.keys import time_key
from pc_core.timeutil import utcnow
from tests.conftest import live_api, make_account
from tests.marketplace_helpers import listed_lead, published, reserve
from tests.race_worker import reserve_once


def test_reserve_holds_the_lead(client, world, db):
    lead_id = listed_lead(db, world.partner_a, price_cents=10_001)
    r = reserve(client, world.admin_b, lead_id)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "active" and body["days"] == 7
    assert body["price_cents"] == 10_001 and body["commission_cents"] == 2_000
    assert body["buyer_total_cents"] == 12_001
    lead = db[c.LEADS].find_one({"_id": lead_id})
    assert lead["status"] == "reserved" and lead["reservation"]["id"] == body["id"]
    doc = db[c.RESERVATIONS].find_one({"_id": body["id"]})
    assert doc["expires_at"] - doc["created_at"] == timedelta(days=7)
    again = reserve(client, world.admin_b, lead_id)
    assert again.status_code == 409
    mine = client.get("/v1/marketplace/reservations", headers=world.user_b.headers).json()
    assert [x["id"] for x in mine["items"]] == [body["id"]]
    theirs = client.get("/v1/marketplace/reservations", headers=world.admin_a.headers).json()
    assert theirs["items"] == []


@pytest.mark.parametrize("days,code", [(6, 422), (15, 422), (7, 201), (14, 201)])
def test_days_between_7_and_14(client, world, db, days, code):
    lead_id = listed_lead(db, world.partner_a)
    assert reserve(client, world.admin_b, lead_id, days).status_code == code


def test_rules_own_lead_roles_and_visibility(client, world, db):
    lead_id = listed_lead(db, world.partner_a)
    assert reserve(client, world.admin_a, lead_id).status_code == 409  # own lead
    assert reserve(client, world.user_b, lead_id).status_code == 403  # read-only
    assert reserve(client, world.admin_b, "nope").status_code == 404
    db[c.LEADS].update_one({"_id": lead_id}, {"$set": {"status": "open"}})
    assert reserve(client, world.admin_b, lead_id).status_code == 404  # never public
    db[c.LEADS].update_one({"_id": lead_id}, {"$set": {"status": "listed"}})
    r = reserve(client, world.admin_b, lead_id)
    assert r.status_code == 201
    rid = r.json()["id"]
    # Another partner's reservation is invisible: 404, not 403.
    other = make_account(db, client.app.state.pc.settings, Role.ADMIN, world.operator)
    assert client.delete(f"/v1/marketplace/reservations/{rid}",
                         headers=other.headers).status_code == 404
    assert client.delete(f"/v1/marketplace/reservations/{rid}",
                         headers=world.user_b.headers).status_code == 403
    assert client.post("/v1/marketplace/purchases", json={"reservation_id": rid},
                       headers=other.headers).status_code == 404
    assert client.post("/v1/marketplace/purchases", json={"reservation_id": rid},
                       headers=world.user_b.headers).status_code == 403


def test_release_relists_and_emits(client, world, db, redis_conn):
    lead_id = listed_lead(db, world.partner_a)
    rid = reserve(client, world.admin_b, lead_id).json()["id"]
    pubsub = redis_conn.pubsub()
    pubsub.subscribe("pc-socketio")
    pubsub.get_message(timeout=1)
    r = client.delete(f"/v1/marketplace/reservations/{rid}", headers=world.admin_b.headers)
    assert r.status_code == 200 and r.json()["status"] == "released"
    assert db[c.LEADS].find_one({"_id": lead_id})["status"] == "listed"
    assert published(pubsub, "lead-listed", lead_id)
    assert client.delete(f"/v1/marketplace/reservations/{rid}",
                         headers=world.admin_b.headers).status_code == 409
    # The lead can be reserved again, by anyone else.
    assert reserve(client, world.admin_b, lead_id).status_code == 201


def test_cap_of_active_reservations(client, world, db, settings):
    settings.max_active_reservations = 3
    leads = [listed_lead(db, world.partner_a) for _ in range(5)]
    codes = [reserve(client, world.admin_b, lead).status_code for lead in leads[:4]]
    assert codes == [201, 201, 201, 409]
    held = client.get("/v1/marketplace/reservations", headers=world.admin_b.headers).json()
    client.delete(f"/v1/marketplace/reservations/{held['items'][0]['id']}",
                  headers=world.admin_b.headers)
    assert reserve(client, world.admin_b, leads[4]).status_code == 201


def test_cap_holds_under_concurrency(client, world, db, settings):
    settings.max_active_reservations = 4
    leads = [listed_lead(db, world.partner_a) for _ in range(12)]
    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(lambda lead: reserve(client, world.admin_b, lead).status_code,
                              leads))
    assert codes.count(201) == 4 and codes.count(409) == 8


def test_fifty_threads_one_winner(client, world, db, settings):
    lead_id = listed_lead(db, world.partner_a)
    buyers = [make_account(db, settings, Role.ADMIN, world.partner_b)] + [world.admin_b] * 49
    with ThreadPoolExecutor(50) as pool:
        codes = list(pool.map(lambda acc: reserve(client, acc, lead_id).status_code, buyers))
    assert sorted(codes) == [201] + [409] * 49
    active = list(db[c.RESERVATIONS].find({"lead_id": lead_id}))
    assert len(active) == 1


def test_fifty_processes_one_winner(world, db, settings):
    """Separate OS processes against a live uvicorn: no shared client, pool or lock."""
    lead_id = listed_lead(db, world.partner_a)
    tokens = []
    for partner in (world.partner_b, world.operator):
        acc = make_account(db, settings, Role.ADMIN, partner)
        tokens.append(acc.headers["Authorization"].split()[1])
    # Forked from a fresh forkserver that has imported only tests.race_worker: processes
    # of their own, without a Python start and an import of pytest each (as "spawn").
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.race_worker"])
    start, out = ctx.Event(), ctx.Queue()
    with live_api(settings) as url:
        procs = [ctx.Process(target=reserve_once,
                             args=(url, tokens[i % 2], lead_id, start, out))
                 for i in range(50)]
        for p in procs:
            p.start()
        start.set()
        codes = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=30)
    assert sorted(codes) == [201] + [409] * 49
    assert len(list(db[c.RESERVATIONS].find({"lead_id": lead_id}))) == 1


def test_expiry_relists_and_emits(client, world, db, settings, redis_conn):
    lead_id = listed_lead(db, world.partner_a)
    rid = reserve(client, world.admin_b, lead_id, 7).json()["id"]
    pubsub = redis_conn.pubsub()
    pubsub.subscribe("pc-socketio")
    pubsub.get_message(timeout=1)
    early = expire_reservations(db, settings, utcnow() + timedelta(days=6))
    assert early.expired == 0
    assert db[c.LEADS].find_one({"_id": lead_id})["status"] == "reserved"
    report = expire_reservations(db, settings, utcnow() + timedelta(days=7, seconds=1))
    assert report.expired == 1
    assert db[c.LEADS].find_one({"_id": lead_id})["status"] == "listed"
    assert db[c.RESERVATIONS].find_one({"_id": rid})["status"] == "expired"
    assert published(pubsub, "lead-listed", lead_id)
    # Idempotent, and the buyer's slot is free again.
    assert expire_reservations(db, settings, utcnow() + timedelta(days=8)).expired == 0
    assert db[c.RESERVATION_SLOTS].find_one({"reservation_id": rid}) is None


def test_orphan_lead_is_relisted(world, db, settings):
    """A lead left reserved by a reservation that was never written."""
    lead_id = listed_lead(db, world.partner_a)
    lead = db[c.LEADS].find_one({"_id": lead_id})
    past = utcnow() - timedelta(minutes=1)
    db[c.LEADS].replace_one({"_id": lead_id}, {
        **lead, "status": "reserved", "rev": lead["rev"] + 1,
        "reservation": {"id": "ghost", "buyer_partner_id": world.partner_b, "expires_at": past},
    })
    assert expire_reservations(db, settings).orphans_relisted == 1
    assert db[c.LEADS].find_one({"_id": lead_id})["status"] == "listed"


def test_dagster_expiry_job_and_schedule(client, world, db, settings, monkeypatch):
    from datetime import UTC, datetime

    from dagster import build_schedule_context

    from pc_pipelines.marketplace.jobs import reservation_expiry_job, reservation_expiry_schedule
    from pc_pipelines.resources import PlatformResource

    lead_id = listed_lead(db, world.partner_a)
    rid = reserve(client, world.admin_b, lead_id).json()["id"]
    doc = db[c.RESERVATIONS].find_one({"_id": rid})
    past = utcnow() - timedelta(minutes=1)
    db[c.RESERVATIONS].replace_one({"_id": rid}, {
        **doc, "expires_at": past, "expires_key": time_key(past)})
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    result = reservation_expiry_job.execute_in_process(resources={
        "platform": PlatformResource.of(settings)})
    assert result.success
    assert db[c.LEADS].find_one({"_id": lead_id})["status"] == "listed"
    assert db[c.RESERVATIONS].find_one({"_id": rid})["status"] == "expired"
    assert reservation_expiry_schedule.cron_schedule == "* * * * *"
    assert reservation_expiry_schedule.name == "reservation_expiry"
    when = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    request = reservation_expiry_schedule(build_schedule_context(scheduled_execution_time=when))
    assert request.run_key == f"reservation-expiry:{when.isoformat()}"
