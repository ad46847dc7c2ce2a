"""Listings (no personal data, prices, filters, pages), commission arithmetic, and
the marketplace's emails (once per key, failures retried)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pc_core import collections as c
from pc_core.mail.mailer import retry_failed_emails, send_email
from pc_core.marketplace.expiry import expire_reservations
from pc_core.marketplace.pricing import commission_cents
from pc_core.settings import Settings
from pc_core.store import sort_key
from pc_core.timeutil import utcnow
from tests.conftest import market_settings
from tests.marketplace_helpers import listed_lead, reserve

PERSONAL = {"contact_name", "contact_email", "contact_phone", "notes", "company", "title"}


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    return market_settings(stores, sandbox_url)


@pytest.mark.parametrize("price,expected", [
    (0, 0), (1, 0), (2, 0), (3, 1), (5, 1), (7, 1), (8, 2), (99, 20), (101, 20),
    (102, 20), (103, 21), (12345, 2469), (12_347, 2469), (12_348, 2470), (10**10, 2 * 10**9),
])
def test_commission_is_20_percent_half_up(price, expected):
    assert commission_cents(price, seller_is_operator=False) == expected
    assert commission_cents(price, seller_is_operator=True) == 0


def test_commission_half_cent_rounds_up():
    # 20% of 2.5 cents-multiples: 0.5 → 1, 2.5 → 3 (half-up, not banker's).
    assert commission_cents(5 // 2 * 1 + 0, False) == 0  # 2 → 0.4 → 0
    assert commission_cents(5, False) == 1  # 1.0
    assert commission_cents(13, False) == 3  # 2.6 → 3
    assert commission_cents(12, False) == 2  # 2.4 → 2
    assert commission_cents(1_000_002_5 // 10, False) == 200_000  # 1000002 → 200000.4


def test_listings_hide_personal_data_and_price_the_lead(client, world, db):
    db[c.PARTNERS].update_one({"_id": world.partner_b},
                              {"$set": {"default_lead_price_cents": 7_777}})
    priced = listed_lead(db, world.partner_a, price_cents=10_001)
    default = listed_lead(db, world.partner_b)
    operator = listed_lead(db, world.operator, price_cents=20_000)
    platform = listed_lead(db, world.partner_a)
    listed_lead(db, world.partner_a)
    db[c.LEADS].update_one({"_id": platform}, {"$set": {"price_cents": None}})
    hidden = listed_lead(db, world.partner_a)
    db[c.LEADS].update_one({"_id": hidden}, {"$set": {"status": "open"}})
    r = client.get("/v1/marketplace/listings", headers=world.user_b.headers)
    assert r.status_code == 200 and "server-timing" in r.headers
    items = {i["id"]: i for i in r.json()["items"]}
    assert hidden not in items and len(items) == 5
    for item in items.values():
        assert not PERSONAL & set(item)
        assert "ada" not in str(item).lower() and "acme" not in str(item).lower()
    assert items[priced]["price_cents"] == 10_001
    assert items[priced]["commission_cents"] == 2_000
    assert items[priced]["buyer_total_cents"] == 12_001
    assert items[priced]["seller_name"] == "Agency A" and items[priced]["own"] is False
    assert items[default]["price_cents"] == 7_777 and items[default]["own"] is True
    assert items[operator]["commission_cents"] == 0
    assert items[operator]["buyer_total_cents"] == 20_000
    assert items[platform]["price_cents"] == 50_000
    assert items[priced]["age_days"] == 0 and items[priced]["industry"] == "SaaS"
    # A reserved lead leaves the listings.
    reserve(client, world.admin_b, priced)
    ids = [i["id"] for i in client.get("/v1/marketplace/listings",
                                       headers=world.user_b.headers).json()["items"]]
    assert priced not in ids


def test_stage_and_age_filters(client, world, db):
    """The saved searches' stage and age filters, on the listings route too."""
    fresh = listed_lead(db, world.partner_a, stage="non_fit")
    contacted = listed_lead(db, world.partner_a, stage="contacted")
    old = listed_lead(db, world.partner_a, stage="non_fit")
    doc = db[c.LEADS].find_one({"_id": old})
    created = utcnow() - timedelta(days=8, hours=1)  # age_days 8
    db[c.LEADS].replace_one({"_id": old}, {**doc, "created_at": created,
                                           "sort_key": sort_key(created, old)})

    def ids(**params) -> set[str]:
        r = client.get("/v1/marketplace/listings", params=params, headers=world.user_b.headers)
        assert r.status_code == 200, r.text
        return {x["id"] for x in r.json()["items"]}

    assert ids(stage="non_fit") == {fresh, old}
    assert ids(max_age_days=7) == {fresh, contacted}
    assert ids(max_age_days=8) == {fresh, contacted, old}
    assert ids(max_age_days=0, stage="non_fit") == {fresh}
    for bad in ({"stage": "closed"}, {"max_age_days": -1}, {"max_age_days": "soon"}):
        assert client.get("/v1/marketplace/listings", params=bad,
                          headers=world.user_b.headers).status_code == 422


