"""A partner's deactivation means something (issue 18, point 4): its people are signed
out and cannot sign back in, its API tokens stop working, its listings leave the
market (buyers holding them are released and told), its syncs pause, it cannot buy;
reactivating lets it back in without re-listing anything silently."""

from __future__ import annotations

import pytest

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.errors import Forbidden
from pc_core.hubspot.connection.oauth import connected_partner_ids
from pc_core.marketplace import purchases as purchase_service
from pc_core.marketplace import reservations as reservation_service
from tests.conftest import PASSWORD
from tests.marketplace_helpers import listed_lead, published, reserve


def _set_active(client, account, partner_id: str, active: bool):
    return client.patch(f"/v1/partners/{partner_id}", json={"active": active},
                        headers=account.headers)


def _sign_in(client, email: str):
    r = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    client.cookies.clear()
    return r


def test_deactivation_signs_out_revokes_withdraws_and_tells_buyers(client, world, db,
                                                                   redis_conn):
    listed = listed_lead(db, world.partner_a)
    held = listed_lead(db, world.partner_a)
    theirs = listed_lead(db, world.partner_b)
    hold = reserve(client, world.admin_b, held).json()["id"]
    own_hold = reserve(client, world.admin_a, theirs).json()["id"]
    tokens = _sign_in(client, world.admin_a.email).json()
    session = {"Authorization": f"Bearer {tokens['access_token']}"}
    api_key = client.post("/v1/api-tokens", json={"name": "script", "role": "admin"},
                          headers=world.admin_a.headers).json()["token"]
    assert client.get("/v1/public/leads", headers={"X-API-Key": api_key}).status_code == 200
    pubsub = redis_conn.pubsub()
    pubsub.subscribe("pc-socketio")
    pubsub.get_message(timeout=1)

    r = _set_active(client, world.owner, world.partner_a, False)

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["active"] is False
    done = body["lifecycle"]
    assert done["change"] == "deactivated"
    assert done["users_signed_out"] == 2 and done["sign_ins_revoked"] == 1
    assert done["api_tokens_revoked"] == 1
    assert done["listings_withdrawn"] == 2 and done["reservations_released"] == 1
    assert done["buyers_notified"] == 1 and done["own_reservations_released"] == 1
    # Signed out at once, on its session and on the tokens issued before.
    assert client.get("/v1/auth/me", headers=session).status_code == 401
    assert client.get("/v1/auth/me", headers=world.user_a.headers).status_code == 401
    assert client.post("/v1/auth/refresh",
                       json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    login = _sign_in(client, world.admin_a.email)
    assert login.status_code == 403 and "deactivated" in login.text
    assert _sign_in(client, world.admin_a.email + "x").status_code == 401
    assert client.get("/v1/public/leads", headers={"X-API-Key": api_key}).status_code == 401
    # Its listings are off the market, live; the buyer's hold is gone and it was told.
    for lead_id in (listed, held):
        assert db[c.LEADS].find_one({"_id": lead_id})["status"] == "open"
    assert published(pubsub, "lead-unlisted", listed)
    page = client.get("/v1/marketplace/listings", headers=world.admin_b.headers).json()
    assert {listed, held}.isdisjoint({x["id"] for x in page["items"]})
    assert db[c.RESERVATIONS].find_one({"_id": hold})["status"] == "released"
    email = db[c.EMAILS].find_one({"_id": f"reservation-withdrawn:{hold}"})
    assert email is not None and world.admin_b.email in email["to"]
    # Its own hold went back to the market for everyone else.
    assert db[c.RESERVATIONS].find_one({"_id": own_hold})["status"] == "released"
    assert db[c.LEADS].find_one({"_id": theirs})["status"] == "listed"


def test_deactivated_partner_cannot_buy(client, world, db):
    """A request authenticated just before the deactivation (its principal) is
    refused both steps of buying: 403, nothing written."""
    settings = client.app.state.pc.settings
    held = listed_lead(db, world.partner_a)
    rid = reserve(client, world.admin_b, held).json()["id"]
    db[c.PARTNERS].update_one({"_id": world.partner_b}, {"$set": {"active": False}})
    buyer = Principal(user_id=world.admin_b.id, role=Role.ADMIN, partner_id=world.partner_b,
                      email=world.admin_b.email)
    other = listed_lead(db, world.partner_a)
    with pytest.raises(Forbidden, match="deactivated"):
        reservation_service.reserve(db, settings, buyer, other)
    assert db[c.LEADS].find_one({"_id": other})["status"] == "listed"
    with pytest.raises(Forbidden, match="deactivated"):
        purchase_service.create_purchase(db, settings, buyer, rid)
    assert db[c.PURCHASES].count_documents({"reservation_id": rid}) == 0


def test_deactivation_pauses_syncs_and_reactivation_resumes(client, world, db):
    db[c.PARTNERS].update_one({"_id": world.partner_a},
                              {"$set": {"hubspot": {"portal_id": 42}}})
    assert world.partner_a in connected_partner_ids(db)
    done = _set_active(client, world.owner, world.partner_a, False).json()["lifecycle"]
    assert done["syncs_paused"] is True
    assert world.partner_a not in connected_partner_ids(db)
    back = _set_active(client, world.owner, world.partner_a, True).json()["lifecycle"]
    assert back["syncs_resumed"] is True
    assert world.partner_a in connected_partner_ids(db)


def test_reactivation_lets_people_in_but_does_not_relist(client, world, db):
    lead_id = listed_lead(db, world.partner_a)
    _set_active(client, world.owner, world.partner_a, False)
    r = _set_active(client, world.owner, world.partner_a, True)
    assert r.status_code == 200
    back = r.json()["lifecycle"]
    assert back["change"] == "reactivated" and back["users_can_sign_in"] == 2
    assert back["listings_to_relist"] == 1
    assert any("not re-listed" in note for note in back["notes"])
    assert db[c.LEADS].find_one({"_id": lead_id})["status"] == "open"
    login = _sign_in(client, world.admin_a.email)
    assert login.status_code == 200
    fresh = {"Authorization": f"Bearer {login.json()['access_token']}"}
    r = client.post("/v1/marketplace/reservations",
                    json={"lead_id": listed_lead(db, world.partner_b)}, headers=fresh)
    assert r.status_code == 201


def test_double_deactivation_is_idempotent(client, world, db):
    listed_lead(db, world.partner_a)
    first = _set_active(client, world.owner, world.partner_a, False)
    second = _set_active(client, world.owner, world.partner_a, False)
    assert first.status_code == second.status_code == 200
    assert second.json()["active"] is False
    again = second.json()["lifecycle"]
    assert again["listings_withdrawn"] == 0 and again["api_tokens_revoked"] == 0
    assert again["sign_ins_revoked"] == 0


def test_who_may_deactivate(client, world, db):
    # The partner's own admin: 403 (only the owner changes `active`); another's: 404.
    assert _set_active(client, world.admin_a, world.partner_a, False).status_code == 403
    assert _set_active(client, world.admin_b, world.partner_a, False).status_code == 404
    assert _set_active(client, world.owner, "no-such-partner", False).status_code == 404
    assert _set_active(client, world.owner, world.operator, False).status_code == 409
    r = client.patch(f"/v1/partners/{world.partner_a}", json={"active": "maybe"},
                     headers=world.owner.headers)
    assert r.status_code == 422
    assert db[c.PARTNERS].find_one({"_id": world.partner_a})["active"] is True
    # An ordinary edit answers without a lifecycle.
    r = client.patch(f"/v1/partners/{world.partner_a}", json={"website": "https://a.example"},
                     headers=world.admin_a.headers)
    assert r.status_code == 200 and r.json()["lifecycle"] is None


def _delete(client, account, partner_id: str, confirm_name: str | None = "Agency A"):
    body = {} if confirm_name is None else {"confirm_name": confirm_name}
    return client.request("DELETE", f"/v1/partners/{partner_id}", json=body,
                          headers=account.headers)


def test_deleting_a_partner_erases_its_data_and_keeps_the_books(client, world, db):
    unsold = listed_lead(db, world.partner_a)
    sold = listed_lead(db, world.partner_a, contact_email="sold@acme.example.com")
    bought = listed_lead(db, world.partner_b)
    db[c.LEADS].update_one({"_id": sold}, {"$set": {
        "status": "sold", "buyer_partner_id": world.partner_b,
        "owner_partner_id": world.partner_b, "buyer_id": world.partner_b}})
    db[c.LEADS].update_one({"_id": bought}, {"$set": {
        "status": "sold", "buyer_partner_id": world.partner_a,
        "owner_partner_id": world.partner_a, "buyer_id": world.partner_a}})
    db[c.PURCHASES].insert_many([
        {"_id": "p-sold", "lead_id": sold, "seller_partner_id": world.partner_a,
         "buyer_partner_id": world.partner_b, "buyer_user_id": world.admin_b.id,
         "status": "completed", "price_cents": 100, "amount_cents": 120},
        {"_id": "p-bought", "lead_id": bought, "seller_partner_id": world.partner_b,
         "buyer_partner_id": world.partner_a, "buyer_user_id": world.admin_a.id,
         "status": "completed", "price_cents": 100, "amount_cents": 120}])
    db[c.INVOICES].insert_one({"_id": f"{world.partner_a}:2026-11",
                               "partner_id": world.partner_a, "total_cents": 120})
    client.post("/v1/api-tokens", json={"name": "script", "role": "admin"},
                headers=world.admin_a.headers)
    db[c.EMAILS].insert_one({"_id": "e1", "to": f"x@example.com,{world.admin_a.email}"})

    r = _delete(client, world.owner, world.partner_a)

    assert r.status_code == 200, r.text
    body = r.json()
    ref = body["anonymised_as"]
    assert ref.startswith("deleted-partner-") and world.partner_a not in ref
    assert body["removed"]["users"] == 2 and body["removed"]["leads"] == 1
    assert body["removed"]["api_tokens"] == 1 and body["removed"]["partners"] == 1
    assert body["removed"]["emails"] == 1 and db[c.EMAILS].find_one({"_id": "e1"}) is None
    assert body["anonymised"]["purchases"] == 2 and body["anonymised"]["invoices"] == 1
    assert body["anonymised"]["leads"] == 2
    assert body["lifecycle"]["listings_withdrawn"] == 1
    # Gone: the partner, its people, its unsold lead.
    assert client.get(f"/v1/partners/{world.partner_a}",
                      headers=world.owner.headers).status_code == 404
    assert db[c.USERS].count_documents({"partner_id": world.partner_a}) == 0
    assert db[c.LEADS].find_one({"_id": unsold}) is None
    assert _sign_in(client, world.admin_a.email).status_code == 401
    # Kept, anonymised: the books and the buyer's contact.
    assert db[c.PURCHASES].find_one({"_id": "p-sold"})["seller_partner_id"] == ref
    kept = db[c.PURCHASES].find_one({"_id": "p-bought"})
    assert kept["buyer_partner_id"] == ref and kept["buyer_user_id"] is None
    assert kept["amount_cents"] == 120
    assert db[c.INVOICES].find_one({"_id": f"{world.partner_a}:2026-11"})["partner_id"] == ref
    lead = client.get(f"/v1/leads/{sold}", headers=world.admin_b.headers)
    assert lead.status_code == 200 and lead.json()["contact_email"] == "sold@acme.example.com"
    assert db[c.LEADS].find_one({"_id": bought})["buyer_partner_id"] == ref
    # Nothing anywhere still names the partner.
    for name in db.list_collection_names():
        for field in ("partner_id", "buyer_partner_id", "seller_partner_id"):
            assert db[name].count_documents({field: world.partner_a}) == 0, (name, field)
    # Deleting again: it is gone.
    assert _delete(client, world.owner, world.partner_a).status_code == 404


def test_who_may_delete_and_bad_confirmation(client, world, db):
    listed_lead(db, world.partner_a)
    assert _delete(client, world.admin_a, world.partner_a).status_code == 403
    assert _delete(client, world.admin_b, world.partner_a).status_code == 404
    assert _delete(client, world.owner, "no-such-partner").status_code == 404
    assert _delete(client, world.owner, world.partner_a, "agency a").status_code == 400
    assert _delete(client, world.owner, world.partner_a, None).status_code == 422
    assert _delete(client, world.owner, world.operator, "Operator").status_code == 409
    # Nothing happened on any refusal.
    partner = db[c.PARTNERS].find_one({"_id": world.partner_a})
    assert partner is not None and partner["active"] is True
    assert db[c.LEADS].count_documents({"partner_id": world.partner_a, "status": "listed"}) == 1
    assert _sign_in(client, world.admin_a.email).status_code == 200


def test_delete_waits_for_a_pending_payment(client, world, db):
    lead_id = listed_lead(db, world.partner_a)
    rid = reserve(client, world.admin_b, lead_id).json()["id"]
    db[c.RESERVATIONS].update_one({"_id": rid}, {"$set": {"pending_purchase_id": "p1"}})
    r = _delete(client, world.owner, world.partner_a)
    assert r.status_code == 409 and "pending" in r.text
    assert db[c.PARTNERS].find_one({"_id": world.partner_a})["active"] is True
