"""A sale reaches the buyer's CRM by itself, end to end over two sandbox portals: the
purchase is paid through the Stripe sandbox and its signed webhook, fulfilment records
a pending delivery, ``crm_delivery_sensor`` (evaluated in-process) requests one run,
the run (executed in-process) creates the contact, the deal and a note in the buyer's
portal. Redelivered events and re-runs create no second deal; a broken buyer portal
backs off, is recorded, and does not stop another buyer's delivery."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from dagster import AssetKey, SensorResult, SkipReason, build_sensor_context

from pc_core import collections as c
from pc_core.access import Role
from pc_core.hubspot.lead_build.deal_links import DEAL_LINKS
from pc_core.hubspot.sync_back.cross_partner import sync_buyer
from pc_core.hubspot.sync_back.sale_delivery import deliver_due, marker
from pc_core.identity.partners import create_partner
from pc_core.marketplace import deliveries
from pc_core.settings import Settings
from pc_core.store import wakeups
from pc_core.store.keys import time_key
from pc_core.timeutil import utcnow
from pc_core.worker.runner import Worker
from pc_pipelines.crm_delivery.jobs import crm_delivery_job
from pc_pipelines.crm_delivery.sensors import crm_delivery_sensor
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.lib.runless import DagsterReporter
from tests.conftest import SYSTEM, make_account, market_settings
from tests.hubspot_helpers import Portal, connect, sync
from tests.marketplace_helpers import listed_lead, reserve
from tests.test_marketplace_purchases import _events_for, _forward


@pytest.fixture(autouse=True)
def _backstop_at_once(monkeypatch):
    """These tests are about the backstop run's launch rule, not its threshold (the
    hot-path worker's tests cover that): events count as left behind at once."""
    monkeypatch.setenv("PC_BACKSTOP_AFTER_SECONDS", "0")


@pytest.fixture
def settings(stores, sandbox_url, hubspot_host) -> Settings:
    """Stripe, Mailgun and HubSpot at the one sandbox process."""
    return market_settings(stores, sandbox_url, hubspot_base_url=hubspot_host)


def _buy(client, db, seller: str, buyer_account, stripe_admin, receiver, **lead_fields):
    """Reserve, purchase, pay in the Stripe sandbox; returns (lead id, purchase id,
    the signed payment_intent.succeeded delivery)."""
    lead_id = listed_lead(db, seller, **lead_fields)
    rid = reserve(client, buyer_account, lead_id).json()["id"]
    purchase = client.post("/v1/marketplace/purchases", json={"reservation_id": rid},
                           headers=buyer_account.headers)
    assert purchase.status_code == 201, purchase.text
    pi = purchase.json()["payment_intent_id"]
    stripe_admin.post(f"/payment_intents/{pi}/succeed").raise_for_status()
    [event] = _events_for(receiver, pi, {"payment_intent.succeeded"}, 1)
    return lead_id, purchase.json()["id"], event


def _sensor(instance, resources):
    with build_sensor_context(instance=instance,
                              resources=resources) as context:
        return crm_delivery_sensor(context)


def _run(instance, resources, request):
    result = crm_delivery_job.execute_in_process(
        instance=instance, resources=resources,
        tags=request.tags)
    assert result.success
    return result


def _deal(portal: Portal, deal_id: str) -> dict:
    r = httpx.get(f"{portal.host}/crm/v3/objects/deals/{deal_id}",
                  params={"properties": "dealname,amount,description,pipeline,dealstage",
                          "associations": "contacts,notes"}, headers=portal.headers)
    r.raise_for_status()
    return r.json()


def _deals_marked(portal: Portal, purchase_id: str) -> list[dict]:
    r = httpx.post(f"{portal.host}/crm/v3/objects/deals/search", headers=portal.headers,
                   json={"filterGroups": [{"filters": [{
                       "propertyName": "description", "operator": "EQ",
                       "value": marker(purchase_id)}]}], "limit": 10})
    r.raise_for_status()
    return r.json()["results"]


