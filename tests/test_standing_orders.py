"""Standing orders (issue 19): the oldest eligible order reserves a new listing
through the reservation service; caps, overdue buyers, own leads, card failures,
and races with no double reservation."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from pc_core import collections as c
from pc_core.access import Role
from pc_core.buyer_alerts import dispatch
from pc_core.identity.partners import create_partner
from pc_core.marketplace import listings, standing_orders
from pc_core.settings import Settings
from pc_core.timeutil import utcnow
from tests.conftest import SYSTEM, make_account, market_settings
from tests.marketplace_helpers import listed_lead

ORDER = {"name": "SaaS under $600", "monthly_cap": 2,
         "criteria": {"industry": "SaaS", "price_max": 60_000}}


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    return market_settings(stores, sandbox_url)


@pytest.fixture
def admin_c(db, settings):
    partner = create_partner(db, SYSTEM, name="Agency C").id
    return make_account(db, settings, Role.ADMIN, partner)


def _place(client, account, **changes):
    r = client.post("/v1/standing-orders", json={**ORDER, **changes}, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _list(db, seller, **fields):
    """A lead listed by ``seller`` through the one listing function; who holds it."""
    lead_id = listed_lead(db, seller, price_cents=50_000, **fields)
    return lead_id


def _announce(db, settings, lead_id, now=None):
    lead = db[c.LEADS].find_one({"_id": lead_id})
    if now is None:
        listings.announce_listed(db, settings, [lead])
    else:
        view = listings.listing_view(lead, None, settings, None, now)
        view["price_cents"] = lead["price_cents"]
        standing_orders.fill(db, settings, view, now)
    return _holder(db, lead_id)


def _holder(db, lead_id):
    held = db[c.LEADS].find_one({"_id": lead_id}).get("reservation") or {}
    return held.get("buyer_partner_id")


def test_order_api_roles_scoping_and_validation(client, world):
    assert client.post("/v1/standing-orders", json=ORDER,
                       headers=world.user_b.headers).status_code == 403
    no_price = {**ORDER, "criteria": {"industry": "SaaS"}}
    assert client.post("/v1/standing-orders", json=no_price,
                       headers=world.admin_b.headers).status_code == 400
    order = _place(client, world.admin_b)
    assert order["status"] == "active" and order["filled_this_month"] == 0
    assert client.post(f"/v1/standing-orders/{order['id']}/pause",
                       headers=world.admin_a.headers).status_code == 404
    r = client.post(f"/v1/standing-orders/{order['id']}/pause", headers=world.admin_b.headers)
    assert r.status_code == 200 and r.json()["status"] == "paused"
    assert [o["id"] for o in client.get("/v1/standing-orders",
                                        headers=world.admin_b.headers).json()["items"]] \
        == [order["id"]]
    assert client.get("/v1/standing-orders", headers=world.admin_a.headers).json() == {
        "items": []}


def test_oldest_order_first_then_the_next_at_its_cap(client, db, world, settings, admin_c):
    older = _place(client, world.admin_b)  # cap 2
    _place(client, admin_c)
    seller = world.partner_a
    got = [_announce(db, settings, _list(db, seller)) for _ in range(4)]
    assert got == [world.partner_b, world.partner_b, admin_c.partner_id, admin_c.partner_id]
    # Both at their caps: the fifth lead stays on the market.
    fifth = _list(db, seller)
    assert _announce(db, settings, fifth) is None
    assert db[c.LEADS].find_one({"_id": fifth})["status"] == "listed"
    page = client.get("/v1/standing-orders", headers=world.admin_b.headers).json()
    assert page["items"][0]["filled_this_month"] == 2 and page["items"][0]["id"] == older["id"]
    # A dearer lead or another industry is nobody's.
    assert _announce(db, settings, _list(db, seller, industry="Retail")) is None


def test_a_new_month_refills_the_cap(client, db, world, settings):
    _place(client, world.admin_b, monthly_cap=1)
    assert _announce(db, settings, _list(db, world.partner_a)) == world.partner_b
    assert _announce(db, settings, _list(db, world.partner_a)) is None
    # Paid for (else its reservation, long past half its term, would hold B back).
    db[c.RESERVATIONS].update_many({}, {"$set": {"status": "converted"}})
    later = utcnow() + timedelta(days=32)
    assert _announce(db, settings, _list(db, world.partner_a), now=later) == world.partner_b


def test_overdue_buyer_and_own_leads_are_skipped(client, db, world, settings, admin_c):
    _place(client, world.admin_b)
    _place(client, admin_c)
    # B's own lead never goes to B's order.
    assert _announce(db, settings, _list(db, world.partner_b)) == admin_c.partner_id
    # B holds a reservation past half its 7-day term without paying: C comes first.
    db[c.STANDING_ORDERS].delete_many({"partner_id": admin_c.partner_id})
    first = _list(db, world.partner_a)
    assert _announce(db, settings, first) == world.partner_b
    db[c.RESERVATIONS].update_one({"lead_id": first},
                                  {"$set": {"created_at": utcnow() - timedelta(days=4)}})
    assert _announce(db, settings, _list(db, world.partner_a)) is None


def test_a_buyer_at_its_reservation_cap_passes_to_the_next(client, db, stores, sandbox_url,
                                                           world, admin_c):
    settings = market_settings(stores, sandbox_url, max_active_reservations=1)
    settings = Settings(**{**settings.model_dump(), "mongodb_db": db.name})
    _place(client, world.admin_b, monthly_cap=5)
    _place(client, admin_c, monthly_cap=5)
    assert _announce(db, settings, _list(db, world.partner_a)) == world.partner_b
    assert _announce(db, settings, _list(db, world.partner_a)) == admin_c.partner_id
    # The refused attempt gave its monthly slot back.
    assert len(list(db[c.STANDING_ORDER_FILLS].find({"partner_id": world.partner_b}))) == 1


def test_two_card_failures_pause_the_order(client, db, world, settings):
    order = _place(client, world.admin_b, monthly_cap=10)
    for _ in range(2):
        lead = _list(db, world.partner_a)
        assert _announce(db, settings, lead) == world.partner_b
        reservation = db[c.RESERVATIONS].find_one({"lead_id": lead})
        standing_orders.card_failed(db, reservation["_id"])
    doc = db[c.STANDING_ORDERS].find_one({"_id": order["id"]})
    assert (doc["status"], doc["card_failures"]) == ("paused", 2)
    assert _announce(db, settings, _list(db, world.partner_a)) is None
    # Resumed by the admin: the failures are forgotten.
    r = client.post(f"/v1/standing-orders/{order['id']}/resume", headers=world.admin_b.headers)
    assert r.json()["status"] == "active" and r.json()["card_failures"] == 0


def test_an_order_filled_lead_alerts_no_search(client, db, world, settings):
    client.post("/v1/saved-searches", headers=world.user_b.headers,
                json={"name": "s", "criteria": {"industry": "SaaS"}})
    _place(client, world.admin_b)
    lead = _list(db, world.partner_a)
    assert _announce(db, settings, lead) == world.partner_b
    assert list(db[c.SEARCH_NOTICES].find()) == []


def test_races_reserve_each_lead_once_and_keep_caps(client, db, world, settings, admin_c):
    """Every lead announced by 4 threads at once (duplicate deliveries), 6 leads, two
    buyers with caps 2 and 3: no lead reserved twice, no cap passed."""
    _place(client, world.admin_b, monthly_cap=2)
    _place(client, admin_c, monthly_cap=3)
    leads = [_list(db, world.partner_a) for _ in range(6)]
    docs = [db[c.LEADS].find_one({"_id": lead}) for lead in leads]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            for doc in docs[i % 2::2] + docs:
                views = [listings.listing_view(doc, None, settings, None, utcnow())]
                dispatch.on_listed(db, settings, views)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    reservations = list(db[c.RESERVATIONS].find({"status": "active"}))
    per_lead = {r["lead_id"] for r in reservations}
    assert len(per_lead) == len(reservations) == 5  # 2 + 3; the sixth stays listed
    by_buyer = sorted(r["buyer_partner_id"] for r in reservations)
    assert by_buyer.count(world.partner_b) == 2 and by_buyer.count(admin_c.partner_id) == 3


def test_a_deactivated_buyers_order_passes_to_the_next(client, db, world, settings, admin_c):
    """Issue 18: a deactivated partner cannot buy, so its (older) standing order is
    skipped, not an error that keeps the lead from the next buyer."""
    _place(client, world.admin_b)
    _place(client, admin_c)
    db[c.PARTNERS].update_one({"_id": world.partner_b}, {"$set": {"active": False}})
    assert _announce(db, settings, _list(db, world.partner_a)) == admin_c.partner_id
    assert db[c.STANDING_ORDER_FILLS].count_documents(
        {"partner_id": world.partner_b}) == 0
