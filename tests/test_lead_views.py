"""What the API says about a lead: ``buyer_stage`` and ``hubspot_deal_id`` on one lead
for its seller and its buyer (nobody else), the ``origin`` filter that gives a buyer
its own and its bought leads in one list, and the ``lead-listed`` event carrying the
listing exactly as the listings route shows it (price included)."""

from __future__ import annotations

import json

import pytest
from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Role
from pc_core.events import CHANNEL
from pc_core.marketplace import leadstate
from pc_core.store import update_with_retry
from pc_core.timeutil import utcnow
from tests.conftest import make_account
from tests.marketplace_helpers import listed_lead, reserve


def sell(db: Database, lead_id: str, buyer: str, **after_sale: object) -> None:
    """The sale as fulfilment records it (``leadstate.sell``), then what the
    cross-partner sync adds later (the buyer's deal id, the buyer's stage)."""
    lead = db[c.LEADS].find_one({"_id": lead_id})
    purchase = {"_id": f"pu-{lead_id}", "buyer_partner_id": buyer, "price_cents": 10_000}
    assert leadstate.sell(db, lead, purchase, utcnow()) is not None
    if after_sale:
        update_with_retry(db[c.LEADS], lead_id, lambda _cur: dict(after_sale), what="lead")


def get(client, account, lead_id: str):
    return client.get(f"/v1/leads/{lead_id}", headers=account.headers)


def ids(client, account, **params) -> list[str]:
    r = client.get("/v1/leads", params=params, headers=account.headers)
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


# --- one lead -----------------------------------------------------------------------

def test_sold_lead_shows_buyer_stage_and_each_sides_deal(client, world, db):
    lead_id = listed_lead(db, world.partner_a)
    db[c.LEADS].update_one({"_id": lead_id}, {"$set": {"hubspot_deal_id": "5001"}})
    sell(db, lead_id, world.partner_b, buyer_hubspot_deal_id="9009", buyer_stage="proposal")

    seller = get(client, world.user_a, lead_id)
    assert seller.status_code == 200, seller.text
    assert seller.json()["buyer_stage"] == "proposal"
    assert seller.json()["hubspot_deal_id"] == "5001"  # the seller's own deal
    assert seller.json()["origin"] == "own"

    buyer = get(client, world.user_b, lead_id)
    assert buyer.status_code == 200, buyer.text
    body = buyer.json()
    assert body["buyer_stage"] == "proposal" and body["origin"] == "purchased"
    assert body["hubspot_deal_id"] == "9009"  # the deal in the buyer's portal, not 5001
    assert body["contact_email"] == "ada@acme.example.com"  # bought: contact included
    assert body["buyer_partner_id"] == world.partner_b

    owner = get(client, world.owner, lead_id).json()
    assert owner["hubspot_deal_id"] == "5001" and owner["buyer_stage"] == "proposal"

    # Neither the operator's people nor anyone else's learn it exists.
    stranger = make_account(db, client.app.state.pc.settings, Role.ADMIN, world.operator)
    assert get(client, stranger, lead_id).status_code == 404


def test_unsold_lead_has_null_buyer_stage_and_its_deal_id(client, world, db):
    plain = listed_lead(db, world.partner_a)
    body = get(client, world.admin_a, plain).json()
    assert body["buyer_stage"] is None and body["hubspot_deal_id"] is None
    linked = listed_lead(db, world.partner_a)
    db[c.LEADS].update_one({"_id": linked}, {"$set": {"hubspot_deal_id": "777"}})
    assert get(client, world.admin_a, linked).json()["hubspot_deal_id"] == "777"
    # A listed (unsold) lead is the seller's only.
    assert get(client, world.admin_b, linked).status_code == 404


# --- the origin filter ----------------------------------------------------------------

@pytest.fixture
def market(world, db) -> dict[str, list[str]]:
    """B's own leads, two leads B bought from A, one A sold to the operator, one A still
    lists; created in this order, so newest first is the reverse."""
    leads: dict[str, list[str]] = {"b_own": [], "b_bought": [], "op_bought": [], "a_listed": []}
    for n in range(2):
        leads["b_own"].append(listed_lead(db, world.partner_b, title=f"B own {n}"))
        bought = listed_lead(db, world.partner_a, title=f"A to B {n}")
        sell(db, bought, world.partner_b)
        leads["b_bought"].append(bought)
    op = listed_lead(db, world.partner_a, title="A to operator")
    sell(db, op, world.operator)
    leads["op_bought"].append(op)
    leads["a_listed"].append(listed_lead(db, world.partner_a, title="A listed"))
    return leads


def newest_first(*groups: list[str], db: Database) -> list[str]:
    wanted = [i for g in groups for i in g]
    docs = db[c.LEADS].find({"_id": {"$in": wanted}}, {"sort_key": 1})
    return [d["_id"] for d in sorted(docs, key=lambda d: d["sort_key"], reverse=True)]


