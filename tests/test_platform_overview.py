"""The owner's platform dashboard (issue 21): system-wide figures from the real
store, sync health with the worst partner first, owner only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pc_core import collections as c
from pc_core.hubspot.connection.sync_health import mark_sync_failed
from pc_core.store.keys import month_key
from pc_core.timeutil import utcnow
from tests.marketplace_helpers import listed_lead

URL = "/v1/platform/overview"


def _completed(db, lead_id, seller, buyer, amount, commission, when):
    db[c.PURCHASES].insert_one({
        "_id": f"pu_{lead_id}", "status": "completed", "lead_id": lead_id,
        "reservation_id": "r", "seller_partner_id": seller, "buyer_partner_id": buyer,
        "price_cents": amount - commission, "commission_cents": commission,
        "amount_cents": amount, "currency": "usd", "created_at": when, "completed_at": when,
        "month": month_key(when), "sort_key": f"{when.isoformat()}|{lead_id}"})


def test_overview_figures_and_worst_sync_first(client, world, db):
    for _ in range(3):
        listed_lead(db, world.partner_a)
    sold = listed_lead(db, world.partner_b)
    db[c.LEADS].update_one({"_id": sold}, {"$set": {"status": "sold"}})
    now = utcnow()
    _completed(db, sold, world.partner_b, world.partner_a, 12_000, 2_000, now)
    _completed(db, "old", world.partner_b, world.partner_a, 6_000, 1_000,
               now - timedelta(days=400))  # older than 12 months: not shown
    db[c.PARTNERS].update_one({"_id": world.partner_b}, {"$set": {"active": False}})
    recent = datetime.now(UTC)
    for pid in (world.partner_a, world.partner_b):
        db[c.PARTNERS].update_one({"_id": pid}, {"$set": {"hubspot": {
            "portal_id": pid, "last_synced_at": recent}}})
    mark_sync_failed(db, world.partner_b, job="hubspot_sync", run_id="r1",
                     error="token refresh failed: invalid_grant")

    r = client.get(URL, headers=world.owner.headers)
    assert r.status_code == 200, r.text
    o = r.json()
    assert (o["partners_total"], o["partners_active"]) == (3, 2)
    assert o["leads_by_status"] == {"listed": 3, "sold": 1}
    assert o["listings"] == 3 and o["active_reservations"] == 0
    months = o["sales_by_month"]
    assert len(months) == 12 and months[-1]["month"] == month_key(now)
    assert months[-1] == {"month": month_key(now), "sales": 1, "revenue_cents": 12_000,
                          "commission_cents": 2_000}
    assert sum(m["sales"] for m in months) == 1
    health = o["sync_health"]
    assert [h["partner_id"] for h in health][:2] == [world.partner_b, world.partner_a]
    assert health[0]["sync_status"] == "failed" and health[0]["active"] is False
    assert health[0]["failure"]["action"] == "reconnect"
    assert health[1]["sync_status"] == "ok"
    assert health[2]["sync_status"] == "not_connected"  # the operator


def test_owner_only(client, world):
    for account in (world.admin_a, world.user_b):
        assert client.get(URL, headers=account.headers).status_code == 403
    assert client.get(URL).status_code == 401