def test_listing_filters_and_pages(client, world, db):
    ids = {}
    for i in range(30):
        ids[i] = listed_lead(
            db, world.partner_a, industry="SaaS" if i % 2 else "Retail",
            company_size="1-10" if i % 3 == 0 else "51-200",
            location="DE" if i % 5 == 0 else "US", budget_cents=i * 1000, price_cents=i * 100,
        )
    h = world.user_b.headers

    def get(**params):
        r = client.get("/v1/marketplace/listings", params=params, headers=h)
        assert r.status_code == 200, r.text
        return r.json()

    assert {x["id"] for x in get(industry="SaaS")["items"]} == \
        {v for k, v in ids.items() if k % 2}
    assert {x["id"] for x in get(company_size="1-10")["items"]} == \
        {v for k, v in ids.items() if k % 3 == 0}
    assert {x["id"] for x in get(location="DE")["items"]} == \
        {v for k, v in ids.items() if k % 5 == 0}
    assert {x["id"] for x in get(budget_min=25_000)["items"]} == \
        {v for k, v in ids.items() if k >= 25}
    assert {x["id"] for x in get(price_max=500)["items"]} == \
        {v for k, v in ids.items() if k <= 5}
    both = get(industry="SaaS", location="US", price_max=2000)["items"]
    assert {x["id"] for x in both} == {v for k, v in ids.items() if k % 2 and k % 5 and k <= 20}
    # Pages: newest first, no overlap, the whole set.
    seen, cursor = [], None
    while True:
        page = get(limit=7, **({"cursor": cursor} if cursor else {}))
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [ids[i] for i in reversed(range(30))]
    seen, cursor = [], None
    while True:
        page = get(limit=3, price_max=1500, **({"cursor": cursor} if cursor else {}))
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [ids[i] for i in reversed(range(16))]
    assert client.get("/v1/marketplace/listings", params={"cursor": "%%"},
                      headers=h).status_code == 400
    assert client.get("/v1/marketplace/listings", params={"company_size": "huge"},
                      headers=h).status_code == 422
    assert client.get("/v1/marketplace/listings").status_code == 401


def test_reservation_expiring_email_once(client, world, db, settings, mailbox):
    lead_id = listed_lead(db, world.partner_a)
    rid = reserve(client, world.admin_b, lead_id, 7).json()["id"]
    assert expire_reservations(db, settings, utcnow() + timedelta(days=5)).reminded == 0
    soon = utcnow() + timedelta(days=6, hours=1)
    assert expire_reservations(db, settings, soon).reminded == 1
    assert expire_reservations(db, settings, soon + timedelta(minutes=1)).reminded == 0
    items = mailbox.get("/messages", params={"to": world.admin_b.email}).json()["items"]
    assert [m["tags"] for m in items] == [["reservation_expiring"]]
    assert "Acme" not in items[0]["text"] and "ada@" not in items[0]["text"]
    assert db[c.EMAILS].find_one({"_id": f"reservation-expiring:{rid}"})["status"] == "sent"


def test_email_failure_is_recorded_and_retried_once(world, db, settings, mailbox, stores):
    dead = Settings(**{**settings.model_dump(), "mailgun_base_url": "http://127.0.0.1:9/mg"})
    ctx = {"lead_title": "T", "industry": "I", "location": "L", "company": "",
           "contact_name": "", "contact_email": "", "contact_phone": "", "price": "$1.00",
           "commission": "$0.20", "total": "$1.20", "purchase_id": "p1",
           "seller_name": "S", "buyer_name": "B"}
    doc = send_email(db, dead, key="lead-sold:p1", template="lead_sold",
                     to=["seller@example.com"], context=ctx)
    assert doc["status"] == "failed" and doc["attempts"] == 1 and doc["last_error"]
    # Sending again with the same key does nothing; retrying before the back-off neither.
    send_email(db, settings, key="lead-sold:p1", template="lead_sold",
               to=["seller@example.com"], context=ctx)
    assert retry_failed_emails(db, settings) == 0
    assert retry_failed_emails(db, settings, utcnow() + timedelta(minutes=5)) == 1
    assert retry_failed_emails(db, settings, utcnow() + timedelta(minutes=50)) == 0
    items = mailbox.get("/messages", params={"to": "seller@example.com"}).json()["items"]
    assert len(items) == 1 and items[0]["subject"] == 'Your lead "T" was sold to B'
    assert db[c.EMAILS].find_one({"_id": "lead-sold:p1"})["status"] == "sent"
