"""The analytics assets in Dagster over seeded data: stage history, listings and the
daily funnel materialised (figures, metadata, Parquet in the warehouse); every check
failing on a crafted bad case (and emailing the operator; a blocking one stops the
funnel); a backfill rebuilding a partner's history from HubSpot's property history."""

from __future__ import annotations

from datetime import timedelta

import httpx
import polars as pl
import pytest
from dagster import AssetSelection, AssetSpec, materialize

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.ids import new_id
from pc_core.journal.stage_events import STAGE_EVENTS
from pc_core.leads.inventory import create_lead, update_lead
from pc_core.marketplace import leadstate
from pc_core.models.leads import LeadCreate, LeadUpdate
from pc_core.security.encryption import encrypt_secret
from pc_core.timeutil import utcnow
from pc_pipelines.analytics.assets import (
    lead_stage_history,
    marketplace_listings,
    marketplace_purchases,
    partner_funnel,
)
from pc_pipelines.analytics.checks import (
    invoice_totals_add_up,
    leads_match_hubspot_deals,
    listings_expose_no_contact_data,
    no_lead_sold_twice,
    partners_synced_recently,
    webhook_inbox_fresh,
)
from pc_pipelines.analytics.warehouse import IO_MANAGER_KEY, warehouse_io_manager
from pc_pipelines.lib.partitions import partners_partitions
from tests.billing_helpers import completed_purchase
from tests.hubspot_helpers import Portal, connect, sync

EXTERNAL = [AssetSpec("leads", partitions_def=partners_partitions), AssetSpec("monthly_invoices")]
ANALYTICS = [lead_stage_history, marketplace_listings, marketplace_purchases, partner_funnel]


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse"


@pytest.fixture
def dagster_resources(resources, warehouse):
    return {**resources, IO_MANAGER_KEY: warehouse_io_manager(str(warehouse))}


def _seed(db, world):
    """Partner A today: a lead contacted then won, one lost, one non_fit (listed at
    creation) that partner B reserves and buys for 300.00."""
    admin = Principal(world.admin_a.id, Role.ADMIN, world.partner_a)
    won = create_lead(db, admin, LeadCreate(title="Won deal", industry="SaaS")).id
    lost = create_lead(db, admin, LeadCreate(title="Lost deal")).id
    unfit = create_lead(db, admin, LeadCreate(
        title="Unfit deal", stage="non_fit", industry="Fintech", location="US",
        contact_email="ada@acme.example.com", contact_name="Ada Lovelace")).id
    update_lead(db, admin, won, LeadUpdate(stage="contacted"))
    update_lead(db, admin, won, LeadUpdate(stage="won"))
    update_lead(db, admin, lost, LeadUpdate(stage="lost"))
    now = utcnow()
    lead = db[c.LEADS].find_one({"_id": unfit})
    reservation = {"_id": new_id(), "buyer_partner_id": world.partner_b,
                   "expires_at": now + timedelta(days=7)}
    lead = leadstate.reserve(db, lead, reservation, now)
    purchase = completed_purchase(db, world.partner_b, world.partner_a, 30_000, now,
                                  lead_id=unfit, reservation_id=reservation["_id"])
    assert leadstate.sell(db, lead, purchase, now) is not None
    return {"won": won, "lost": lost, "unfit": unfit, "purchase": purchase}


def _run(instance, resources, partner_id, assets, *, selection=None, tags=None):
    instance.add_dynamic_partitions(partners_partitions.name, [partner_id])
    return materialize([*EXTERNAL, *assets], selection=selection, partition_key=partner_id,
                       instance=instance, resources=resources, tags=tags,
                       raise_on_error=False)


