"""A lead's HubSpot sync state as the lead page shows it: ``hubspot_synced_at`` (the
last pull from or push to the partner's HubSpot) and ``push_pending`` (a platform
change waiting for the pushback), for the lead's own partner only; against the
HubSpot sandbox and nx-27017."""

from __future__ import annotations

from datetime import datetime

import pytest

from pc_core import collections as c
from pc_core.hubspot.connection.oauth import PartnerTokens
from pc_core.hubspot.sync_back.pushback import push_partner
from pc_core.timeutil import utcnow
from tests.hubspot_helpers import Portal, connect, sync


@pytest.fixture
def hs(settings, hubspot_host):
    return settings.model_copy(update={"hubspot_base_url": hubspot_host})


def _at(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_last_synced_and_waiting_to_push(client, db, hs, world):
    p = world.partner_a
    portal = Portal(hs, connect(db, hs, p))
    pulled = utcnow()
    sync(db, hs, p)
    lead = next(d for d in db[c.LEADS].find({"partner_id": p})
                if d["status"] == "open" and d.get("hubspot_deal_id"))
    url = f"/v1/leads/{lead['_id']}"

    first = client.get(url, headers=world.user_a.headers).json()
    assert first["push_pending"] is False
    assert _at(first["hubspot_synced_at"]) >= pulled.replace(microsecond=0)

    # A platform edit waits for the pushback; a reader may not make one.
    assert client.patch(url, json={"amount_cents": 4321},
                        headers=world.user_a.headers).status_code == 403
    edited = client.patch(url, json={"amount_cents": 4321}, headers=world.admin_a.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["push_pending"] is True
    assert edited.json()["hubspot_synced_at"] == first["hubspot_synced_at"]
    page = client.get("/v1/leads", params={"limit": 200}, headers=world.user_a.headers).json()
    row = next(i for i in page["items"] if i["id"] == lead["_id"])
    assert row["push_pending"] is True and row["hubspot_synced_at"] == first["hubspot_synced_at"]
    assert client.get(url, headers=world.admin_b.headers).status_code == 404

    # Pushed: nothing waits, and the push is the last sync.
    assert push_partner(db, hs, p, PartnerTokens(db, hs, p)).leads == 1
    pushed = client.get(url, headers=world.user_a.headers).json()
    assert pushed["push_pending"] is False
    assert _at(pushed["hubspot_synced_at"]) > _at(first["hubspot_synced_at"])

    # A HubSpot user's change pulled in is a sync too.
    portal.update_deal(lead["hubspot_deal_id"], amount="99.00")
    sync(db, hs, p)
    repulled = client.get(url, headers=world.owner.headers).json()
    assert repulled["amount_cents"] == 9900 and repulled["push_pending"] is False
    assert _at(repulled["hubspot_synced_at"]) > _at(pushed["hubspot_synced_at"])


def test_a_lead_never_synced_and_the_buyers_view(client, db, world):
    made = client.post("/v1/leads", json={"title": "Typed in"}, headers=world.admin_a.headers)
    assert made.status_code == 201
    assert (made.json()["hubspot_synced_at"], made.json()["push_pending"]) == (None, False)

    # A sold lead: the seller sees its own CRM's sync state, the buyer none of it
    # (the buyer's deal is another one, in its own portal).
    doc = db[c.LEADS].find_one({"_id": made.json()["id"]})
    synced = utcnow().replace(microsecond=0)
    db[c.LEADS].replace_one({"_id": doc["_id"]}, {
        **doc, "status": "sold", "buyer_partner_id": world.partner_b,
        "hubspot_deal_id": "101", "hubspot_synced_at": synced, "push_pending": 1})
    url = f"/v1/leads/{doc['_id']}"
    seller = client.get(url, headers=world.user_a.headers).json()
    assert _at(seller["hubspot_synced_at"]) == synced and seller["push_pending"] is True
    buyer = client.get(url, headers=world.user_b.headers).json()
    assert buyer["origin"] == "purchased"
    assert (buyer["hubspot_synced_at"], buyer["push_pending"]) == (None, False)
