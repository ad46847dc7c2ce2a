"""How the analytics reach Dagster without a click: a paid purchase is recorded in the
outbox (and its lead's marketplace transitions as stage events) and reported once as a
materialisation of ``marketplace_purchases``; ``analytics_sensor`` runs a partner's
analytics when its leads or the purchases changed, or its funnel got old; the
definitions wire the lineage HubSpot → leads → listings → purchases → invoices."""

from __future__ import annotations

from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterRun,
    DagsterRunStatus,
    Definitions,
    build_sensor_context,
)

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.billing.refunds import record_refund
from pc_core.ids import new_id
from pc_core.journal import outbox
from pc_core.journal.stage_events import STAGE_EVENTS
from pc_core.marketplace import fulfilment, reservations
from pc_core.store import sort_key
from pc_core.timeutil import utcnow
from pc_pipelines.analytics.sensors import analytics_sensor, purchases_outbox_sensor
from pc_pipelines.definitions import defs
from pc_pipelines.lib.partitions import partners_partitions
from tests.billing_helpers import completed_purchase
from tests.marketplace_helpers import listed_lead


def _pay(db, settings, world):
    """B reserves A's listed lead and pays (the Stripe webhook's success handler)."""
    lead_id = listed_lead(db, world.partner_a)
    buyer = Principal(world.admin_b.id, Role.ADMIN, world.partner_b)
    reservation = reservations.reserve(db, settings, buyer, lead_id)
    now = utcnow()
    pid = new_id()
    db[c.PURCHASES].insert_one({
        "_id": pid, "reservation_id": reservation.id, "lead_id": lead_id,
        "buyer_partner_id": world.partner_b, "buyer_user_id": world.admin_b.id,
        "seller_partner_id": world.partner_a, "price_cents": reservation.price_cents,
        "commission_cents": reservation.commission_cents,
        "amount_cents": reservation.buyer_total_cents, "currency": "usd",
        "destination_account": None, "status": "pending", "payment_intent_id": "pi_" + pid,
        "client_secret": "secret", "failure_message": None, "refund_id": None,
        "created_at": now, "updated_at": now, "completed_at": None,
        "sort_key": sort_key(now, pid), "rev": 1})
    intent = {"id": "pi_" + pid, "metadata": {"purchase_id": pid},
              "amount_received": reservation.buyer_total_cents}
    assert fulfilment.payment_succeeded(db, settings, intent) == "completed"
    assert fulfilment.payment_succeeded(db, settings, intent) == "already-completed"
    return lead_id, pid


def test_a_paid_purchase_is_reported_once(db, settings, world, redis_conn, instance,
                                          resources):
    lead_id, pid = _pay(db, settings, world)
    transitions = sorted((e["to_value"], e["source"]) for e in db[STAGE_EVENTS].find(
        {"lead_id": lead_id}))
    assert transitions == [("reserved", "marketplace"), ("sold", "marketplace")]
    assert [d["_id"] for d in outbox.pending(db)] == [f"completed:{pid}"]

    result = purchases_outbox_sensor(build_sensor_context(instance=instance,
                                                          resources=resources))
    assert [e.asset_key for e in result.asset_events] == [AssetKey("marketplace_purchases")]
    event = result.asset_events[0]
    assert event.metadata["purchase_id"].value == pid
    assert event.metadata["seller_partner_id"].value == world.partner_a
    # The next tick confirms them (its cursor came back with the tick) and reports nothing.
    again = purchases_outbox_sensor(build_sensor_context(
        instance=instance, resources=resources, cursor=result.cursor))
    assert again.asset_events == []
    assert outbox.pending(db) == []
    assert db[outbox.ASSET_OUTBOX].find_one({"_id": f"completed:{pid}"})["status"] == \
        outbox.REPORTED


def _requests(instance):
    return analytics_sensor(build_sensor_context(instance=instance))


def test_analytics_sensor_follows_leads_purchases_and_age(instance):
    instance.add_dynamic_partitions(partners_partitions.name, ["p1", "p2"])
    assert _requests(instance) == []  # no sync has finished: nothing to analyse
    for p in ("p1", "p2"):
        instance.report_runless_asset_event(AssetMaterialization("leads", partition=p))
    first = _requests(instance)
    assert sorted(r.partition_key for r in first) == ["p1", "p2"]  # no funnel yet
    for p in ("p1", "p2"):
        instance.report_runless_asset_event(AssetMaterialization("partner_funnel", partition=p))
    assert _requests(instance) == []  # up to date
    instance.report_runless_asset_event(AssetMaterialization("leads", partition="p1"))
    changed = _requests(instance)
    assert [r.partition_key for r in changed] == ["p1"]
    assert _requests(instance)[0].run_key == changed[0].run_key  # launched once
    instance.report_runless_asset_event(AssetMaterialization("partner_funnel", partition="p1"))
    instance.report_runless_asset_event(AssetMaterialization("marketplace_purchases"))
    assert sorted(r.partition_key for r in _requests(instance)) == ["p1", "p2"]
    # A partner whose analytics run is already under way waits for it.
    instance.add_run(DagsterRun(job_name="analytics_job", run_id=new_id(),
                                status=DagsterRunStatus.STARTED,
                                tags={"dagster/partition": "p2"}))
    assert [r.partition_key for r in _requests(instance)] == ["p1"]


def test_definitions_wire_the_lineage():
    Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    graph = repo.asset_graph

    def parents(key):
        return {k.to_user_string() for k in graph.get(AssetKey(key)).parent_keys}

    assert parents("marketplace_listings") == {"leads"}
    assert parents("marketplace_purchases") == {"marketplace_listings"}
    assert "marketplace_purchases" in parents("monthly_invoices")
    assert parents("lead_stage_history") == {"leads"}
    assert parents("partner_funnel") == {"lead_stage_history", "marketplace_purchases"}
    for name in ("analytics_job", "data_quality_job"):
        assert repo.has_job(name)
    assert repo.has_schedule_def("data_quality_schedule")
    for name in ("analytics_sensor", "purchases_outbox_sensor"):
        assert repo.has_sensor_def(name)
    checks = {k.name for k in graph.asset_check_keys}
    assert {"no_lead_sold_twice", "listings_expose_no_contact_data", "invoice_totals_add_up",
            "leads_match_hubspot_deals", "partners_synced_recently",
            "webhook_inbox_fresh"} <= checks


def test_a_refund_after_the_sale_is_reported(db, world):
    sale = completed_purchase(db, world.partner_b, world.partner_a, 10_000, utcnow())
    record_refund(db, sale["_id"], amount_cents=3_000)
    assert [d["_id"] for d in outbox.pending(db)] == [f"refunded:{sale['_id']}"]
    assert outbox.pending(db)[0]["metadata"]["buyer_partner_id"] == world.partner_b