def test_assets_over_seeded_data(db, world, instance, dagster_resources, warehouse):
    seeded = _seed(db, world)
    result = _run(instance, dagster_resources, world.partner_a, ANALYTICS,
                  selection=AssetSelection.assets(*[a for a in ANALYTICS
                                                    if not isinstance(a, AssetSpec)]))
    assert result.success
    history = pl.read_parquet(warehouse / "lead_stage_history" / f"{world.partner_a}.parquet")
    won = history.filter((pl.col("lead_id") == seeded["won"]) & (pl.col("kind") == "stage"))
    assert won.sort("seq")["to_value"].to_list() == ["new", "contacted", "won"]
    unfit = history.filter((pl.col("lead_id") == seeded["unfit"]) & (pl.col("kind") == "status"))
    assert unfit.sort("seq")["to_value"].to_list() == ["listed", "reserved", "sold"]
    assert set(unfit["source"]) == {"platform", "marketplace"}

    days = pl.read_parquet(warehouse / "partner_funnel" / f"{world.partner_a}.parquet")
    today = days.filter(pl.col("day") == utcnow().date()).row(0, named=True)
    assert (today["entered_new"], today["entered_contacted"], today["entered_won"],
            today["entered_lost"], today["entered_non_fit"]) == (2, 1, 1, 1, 1)
    assert today["win_rate"] == 0.5 and today["conversion_new"] == 0.5
    assert (today["listed"], today["reserved"], today["sold"]) == (1, 1, 1)
    assert today["revenue_cents"] == 30_000 and today["sales"] == 1
    assert today["commission_paid_cents"] == 0 and today["median_days_to_sell"] >= 0

    listings = pl.read_parquet(warehouse / "marketplace_listings" / f"{world.partner_a}.parquet")
    assert listings.height == 0  # the only listed lead was sold

    funnel_meta = result.asset_materializations_for_node("partner_funnel")[0].metadata
    assert funnel_meta["dagster/row_count"].value == 1
    assert "| day |" in funnel_meta["preview"].value
    assert funnel_meta["last_30_days"].value["revenue_cents"] == 30_000
    history_meta = result.asset_materializations_for_node("lead_stage_history")[0].metadata
    assert history_meta["dagster/row_count"].value == history.height
    assert history_meta["by_source"].value == {"marketplace": 2, "platform": 9}
    listing_meta = result.asset_materializations_for_node("marketplace_listings")[0].metadata
    assert listing_meta["leads"].value == 3 and listing_meta["listed"].value == 0


def _checks(result):
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _emailed(db, check, owner):
    doc = db[c.EMAILS].find_one({"template": "check_failed",
                                 "_id": {"$regex": f"^check-failed:{check}:"}})
    return doc is not None and owner.email in doc["to"]


def test_sold_twice_fails_blocks_the_funnel_and_emails(db, world, instance, dagster_resources):
    seeded = _seed(db, world)
    checks = [no_lead_sold_twice, listings_expose_no_contact_data]
    # What analytics_job runs: the three assets, their checks, no_lead_sold_twice.
    job = AssetSelection.assets(lead_stage_history, marketplace_listings, partner_funnel) \
        | AssetSelection.checks(*checks)
    ok = _run(instance, dagster_resources, world.partner_a, [*ANALYTICS, *checks],
              selection=job)
    assert ok.success and _checks(ok)["no_lead_sold_twice"].passed
    completed_purchase(db, world.operator, world.partner_a, 30_000, utcnow(),
                       lead_id=seeded["unfit"])
    bad = _run(instance, dagster_resources, world.partner_a, [*ANALYTICS, *checks],
               selection=job)
    assert not bad.success
    evaluation = _checks(bad)["no_lead_sold_twice"]
    assert not evaluation.passed and evaluation.metadata["leads_sold_twice"].value == 1
    materialised = {m.asset_key.to_user_string() for m in bad.get_asset_materialization_events()
                    for m in [m.event_specific_data.materialization]}
    assert "partner_funnel" not in materialised  # blocked
    assert _emailed(db, "no_lead_sold_twice", world.owner)


def test_listing_exposing_contact_data_fails(db, world, instance, dagster_resources):
    admin = Principal(world.admin_a.id, Role.ADMIN, world.partner_a)
    create_lead(db, admin, LeadCreate(title="Clean", stage="non_fit", industry="SaaS"))
    result = _run(instance, dagster_resources, world.partner_a,
                  [marketplace_listings, listings_expose_no_contact_data])
    assert _checks(result)["listings_expose_no_contact_data"].passed
    # A seller typed the contact's e-mail into a field buyers see.
    create_lead(db, admin, LeadCreate(title="Leaky", stage="non_fit",
                                      location="ask ada@acme.example.com",
                                      contact_email="ada@acme.example.com"))
    result = _run(instance, dagster_resources, world.partner_a,
                  [marketplace_listings, listings_expose_no_contact_data])
    evaluation = _checks(result)["listings_expose_no_contact_data"]
    assert not evaluation.passed and evaluation.metadata["problems"].value == 1
    assert _emailed(db, "listings_expose_no_contact_data", world.owner)


def _check_only(instance, resources, *checks):
    return materialize([*EXTERNAL, marketplace_purchases, *checks],
                       selection=AssetSelection.checks(*checks), instance=instance,
                       resources=resources, raise_on_error=False)


