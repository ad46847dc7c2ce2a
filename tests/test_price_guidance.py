"""Price guidance (issue 19): figures computed by hand on a small fixed market,
the fallback to broader segments below the minimum of sales, the stored table the
API reads, and the Dagster asset with its checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dagster import materialize

from pc_core import collections as c
from pc_core.analytics import price_guidance as pg
from pc_core.journal.stage_events import event_doc
from pc_pipelines.analytics.warehouse import IO_MANAGER_KEY, warehouse_io_manager
from pc_pipelines.price_guidance import (
    price_guidance,
    price_guidance_fresh,
    price_guidance_sample,
)
from pc_pipelines.resources import PlatformResource

NOW = datetime(2026, 6, 30, tzinfo=UTC)


def _row(lead, days_ago, price, *, sold_after=None, sold_price=None, industry="SaaS",
         size="51-200", region="US"):
    listed = NOW - timedelta(days=days_ago)
    return {"lead_id": lead, "industry": industry, "company_size": size, "region": region,
            "listed_at": listed, "price_cents": price,
            "sold_at": listed + timedelta(days=sold_after) if sold_after is not None else None,
            "sold_price_cents": sold_price}


MARKET = [
    _row("l1", 40, 10_000, sold_after=2, sold_price=10_000),
    _row("l2", 40, 20_000, sold_after=10, sold_price=20_000),
    _row("l3", 40, 30_000, sold_after=20, sold_price=30_000),
    _row("l4", 40, 50_000),
    _row("l5", 3, 40_000),  # too young: its 7-day outcome is not known yet
    _row("l6", 10, 12_000, sold_after=1, sold_price=12_000, region="UK"),
]


def _segment(table, level, **dims):
    rows = [r for r in table.iter_rows(named=True) if r["level"] == level
            and all(r[k] == v for k, v in dims.items())]
    assert len(rows) == 1, rows
    return rows[0]


def test_hand_computed_figures_per_segment():
    table = pg.guidance_table(pg.outcomes_frame(MARKET), NOW)
    us = _segment(table, 0, industry="SaaS", company_size="51-200", region="US")
    assert (us["listings"], us["sales"]) == (5, 3)
    # 7 days: l1..l4 known (l5 is 3 days old), 1 sold within 7 → 1/4.
    assert us["sell_through_7"] == pytest.approx(0.25)
    assert us["sell_through_14"] == pytest.approx(0.5)   # l1, l2 of 4
    assert us["sell_through_30"] == pytest.approx(0.75)  # l1, l2, l3 of 4
    assert us["median_days_to_sell"] == pytest.approx(10)
    # Sold 100/200/300 $: linear quartiles 150, 200, 250. Unsold 500 and 400 $.
    assert (us["sold_p25"], us["sold_median"], us["sold_p75"]) == (15_000, 20_000, 25_000)
    assert (us["unsold_p25"], us["unsold_median"], us["unsold_p75"]) == (42_500, 45_000, 47_500)
    saas = _segment(table, 1, industry="SaaS", company_size="51-200")
    assert (saas["listings"], saas["sales"]) == (6, 4)
    assert saas["region"] is None
    # l6 sold in 1 day: 2 of the 5 known at 7 days.
    assert saas["sell_through_7"] == pytest.approx(0.4)
    assert saas["median_days_to_sell"] == pytest.approx(6)  # median of 1, 2, 10, 20
    market = _segment(table, 3)
    assert (market["listings"], market["sales"]) == (6, 4)


def test_fallback_to_broader_segments_and_the_minimum(db):
    pg.store(db, pg.guidance_table(pg.outcomes_frame(MARKET), NOW), NOW)
    us = pg.lookup(db, "SaaS", "51-200", "Austin, US", price_cents=20_000, min_sales=3)
    assert (us.level, us.enough_sales, us.segment["sales"]) == (0, True, 3)
    # At $200: l1 ($100, sold in 2 days) and l2 ($200, not within 7) → 1 of 2.
    assert us.at_price_sold_7 == pytest.approx(0.5)
    uk = pg.lookup(db, "SaaS", "51-200", "London, UK", min_sales=3)  # 1 sale: broader
    assert (uk.level, uk.segment["sales"]) == (1, 4)
    other = pg.lookup(db, "Retail", "1-10", "US", min_sales=3)
    assert (other.level, other.enough_sales) == (3, True)
    thin = pg.lookup(db, "SaaS", "51-200", "US", min_sales=10)
    assert (thin.level, thin.enough_sales, thin.segment["sales"]) == (3, False, 4)
    # A rebuild without a segment drops it.
    pg.store(db, pg.guidance_table(pg.outcomes_frame(MARKET[:5]), NOW), NOW)
    assert pg.lookup(db, "SaaS", "51-200", "UK", min_sales=1).level == 1


def test_no_guidance_before_the_first_build(db):
    assert pg.lookup(db, "SaaS", None, None) is None
    assert pg.at_price_share([], 100) is None


def test_api_route(client, db, world):
    url = "/v1/marketplace/price-guidance"
    assert client.get(url, headers=world.user_a.headers).status_code == 404
    pg.store(db, pg.guidance_table(pg.outcomes_frame(MARKET), NOW), NOW)
    r = client.get(url, params={"industry": "SaaS", "company_size": "51-200",
                                "location": "US", "price_cents": 20_000},
                   headers=world.user_a.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    # 3 US sales, 4 in every broader segment: all below the minimum of 5, so the whole
    # market is given, flagged.
    assert (body["level"], body["sales"], body["enough_sales"]) == (3, 4, False)
    assert body["minimum_sales"] == pg.MIN_SALES == 5
    assert body["sold_median"] == 16_000  # 100, 120, 200, 300 $ → (120 + 200) / 2
    assert body["at_price_sold_7"] == pytest.approx(2 / 3)  # l1, l6 sold; l2 not
    assert client.get(url, params={"company_size": "huge"},
                      headers=world.user_a.headers).status_code == 422
    assert client.get(url).status_code == 401


def test_the_asset_reads_listings_and_sales(db, settings, tmp_path):
    """Real lead documents: a sold one (first listed by its status event 5 days
    before the sale), a listed one; the asset stores the table and its checks pass
    or warn."""
    listed_at = datetime.now(UTC) - timedelta(days=20)
    sold = {"_id": "s1", "partner_id": "p", "industry": "SaaS", "company_size": "1-10",
            "location": "Berlin, DE", "status": "sold", "price_cents": 30_000,
            "created_at": listed_at - timedelta(days=30), "sold_at": listed_at + timedelta(days=5),
            "sold_price_cents": 30_000}
    listed = {"_id": "s2", "partner_id": "p", "industry": "SaaS", "company_size": "1-10",
              "location": "DE", "status": "listed", "price_cents": None,
              "created_at": listed_at}
    db[c.LEADS].insert_many([sold, listed])
    db[c.STAGE_EVENTS].insert_one(event_doc(sold, "status", "open", "listed", listed_at,
                                            "platform"))
    result = materialize([price_guidance, price_guidance_sample, price_guidance_fresh],
                         resources={
        "platform": PlatformResource.of(settings),
        IO_MANAGER_KEY: warehouse_io_manager(str(tmp_path))},
        )
    assert result.success
    seg = db[c.PRICE_GUIDANCE].find_one({"_id": pg.segment_key(0, "SaaS", "1-10", "DE")})
    assert (seg["listings"], seg["sales"]) == (2, 1)
    assert seg["median_days_to_sell"] == pytest.approx(5)
    assert seg["sold_median"] == 30_000
    assert seg["unsold_median"] == settings.default_lead_price_cents
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    # One sale is below the minimum of 5: the sample check warns; just built: fresh.
    assert checks == {"price_guidance_sample": False, "price_guidance_fresh": True}