def test_buyer_lists_own_purchased_or_both(client, world, db, market):
    assert ids(client, world.user_b) == newest_first(market["b_own"], db=db)
    assert ids(client, world.user_b, origin="own") == newest_first(market["b_own"], db=db)
    assert ids(client, world.user_b, origin="purchased") == \
        newest_first(market["b_bought"], db=db)
    both = ids(client, world.user_b, origin="all")
    assert both == newest_first(market["b_own"], market["b_bought"], db=db)

    page = client.get("/v1/leads", params={"origin": "purchased"},
                      headers=world.user_b.headers).json()["items"]
    assert all(i["origin"] == "purchased" and i["contact_email"] for i in page)
    mixed = client.get("/v1/leads", params={"origin": "all"},
                       headers=world.user_b.headers).json()["items"]
    assert {i["id"]: i["origin"] for i in mixed} == {
        **dict.fromkeys(market["b_own"], "own"), **dict.fromkeys(market["b_bought"],
                                                                 "purchased")}


def test_origin_all_pages_through_both_without_repeats(client, world, db, market):
    seen, cursor = [], None
    for _ in range(10):
        params = {"origin": "all", "limit": 1, **({"cursor": cursor} if cursor else {})}
        body = client.get("/v1/leads", params=params, headers=world.admin_b.headers).json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == newest_first(market["b_own"], market["b_bought"], db=db)
    # Filters apply to both halves: B's bought leads are sold, its own are listed.
    assert ids(client, world.admin_b, origin="all", status="sold") == \
        newest_first(market["b_bought"], db=db)
    assert ids(client, world.admin_b, origin="all", status="listed") == \
        newest_first(market["b_own"], db=db)


def test_nobody_sees_another_partners_purchases(client, world, db, market):
    # The seller still lists what it sold, as its own; it bought nothing.
    assert set(ids(client, world.user_a)) == \
        {*market["b_bought"], *market["op_bought"], *market["a_listed"]}
    assert ids(client, world.user_a, origin="purchased") == []
    # The operator's purchase is not B's, and B's are not the operator's.
    operator_admin = make_account(db, client.app.state.pc.settings, Role.ADMIN, world.operator)
    assert ids(client, operator_admin, origin="purchased") == market["op_bought"]
    assert not set(ids(client, world.user_b, origin="all")) & \
        {*market["op_bought"], *market["a_listed"]}
    # Naming another partner is 404, whatever the origin.
    for origin in ("own", "purchased", "all"):
        r = client.get("/v1/leads", params={"origin": origin, "partner_id": world.partner_a},
                       headers=world.admin_b.headers)
        assert r.status_code == 404


def test_owner_and_bad_origin(client, world, db, market):
    assert ids(client, world.owner, origin="purchased", partner_id=world.partner_b) == \
        newest_first(market["b_bought"], db=db)
    r = client.get("/v1/leads", params={"origin": "purchased"}, headers=world.owner.headers)
    assert r.status_code == 400 and "partner_id" in r.json()["detail"]
    everything = ids(client, world.owner, origin="all", limit=200)
    assert set(everything) >= {*market["b_own"], *market["b_bought"], *market["op_bought"]}
    assert client.get("/v1/leads", params={"origin": "bought"},
                      headers=world.user_b.headers).status_code == 422


def test_public_api_takes_origin_too(client, world, db, market):
    token = client.post("/v1/api-tokens", json={"name": "script", "role": "user"},
                        headers=world.admin_b.headers).json()["token"]
    r = client.get("/v1/public/leads", params={"origin": "purchased"},
                   headers={"X-API-Key": token})
    assert r.status_code == 200, r.text
    assert [i["id"] for i in r.json()["items"]] == newest_first(market["b_bought"], db=db)


# --- the lead-listed event ------------------------------------------------------------

def test_lead_listed_event_is_the_listing_with_its_price(client, world, db, redis_conn):
    # No price on the lead: the listing's price is the seller's default, which the
    # event used to drop (price_cents: null).
    db[c.PARTNERS].update_one({"_id": world.partner_a},
                              {"$set": {"default_lead_price_cents": 12_345}})
    lead_id = listed_lead(db, world.partner_a)
    rid = reserve(client, world.admin_b, lead_id).json()["id"]
    listener = redis_conn.pubsub()
    listener.subscribe(CHANNEL)
    listener.get_message(timeout=1)
    assert client.delete(f"/v1/marketplace/reservations/{rid}",
                         headers=world.admin_b.headers).status_code == 200
    event = None
    for _ in range(20):
        message = listener.get_message(timeout=0.5)
        if message and message["type"] == "message":
            data = json.loads(message["data"])
            if data.get("event") == "lead-listed" and data["data"][0]["lead_id"] == lead_id:
                event = data
                break
    listener.close()
    assert event is not None and event["room"] == ["marketplace"]
    payload = event["data"][0]

    listings = client.get("/v1/marketplace/listings", headers=world.user_b.headers).json()
    listing = next(item for item in listings["items"] if item["id"] == lead_id)
    assert payload["price_cents"] == listing["price_cents"] == 12_345
    assert payload["commission_cents"] == listing["commission_cents"] == 2_469
    assert payload["buyer_total_cents"] == listing["buyer_total_cents"]
    assert payload["partner_id"] == payload["seller_partner_id"] == world.partner_a
    # Every field of the listing but the viewer-dependent ``own`` is in the event, with
    # the same value (the event has no age drift within a test run).
    for key, value in listing.items():
        if key not in ("own", "created_at"):
            assert payload[key] == value, key
    assert "own" not in payload and "contact_email" not in payload