def test_invoice_that_does_not_add_up_fails(db, world, instance, dagster_resources):
    line = {"id": "p:1", "kind": "purchase", "total_cents": 12_000}
    refund = {"id": "r:1", "kind": "refund", "total_cents": -2_000}
    credit = {"id": "adj:2026-01:p:9", "kind": "adjustment", "total_cents": -500}
    good = {"_id": f"{world.partner_b}:2026-02", "partner_id": world.partner_b,
            "month": "2026-02", "lines": [line, refund, credit], "purchases_cents": 12_000,
            "credits_cents": 2_000, "adjustments_cents": -500, "total_cents": 9_500}
    db[c.INVOICES].insert_one(good)
    assert _checks(_check_only(instance, dagster_resources, invoice_totals_add_up))[
        "invoice_totals_add_up"].passed
    db[c.INVOICES].insert_one({**good, "_id": f"{world.partner_a}:2026-02",
                               "partner_id": world.partner_a, "total_cents": 10_000})
    evaluation = _checks(_check_only(instance, dagster_resources, invoice_totals_add_up))[
        "invoice_totals_add_up"]
    assert not evaluation.passed
    assert world.partner_a in evaluation.metadata["details"].value
    assert _emailed(db, "invoice_totals_add_up", world.owner)


def test_freshness_checks(db, world, instance, dagster_resources):
    now = utcnow()
    partner = db[c.PARTNERS].find_one({"_id": world.partner_a})
    hub = {"portal_id": "1", "connected_at": now - timedelta(minutes=5), "last_synced_at": None}
    db[c.PARTNERS].replace_one({"_id": world.partner_a}, {**partner, "hubspot": hub})
    checks = (partners_synced_recently, webhook_inbox_fresh)
    fresh = _checks(_check_only(instance, dagster_resources, *checks))
    assert fresh["partners_synced_recently"].passed  # connected 5 minutes ago
    assert fresh["webhook_inbox_fresh"].passed  # nothing waiting
    hub.update(connected_at=now - timedelta(hours=3), last_synced_at=now - timedelta(hours=2))
    db[c.PARTNERS].replace_one({"_id": world.partner_a}, {**partner, "hubspot": hub})
    db[c.WEBHOOK_EVENTS].insert_one({"_id": "e1", "partner_id": world.partner_a,
                                     "processed": False, "seq": 1,
                                     "received_at": now - timedelta(minutes=3)})
    stale = _checks(_check_only(instance, dagster_resources, *checks))
    assert not stale["partners_synced_recently"].passed
    assert "120 minutes ago" in stale["partners_synced_recently"].metadata["details"].value
    assert not stale["webhook_inbox_fresh"].passed
    assert stale["webhook_inbox_fresh"].metadata["oldest_unprocessed_s"].value >= 180
    assert _emailed(db, "partners_synced_recently", world.owner)
    assert _emailed(db, "webhook_inbox_fresh", world.owner)


# -- HubSpot: exact history, backfill, deal count ----------------------------------------


@pytest.fixture
def hs(settings, hubspot_host):
    return settings.model_copy(update={"hubspot_base_url": hubspot_host})


def _stage_history(portal: Portal, deal_id: str) -> list[tuple[str, str]]:
    r = httpx.get(f"{portal.host}/crm/v3/objects/deals/{deal_id}",
                  params={"propertiesWithHistory": "dealstage"}, headers=portal.headers)
    entries = r.json()["propertiesWithHistory"]["dealstage"]
    return sorted((e["timestamp"], e["value"]) for e in entries)


