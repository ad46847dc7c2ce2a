"""Aging prices (issue 19): a seller's weekly drop down to a floor, shown on the
listing as the next drop, applied once a week, and reaching saved searches."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pc_core import collections as c
from pc_core.marketplace.price_drops import apply_drops
from pc_core.settings import Settings
from pc_core.timeutil import utcnow
from tests.conftest import market_settings
from tests.marketplace_helpers import listed_lead

RULE = {"enabled": True, "percent": 10, "floor_cents": 40_000}


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    return market_settings(stores, sandbox_url)


def _listing(client, account, lead_id):
    items = client.get("/v1/marketplace/listings", headers=account.headers).json()["items"]
    return next(i for i in items if i["id"] == lead_id)


def test_rule_roles_and_validation(client, world):
    url = "/v1/marketplace/price-aging"
    assert client.get(url, headers=world.admin_a.headers).json()["enabled"] is False
    assert client.put(url, json=RULE, headers=world.user_a.headers).status_code == 403
    assert client.put(url, json={**RULE, "percent": 90},
                      headers=world.admin_a.headers).status_code == 422
    assert client.put(url, json=RULE, params={"partner_id": world.partner_b},
                      headers=world.admin_a.headers).status_code == 404
    r = client.put(url, json=RULE, headers=world.admin_a.headers)
    assert r.status_code == 200 and r.json() == RULE
    assert client.get(url, headers=world.user_a.headers).json() == RULE
    assert client.get(url, headers=world.admin_b.headers).json()["enabled"] is False


def test_weekly_drops_to_the_floor_shown_and_matched(client, db, world, settings):
    lead = listed_lead(db, world.partner_a, price_cents=50_000)
    plain = listed_lead(db, world.partner_b, price_cents=50_000)
    client.put("/v1/marketplace/price-aging", json=RULE, headers=world.admin_a.headers)
    shown = _listing(client, world.admin_a, lead)
    assert shown["next_price_cents"] == 45_000  # 10 % off $500
    assert _listing(client, world.admin_a, plain)["next_price_cents"] is None  # B: no aging
    # A buyer whose maximum is $460 hears of it once the price falls to $450.
    client.post("/v1/saved-searches", headers=world.user_b.headers,
                json={"name": "cheap SaaS", "criteria": {"industry": "SaaS",
                                                          "price_max": 46_000}})
    assert list(db[c.SEARCH_NOTICES].find()) == []
    assert apply_drops(db, settings, utcnow() + timedelta(days=6)).dropped == 0
    week = utcnow() + timedelta(days=7, minutes=1)
    assert apply_drops(db, settings, week).dropped == 1
    doc = db[c.LEADS].find_one({"_id": lead})
    assert doc["price_cents"] == 45_000
    assert db[c.LEADS].find_one({"_id": plain})["price_cents"] == 50_000  # no aging at B
    assert [n["lead_id"] for n in db[c.SEARCH_NOTICES].find()] == [lead]
    # Not twice in the same week; next week $405, then the $400 floor, then nothing.
    assert apply_drops(db, settings, week + timedelta(hours=1)).dropped == 0
    assert apply_drops(db, settings, utcnow() + timedelta(days=14, minutes=2)).dropped == 1
    assert db[c.LEADS].find_one({"_id": lead})["price_cents"] == 40_500
    assert apply_drops(db, settings, utcnow() + timedelta(days=21, minutes=3)).dropped == 1
    assert db[c.LEADS].find_one({"_id": lead})["price_cents"] == 40_000
    assert _listing(client, world.admin_a, lead)["next_price_cents"] is None  # at the floor
    assert apply_drops(db, settings, utcnow() + timedelta(days=60)).dropped == 0
    assert len(list(db[c.SEARCH_NOTICES].find())) == 1  # told once


def test_a_reserved_lead_does_not_age(client, db, world, settings):
    client.put("/v1/marketplace/price-aging", json=RULE, headers=world.admin_a.headers)
    lead = listed_lead(db, world.partner_a, price_cents=50_000)
    assert client.post("/v1/marketplace/reservations", json={"lead_id": lead},
                       headers=world.admin_b.headers).status_code == 201
    assert apply_drops(db, settings, utcnow() + timedelta(days=8)).dropped == 0
    assert db[c.LEADS].find_one({"_id": lead})["price_cents"] == 50_000