def test_a_paid_purchase_becomes_a_deal_in_the_buyers_portal_once(
        client, db, world, settings, stripe_admin, market_webhook_receiver, instance,
        resources):
    seller, buyer = world.partner_a, world.partner_b
    seller_portal = Portal(settings, connect(db, settings, seller, seed=3))
    buyer_portal = Portal(settings, connect(db, settings, buyer, deals=6, contacts=5, seed=5))
    sync(db, settings, seller)
    sync(db, settings, buyer)
    seller_summary = httpx.get(f"{settings.hubspot_base_url}/_sandbox/portals/"
                               f"{seller_portal.portal_id}").json()

    lead_id, purchase_id, event = _buy(
        client, db, seller, world.admin_b, stripe_admin, market_webhook_receiver,
        title="Northwind migration", contact_name="Grace Hopper",
        contact_email="grace@navy.example.com", contact_phone="+1 555 0199",
        company="Navy", amount_cents=4_200_000)
    assert _forward(client, [event])[0].json()["result"] == "completed"

    # Fulfilment recorded the sale's delivery; the sensor asks for one run.
    pending = db[deliveries.CRM_DELIVERIES].find_one({"_id": purchase_id})
    assert (pending["status"], pending["buyer_partner_id"], pending["lead_id"]) == \
        ("pending", buyer, lead_id)
    instance.add_dynamic_partitions(partners_partitions.name, [buyer])
    [request] = _sensor(instance, resources).run_requests
    run = _run(instance, resources, request)

    done = db[deliveries.CRM_DELIVERIES].find_one({"_id": purchase_id})
    assert done["status"] == "delivered" and done["attempts"] == 1
    # the run materialised the buyer's cross_partner_sync, as the worker's lane reports it
    record = instance.get_latest_materialization_event(AssetKey("cross_partner_sync"))
    assert record.run_id == run.run_id and record.asset_materialization.partition == buyer
    assert record.asset_materialization.metadata["delivered_to_buyer_crm"].value == 1
    deal = _deal(buyer_portal, done["deal_id"])
    props = deal["properties"]
    assert props["dealname"] == "Northwind migration" and props["amount"] == "42000.00"
    assert props["description"] == marker(purchase_id)
    # The deal is associated with the buyer's new contact and with the note.
    [contact] = deal["associations"]["contacts"]["results"]
    assert str(contact["id"]) == done["contact_id"]
    person = httpx.get(f"{buyer_portal.host}/crm/v3/objects/contacts/{contact['id']}",
                       params={"properties": "email,firstname,lastname,phone,company"},
                       headers=buyer_portal.headers).json()["properties"]
    assert (person["email"], person["firstname"], person["lastname"], person["phone"]) == \
        ("grace@navy.example.com", "Grace", "Hopper", "+1 555 0199")
    [note] = buyer_portal.notes_of(done["deal_id"])
    assert "grace@navy.example.com" in note and "Northwind migration" in note
    lead = db[c.LEADS].find_one({"_id": lead_id})
    assert lead["buyer_hubspot_deal_id"] == done["deal_id"]
    assert db[DEAL_LINKS].find_one({"_id": f"{buyer}:{done['deal_id']}"})["lead_id"] == lead_id
    task = db[c.SYNC_TASKS].find_one({"partner_id": buyer, "trigger": "sale"})
    assert task["status"] == "succeeded" and task["details"]["sale_delivery"]["created"] == 1
    # Nothing reached the seller's portal.
    after = httpx.get(f"{settings.hubspot_base_url}/_sandbox/portals/"
                      f"{seller_portal.portal_id}").json()
    assert (after["deals"], after["contacts"]) == (seller_summary["deals"],
                                                    seller_summary["contacts"])

    # A redelivered Stripe event, another sensor tick, a re-run: no second deal.
    again = _forward(client, [event])[0].json()
    assert again["duplicate"] is True
    assert isinstance(_sensor(instance, resources), SkipReason)
    assert deliver_due(db, settings).delivered == 0
    assert sync_buyer(db, settings, buyer).delivered == 0
    assert len(_deals_marked(buyer_portal, purchase_id)) == 1

    # An attempt that died after HubSpot created the deal but before we recorded it:
    # the retry finds the deal by its description instead of making another.
    db[deliveries.CRM_DELIVERIES].replace_one({"_id": purchase_id}, {
        **done, "status": "pending", "deal_id": None, "note_id": None,
        "due_key": time_key(utcnow())})
    db[c.LEADS].replace_one({"_id": lead_id}, {**lead, "buyer_hubspot_deal_id": None})
    assert deliver_due(db, settings).delivered == 1
    assert [d["id"] for d in _deals_marked(buyer_portal, purchase_id)] == [done["deal_id"]]
    assert db[deliveries.CRM_DELIVERIES].find_one({"_id": purchase_id})["deal_id"] == \
        done["deal_id"]