def test_backfill_rebuilds_a_partners_history_from_hubspot(db, hs, world, instance,
                                                           dagster_resources):
    portal = Portal(hs, connect(db, hs, world.partner_a, deals=60, contacts=20))
    sync(db, hs, world.partner_a)
    # The first run reads every new deal's history: 60 deals, ≤ 50 per request.
    first = _run(instance, dagster_resources, world.partner_a, [lead_stage_history])
    assert first.success
    meta = first.asset_materializations_for_node("lead_stage_history")[0].metadata
    assert (meta["deals_read"].value, meta["hubspot_history_requests"].value) == (60, 2)
    assert db[STAGE_EVENTS].count_documents({"partner_id": world.partner_a,
                                             "needs_history": True}) == 0

    lead = db[c.LEADS].find_one({"partner_id": world.partner_a, "stage": {"$ne": "won"},
                                 "status": "open"})
    deal_id = lead["hubspot_deal_id"]
    stages = [s["id"] for s in portal.stages(lead["hubspot_pipeline_id"])]
    moves = [s for s in stages if s != lead["hubspot_stage_id"]][:2]
    for stage_id in moves:  # two moves between two pulls: the pull sees only the last
        portal.update_deal(deal_id, dealstage=stage_id)
    sync(db, hs, world.partner_a)
    # The lead builder recorded what it saw (the last move only), at the deal's
    # last-modified time, waiting for the exact history.
    waiting = list(db[STAGE_EVENTS].find({"lead_id": lead["_id"], "needs_history": True}))
    assert [e["hubspot_stage_id"] for e in waiting] == [moves[-1]]

    # The next run replaces it with HubSpot's exact history, the skipped move included.
    second = _run(instance, dagster_resources, world.partner_a, [lead_stage_history])
    assert second.success
    meta = second.asset_materializations_for_node("lead_stage_history")[0].metadata
    assert (meta["deals_read"].value, meta["hubspot_history_requests"].value) == (1, 1)
    truth = _stage_history(portal, deal_id)
    assert [e["hubspot_stage_id"] for e in db[STAGE_EVENTS].find(
        {"lead_id": lead["_id"], "kind": "stage"}).sort("at_ms", 1)] == [v for _, v in truth]
    assert len(truth) == 3

    def stage_rows():
        return sorted((e["lead_id"], e["at_ms"], e["hubspot_stage_id"], e["exact"])
                      for e in db[STAGE_EVENTS].find({"partner_id": world.partner_a,
                                                      "kind": "stage", "exact": True}))

    # Backfill: the partner's stage history is rebuilt from HubSpot alone, every deal
    # read (≤ 50 per request), and comes out the same.
    before = stage_rows()
    db[STAGE_EVENTS].delete_many({"partner_id": world.partner_a, "kind": "stage"})
    rebuilt = _run(instance, dagster_resources, world.partner_a, [lead_stage_history],
                   tags={"dagster/backfill": "test-backfill"})
    assert rebuilt.success
    meta = rebuilt.asset_materializations_for_node("lead_stage_history")[0].metadata
    assert meta["rebuilt_from_hubspot"].value is True
    assert meta["deals_read"].value == 60 and meta["hubspot_history_requests"].value == 2
    after = stage_rows()
    assert len(after) >= 60 and set(before) <= set(after)
    lead_rows = [r for r in after if r[0] == lead["_id"]]
    assert [r[2] for r in lead_rows] == [v for _, v in truth]
    history = sorted(e["at_ms"] for e in db[STAGE_EVENTS].find({"lead_id": lead["_id"]}))
    assert history == sorted(history)

    # After a sync the leads match HubSpot's deals in count; a lost lead shows.
    deal_check = _checks(_check_only(instance, dagster_resources, leads_match_hubspot_deals))
    assert deal_check["leads_match_hubspot_deals"].passed
    db[c.LEADS].delete_one({"_id": lead["_id"]})
    deal_check = _checks(_check_only(instance, dagster_resources, leads_match_hubspot_deals))
    assert not deal_check["leads_match_hubspot_deals"].passed
    assert "60 deals, the platform 59 leads" in deal_check[
        "leads_match_hubspot_deals"].metadata["details"].value


def test_hubspot_trouble_leaves_the_history_built_but_fails_a_backfill(
        db, hs, world, instance, dagster_resources):
    _seed(db, world)
    partner = db[c.PARTNERS].find_one({"_id": world.partner_a})
    key = hs.token_encryption_key
    hub = {"portal_id": "999", "scopes": [], "last_synced_at": None,
           "access_token": encrypt_secret(key, "revoked"),
           "refresh_token": encrypt_secret(key, "revoked"),
           "expires_at": utcnow() - timedelta(hours=1)}  # a refresh HubSpot refuses
    db[c.PARTNERS].replace_one({"_id": world.partner_a}, {**partner, "hubspot": hub})
    regular = _run(instance, dagster_resources, world.partner_a, [lead_stage_history])
    assert regular.success
    meta = regular.asset_materializations_for_node("lead_stage_history")[0].metadata
    assert "reconnect HubSpot" in meta["hubspot_history_error"].value
    assert meta["dagster/row_count"].value == 11  # as in test_assets_over_seeded_data
    backfill = _run(instance, dagster_resources, world.partner_a, [lead_stage_history],
                    tags={"pc/full": "true"})
    assert not backfill.success
