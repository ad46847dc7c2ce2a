"""The live events the web client follows (pc_core/events.py): a listing reserved
and released, a purchase's status, a sync's progress and end — each published once
to the rooms of the web contract, where the change happens."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from dagster import build_sensor_context, materialize

from pc_core import collections as c
from pc_core import events
from pc_core.marketplace.expiry import expire_reservations
from pc_core.models.live_events import LIVE_EVENTS
from pc_core.settings import Settings
from pc_core.timeutil import utcnow
from pc_pipelines.hubspot_sync.assets import (
    hubspot_contacts,
    hubspot_deals,
    hubspot_pipelines,
    leads,
)
from pc_pipelines.hubspot_sync.sensors import hubspot_sync_requests_sensor
from tests.conftest import market_settings
from tests.marketplace_helpers import listed_lead, reserve
from tests.test_marketplace_purchases import _buy, _events_for, _forward
from tests.test_pipelines_hubspot import _connect


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    """Stripe and Mailgun at the sandbox (the purchase events need a PaymentIntent)."""
    return market_settings(stores, sandbox_url)


CONTRACT = {model.name: model for model in LIVE_EVENTS}


class Listener:
    """Everything published on the Socket.IO Redis channel: (event, data, rooms)."""

    def __init__(self, redis_conn) -> None:
        self.pubsub = redis_conn.pubsub()
        self.pubsub.subscribe(events.CHANNEL)
        self.pubsub.get_message(timeout=1)  # the subscription confirmation
        self.seen: list[tuple[str, dict, list[str]]] = []

    def wait(self, event: str, count: int = 1, timeout: float = 10, **match):
        """The first ``count`` messages of ``event`` whose data contains ``match``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [m for m in self.seen if m[0] == event
                   and all(m[1].get(k) == v for k, v in match.items())]
            if len(got) >= count:
                return got
            message = self.pubsub.get_message(timeout=0.2)
            if message and message["type"] == "message":
                body = json.loads(message["data"])
                room = body["room"] if isinstance(body["room"], list) else [body["room"]]
                data = body["data"][0]
                if body["event"] in CONTRACT:  # the wire matches the event's model
                    CONTRACT[body["event"]].model_validate(data)
                self.seen.append((body["event"], data, room))
        pytest.fail(f"{event} {match} not published ({count} wanted); saw "
                    f"{[(e, d) for e, d, _ in self.seen]}")


def test_reserve_release_and_expiry_are_announced(client, world, db, settings, redis_conn):
    live = Listener(redis_conn)
    lead_id = listed_lead(db, world.partner_a)
    reservation = reserve(client, world.admin_b, lead_id).json()
    [(_, data, rooms)] = live.wait(events.LEAD_RESERVED, lead_id=lead_id)
    assert data == {"lead_id": lead_id, "reservation_id": reservation["id"]}
    assert sorted(rooms) == sorted(["marketplace", f"lead:{lead_id}"])

    released = client.delete(f"/v1/marketplace/reservations/{reservation['id']}",
                             headers=world.admin_b.headers)
    assert released.status_code == 200, released.text
    [(_, data, rooms)] = live.wait(events.LEAD_RELEASED, lead_id=lead_id)
    assert data["reservation_id"] == reservation["id"] and "marketplace" in rooms
    live.wait(events.LEAD_LISTED, lead_id=lead_id)  # the listing itself comes back

    # Expiry (the every-minute job) releases too.
    again = reserve(client, world.admin_b, lead_id, days=7).json()
    expire_reservations(db, settings, now=utcnow() + timedelta(days=8))
    live.wait(events.LEAD_RELEASED, lead_id=lead_id, reservation_id=again["id"])
    # A refused reservation (own lead) announces nothing.
    assert reserve(client, world.admin_a, lead_id).status_code == 409
    assert len(live.wait(events.LEAD_RESERVED, count=2, lead_id=lead_id)) == 2
    time.sleep(0.3)
    assert len([m for m in live.seen if m[0] == events.LEAD_RESERVED]) == 2


def test_purchase_status_changes_reach_buyer_and_seller(
    client, world, db, settings, redis_conn, stripe_admin, market_webhook_receiver
):
    live = Listener(redis_conn)
    lead_id, _, purchase = _buy(client, world, db)
    [(_, data, rooms)] = live.wait(events.PURCHASE_UPDATED, status="pending")
    assert data["purchase_id"] == purchase["id"] and data["lead_id"] == lead_id
    assert sorted(rooms) == sorted([f"partner:{world.partner_b}", f"partner:{world.partner_a}"])
    assert "client_secret" not in data  # a secret never travels in an event

    pi = purchase["payment_intent_id"]
    stripe_admin.post(f"/payment_intents/{pi}/fail").raise_for_status()
    _forward(client, _events_for(market_webhook_receiver, pi, {"payment_intent.payment_failed"}, 1))
    [(_, failed, _)] = live.wait(events.PURCHASE_UPDATED, status="failed")
    assert failed["failure_message"] == "Your card was declined."

    retry = client.post("/v1/marketplace/purchases", json={"reservation_id": purchase[
        "reservation_id"]}, headers=world.admin_b.headers).json()
    stripe_admin.post(f"/payment_intents/{retry['payment_intent_id']}/succeed").raise_for_status()
    _forward(client, _events_for(market_webhook_receiver, retry["payment_intent_id"],
                                 {"payment_intent.succeeded"}, 1))
    [(_, done, _)] = live.wait(events.PURCHASE_UPDATED, status="completed")
    assert done["purchase_id"] == retry["id"]
    assert db[c.PURCHASES].find_one({"_id": retry["id"]})["status"] == "completed"