def test_the_workers_sale_lane_reports_each_buyers_delivered_sales_to_dagster(
        client, db, world, settings, stripe_admin, market_webhook_receiver, instance):
    """The hot path's sale lane, like its webhook lane: each buyer's delivered sales are
    a runless materialisation of the buyer's ``cross_partner_sync`` (the asset that
    delivers them in the 15-minute sync), with the counts, the latency and the task."""
    seller, buyer = world.partner_a, world.partner_b
    buyer_portal = Portal(settings, connect(db, settings, buyer, deals=6, contacts=5, seed=5))
    sync(db, settings, buyer)
    _, purchase_id, event = _buy(client, db, seller, world.admin_b, stripe_admin,
                                 market_webhook_receiver, title="Worker-delivered lead",
                                 contact_email="ada@example.com")
    assert _forward(client, [event])[0].json()["result"] == "completed"
    holder = "worker:sales-1"
    worker = Worker(settings, holder=holder, db=db, lanes=(wakeups.SALE,),
                    report=DagsterReporter(instance, holder))
    [batch] = worker.run_once().sales.buyers
    assert (batch.buyer_id, batch.delivered) == (buyer, 1)
    done = db[deliveries.CRM_DELIVERIES].find_one({"_id": purchase_id})
    assert done["status"] == "delivered" and len(_deals_marked(buyer_portal, purchase_id)) == 1
    task = db[c.SYNC_TASKS].find_one({"partner_id": buyer, "trigger": "sale"})
    assert task["status"] == "succeeded" and task["dagster_run_id"] is None
    record = instance.get_latest_materialization_event(AssetKey("cross_partner_sync"))
    assert record is not None and record.run_id == ""  # runless
    mat = record.asset_materialization
    assert mat.partition == buyer and mat.metadata["delivered_to_buyer_crm"].value == 1
    assert mat.metadata["sync_task_id"].value == task["_id"]
    assert mat.metadata["worker"].value == holder
    assert 0 < mat.metadata["latency_s_oldest"].value < 60
    # a pass that delivers nothing reports nothing
    assert worker.run_once().sales.buyers == []
    assert len(instance.fetch_materializations(AssetKey("cross_partner_sync"),
                                               limit=10).records) == 1


def test_a_broken_buyer_portal_backs_off_without_stopping_another_buyer(
        client, db, world, settings, stripe_admin, market_webhook_receiver, instance,
        resources):
    seller, good_buyer = world.partner_a, world.partner_b
    broken_buyer = create_partner(db, SYSTEM, name="Agency C").id
    broken_admin = make_account(db, settings, Role.ADMIN, broken_buyer)
    connect(db, settings, good_buyer, deals=3, contacts=3, seed=11)
    broken_portal = connect(db, settings, broken_buyer, deals=3, contacts=3, seed=12)
    sync(db, settings, good_buyer)
    sync(db, settings, broken_buyer)
    good = _buy(client, db, seller, world.admin_b, stripe_admin, market_webhook_receiver,
                contact_email="good@example.com")
    bad = _buy(client, db, seller, broken_admin, stripe_admin, market_webhook_receiver,
               contact_email="bad@example.com")
    bad_too = _buy(client, db, seller, broken_admin, stripe_admin, market_webhook_receiver,
                   contact_email="bad2@example.com")
    assert [a.json()["result"] for a in _forward(client, [good[2], bad[2], bad_too[2]])] == \
        ["completed", "completed", "completed"]
    # The broken buyer's portal is gone (its tokens refused), after the sale.
    httpx.delete(f"{settings.hubspot_base_url}/_sandbox/portals/{broken_portal}")

    # One sensor tick, one run for both buyers.
    result = _sensor(instance, resources)
    assert isinstance(result, SensorResult) and len(result.run_requests) == 1
    assert result.run_requests[0].tags["pc/buyers"] == "2"
    _run(instance, resources, result.run_requests[0])

    ok = db[deliveries.CRM_DELIVERIES].find_one({"_id": good[1]})
    failed = db[deliveries.CRM_DELIVERIES].find_one({"_id": bad[1]})
    assert ok["status"] == "delivered"
    assert failed["status"] == "pending" and failed["attempts"] == 1
    assert failed["last_error"] and failed["errors"][0]["attempt"] == 1
    # The buyer's other sale was not tried against the dead portal again: same error,
    # its own back-off.
    second = db[deliveries.CRM_DELIVERIES].find_one({"_id": bad_too[1]})
    assert (second["status"], second["attempts"]) == ("pending", 1)
    assert "the buyer's HubSpot" in second["last_error"]
    # Backed off: due again in about 30 s, so the next tick launches nothing.
    wait = failed["due_key"] > time_key(utcnow() + timedelta(seconds=20))
    assert wait and failed["due_key"] < time_key(utcnow() + timedelta(seconds=40))
    assert isinstance(_sensor(instance, resources), SkipReason)
    task = db[c.SYNC_TASKS].find_one({"partner_id": broken_buyer, "trigger": "sale"})
    assert task["status"] == "failed" and task["errors"]

    # Later, still broken: the back-off doubles. The buyer reconnects: delivered.
    later = utcnow() + timedelta(seconds=31)
    assert deliver_due(db, settings, now=later).delivered == 0
    again = db[deliveries.CRM_DELIVERIES].find_one({"_id": bad[1]})
    assert again["attempts"] == 2 and len(again["errors"]) == 2
    assert again["due_key"] > time_key(utcnow() + timedelta(seconds=50))
    connect(db, settings, broken_buyer, deals=2, contacts=2, seed=13)
    sync(db, settings, broken_buyer)
    report = deliver_due(db, settings, now=utcnow() + timedelta(seconds=61))
    assert report.delivered == 2 and report.errors == []
    assert {db[deliveries.CRM_DELIVERIES].find_one({"_id": b[1]})["status"]
            for b in (bad, bad_too)} == {"delivered"}


