"""What a partner's working day needs from the lead answers (issue 21): a bought lead
names its seller, a lead carries its ChiliPiper meeting, and the seller can ask what a
buyer would pay at a price without the client repeating the commission rule."""

from __future__ import annotations

from datetime import UTC, datetime

from pc_core import collections as c
from tests.marketplace_helpers import listed_lead


def _sold_to(db, lead_id: str, buyer: str) -> None:
    db[c.LEADS].update_one({"_id": lead_id}, {"$set": {"status": "sold",
                                                      "buyer_partner_id": buyer}})


def test_bought_leads_carry_the_sellers_name(client, world, db):
    bought = listed_lead(db, world.partner_a, title="Bought deal")
    _sold_to(db, bought, world.partner_b)
    own = listed_lead(db, world.partner_b, title="Own deal")
    seller = db[c.PARTNERS].find_one({"_id": world.partner_a})["name"]
    h = world.user_b.headers

    mine = client.get("/v1/leads", headers=h).json()["items"]
    assert [(i["id"], i["seller_name"]) for i in mine] == [(own, None)]
    purchased = client.get("/v1/leads", params={"origin": "purchased"}, headers=h).json()
    assert [(i["id"], i["origin"], i["seller_name"]) for i in purchased["items"]] == [
        (bought, "purchased", seller)]
    both = client.get("/v1/leads", params={"origin": "all"}, headers=h).json()["items"]
    assert {i["id"]: i["seller_name"] for i in both} == {own: None, bought: seller}
    assert client.get(f"/v1/leads/{bought}", headers=h).json()["seller_name"] == seller
    # The seller sees its own lead without a seller name; the owner, across partners,
    # sees whose each lead is.
    assert client.get(f"/v1/leads/{bought}",
                      headers=world.admin_a.headers).json()["seller_name"] is None
    owner = client.get("/v1/leads", headers=world.owner.headers).json()["items"]
    assert {i["id"]: i["seller_name"] for i in owner} == {
        bought: seller, own: db[c.PARTNERS].find_one({"_id": world.partner_b})["name"]}


def test_the_lead_answer_carries_its_meeting(client, world, db):
    lead = listed_lead(db, world.partner_a)
    when = datetime(2026, 12, 9, 15, 30, tzinfo=UTC)
    db[c.LEADS].update_one({"_id": lead}, {"$set": {
        "scheduled_date": when, "meeting_status": "scheduled", "meeting_type": "Demo"}})
    one = client.get(f"/v1/leads/{lead}", headers=world.user_a.headers).json()
    listed = client.get("/v1/leads", headers=world.user_a.headers).json()["items"][0]
    for answer in (one, listed):
        assert answer["scheduled_date"].startswith("2026-12-09T15:30:00")
        assert (answer["meeting_status"], answer["meeting_type"]) == ("scheduled", "Demo")


def test_seller_quote_applies_the_commission_rule(client, world, db):
    lead = listed_lead(db, world.partner_a, price_cents=10_001)
    url = f"/v1/leads/{lead}/quote"
    r = client.get(url, params={"price_cents": 25_000}, headers=world.user_a.headers)
    assert r.status_code == 200
    assert r.json() == {"price_cents": 25_000, "commission_cents": 5_000,
                        "buyer_total_cents": 30_000, "default_price": False}
    # Without a price: the lead's own, half-up to the cent.
    current = client.get(url, headers=world.user_a.headers).json()
    assert (current["commission_cents"], current["buyer_total_cents"]) == (2_000, 12_001)
    # The operator pays itself no commission.
    db[c.PARTNERS].update_one({"_id": world.partner_a}, {"$set": {"is_operator": True}})
    assert client.get(url, headers=world.user_a.headers).json()["commission_cents"] == 0
    # Not the seller: not found; the buyer of a sold lead neither.
    assert client.get(url, headers=world.user_b.headers).status_code == 404
    _sold_to(db, lead, world.partner_b)
    assert client.get(url, headers=world.user_b.headers).status_code == 404
    bad = client.get(url, params={"price_cents": -1}, headers=world.user_a.headers)
    assert bad.status_code == 422


def test_the_buyer_keeps_its_own_notes_on_a_bought_lead(client, world, db):
    lead = listed_lead(db, world.partner_a)
    db[c.LEADS].update_one({"_id": lead}, {"$set": {"hubspot_deal_id": "42"}})
    seller_note = client.post(f"/v1/leads/{lead}/notes", json={"body": "Handover: call Ada"},
                              headers=world.admin_a.headers)
    assert seller_note.status_code == 201
    db[c.LEADS].update_one({"_id": lead}, {"$set": {"push_pending": False}})
    # Before the sale, another agency cannot write on it.
    url = f"/v1/leads/{lead}/notes"
    assert client.post(url, json={"body": "x"}, headers=world.admin_b.headers).status_code == 404
    _sold_to(db, lead, world.partner_b)
    r = client.post(url, json={"body": "Called Ada, demo on Friday"}, headers=world.admin_b.headers)
    assert r.status_code == 201, r.text

    buyer_view = client.get(f"/v1/leads/{lead}", headers=world.admin_b.headers).json()
    assert [n["body"] for n in buyer_view["notes"]] == ["Handover: call Ada",
                                                         "Called Ada, demo on Friday"]
    seller_view = client.get(f"/v1/leads/{lead}", headers=world.admin_a.headers).json()
    assert [n["body"] for n in seller_view["notes"]] == ["Handover: call Ada"]
    # The buyer's note is not queued for the seller's HubSpot deal.
    stored = db[c.LEADS].find_one({"_id": lead})
    assert not stored.get("push_pending") and len(stored["notes"]) == 1
    # A reader of the buying agency may read but not write.
    assert client.post(url, json={"body": "x"}, headers=world.user_b.headers).status_code == 403
