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