def test_a_buyer_without_hubspot_gets_its_sales_once_it_connects(
        client, db, world, settings, stripe_admin, market_webhook_receiver, instance,
        resources):
    lead_id, purchase_id, event = _buy(client, db, world.partner_a, world.admin_b,
                                       stripe_admin, market_webhook_receiver)
    _forward(client, [event])
    waiting = db[deliveries.CRM_DELIVERIES].find_one({"_id": purchase_id})
    assert waiting["status"] == "waiting_for_crm"
    assert isinstance(_sensor(instance, resources), SkipReason)  # nothing to launch
    portal = Portal(settings, connect(db, settings, world.partner_b, deals=2, contacts=2))
    sync(db, settings, world.partner_b)
    # The buyer's first sync runs its cross-partner step, which delivers.
    assert sync_buyer(db, settings, world.partner_b).delivered == 1
    deal_id = db[c.LEADS].find_one({"_id": lead_id})["buyer_hubspot_deal_id"]
    assert portal.deal(deal_id)["properties"]["dealname"] == "Acme deal"


def test_attempts_back_off_then_fail_for_good(db, world):
    purchase = {"_id": "p1", "buyer_partner_id": world.partner_b,
                "seller_partner_id": world.partner_a}
    assert deliveries.record_pending(db, purchase, {"_id": "l1", "partner_id": world.partner_a})
    assert not deliveries.record_pending(db, purchase, {"_id": "l1"})  # once per purchase
    assert [deliveries.backoff_seconds(n) for n in (1, 2, 3, 7, 8, 20)] == \
        [30, 60, 120, 1920, 3600, 3600]
    doc = db[deliveries.CRM_DELIVERIES].find_one({"_id": "p1"})
    assert doc["status"] == "waiting_for_crm"  # partner B has no HubSpot here
    db[deliveries.CRM_DELIVERIES].replace_one({"_id": "p1"}, {**doc, "status": "pending"})
    for n in range(1, deliveries.MAX_ATTEMPTS + 1):
        doc = db[deliveries.CRM_DELIVERIES].find_one({"_id": "p1"})
        claimed = deliveries.claim(db, doc)
        assert claimed["attempts"] == n and claimed["status"] == "delivering"
        # A second worker cannot take a live claim.
        assert deliveries.claim(db, claimed) is None
        after = deliveries.mark_attempt_failed(db, claimed, f"HTTP 500 number {n}")
    assert after["status"] == "failed" and len(after["errors"]) == deliveries.MAX_ATTEMPTS
    assert after["last_error"] == f"HTTP 500 number {deliveries.MAX_ATTEMPTS}"
    assert deliveries.due(db, utcnow() + timedelta(days=1)) == []