def test_sync_now_reports_progress_and_finish(
    client, db, settings, hubspot_host, world, instance, resources, redis_conn
):
    _connect(db, settings, hubspot_host, world.partner_a, deals=12, contacts=10)
    live = Listener(redis_conn)
    queued = client.post("/v1/integrations/hubspot/sync", headers=world.admin_a.headers).json()
    [request] = hubspot_sync_requests_sensor(
        build_sensor_context(instance=instance, resources=resources)).run_requests
    instance.add_dynamic_partitions("partners", [world.partner_a])
    result = materialize([hubspot_pipelines, hubspot_contacts, hubspot_deals, leads],
                         partition_key=request.partition_key, instance=instance,
                         resources=resources, tags=request.tags)
    assert result.success
    task_id = queued["sync_task_id"]
    progress = live.wait(events.SYNC_PROGRESS, count=4, sync_task_id=task_id)
    assert progress[0][1]["status"] == "running" and progress[0][1]["step"] is None
    assert progress[0][1]["dagster_run_id"] == result.run_id
    assert {p[1]["step"] for p in progress[1:]} >= {"pipelines", "contacts", "deals"}
    [(_, finished, rooms)] = live.wait(events.SYNC_FINISHED, sync_task_id=task_id)
    assert rooms == [f"partner:{world.partner_a}"]
    assert finished["status"] == "succeeded"
    assert finished["counts"]["created"] == 12 and finished["counts"]["fetched"] == 22


def test_cancelled_sync_is_announced(client, db, settings, hubspot_host, world, instance,
                                     resources, redis_conn):
    _connect(db, settings, hubspot_host, world.partner_a, deals=3, contacts=3)
    live = Listener(redis_conn)
    queued = client.post("/v1/integrations/hubspot/sync", headers=world.admin_a.headers).json()
    partner = db[c.PARTNERS].find_one({"_id": world.partner_a})
    db[c.PARTNERS].replace_one({"_id": world.partner_a}, {**partner, "hubspot": None})
    result = hubspot_sync_requests_sensor(build_sensor_context(instance=instance,
                                                               resources=resources))
    assert not result.run_requests
    [(_, finished, _)] = live.wait(events.SYNC_FINISHED, sync_task_id=queued["sync_task_id"])
    assert finished["status"] == "cancelled"


def test_a_person_listing_a_lead_is_announced(client, world, db, redis_conn):
    live = Listener(redis_conn)
    created = client.post("/v1/leads", json={"title": "Fresh", "industry": "SaaS"},
                          headers=world.admin_a.headers).json()
    assert created["status"] == "open"
    r = client.patch(f"/v1/leads/{created['id']}", json={"stage": "non_fit"},
                     headers=world.admin_a.headers)
    assert r.status_code == 200 and r.json()["status"] == "listed"
    [(_, moved, rooms)] = live.wait(events.STAGE_UPDATED, lead_id=created["id"])
    assert moved["to"] == "non_fit" and f"partner:{world.partner_a}" in rooms
    [(_, listing, rooms)] = live.wait(events.LEAD_LISTED, lead_id=created["id"])
    assert rooms == ["marketplace"] and listing["industry"] == "SaaS"
    # Created listed straight away: announced too. An edit that changes nothing: silent.
    listed = client.post("/v1/leads", json={"title": "Listed", "status": "listed"},
                         headers=world.admin_a.headers).json()
    live.wait(events.LEAD_LISTED, lead_id=listed["id"])
    client.patch(f"/v1/leads/{listed['id']}", json={"status": "listed"},
                 headers=world.admin_a.headers)
    time.sleep(0.3)
    assert len([m for m in live.seen if m[0] == events.LEAD_LISTED]) == 2
    # Withdrawn by the seller: open marketplace pages are told to drop it.
    r = client.patch(f"/v1/leads/{listed['id']}", json={"status": "open"},
                     headers=world.admin_a.headers)
    assert r.status_code == 200 and r.json()["status"] == "open"
    [(_, gone, rooms)] = live.wait(events.LEAD_UNLISTED, lead_id=listed["id"])
    assert gone == {"lead_id": listed["id"]} and "marketplace" in rooms
