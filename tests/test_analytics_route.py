"""GET /v1/partners/{id}/funnel: the funnel of what a partner's people did through the
API (edits and the marketplace are recorded as stage events), scoped like every
partner route, with its date validation."""

from __future__ import annotations

from datetime import timedelta

from pc_core import collections as c
from pc_core.journal.stage_events import STAGE_EVENTS
from pc_core.timeutil import utcnow


def _lead(client, account, title):
    r = client.post("/v1/leads", json={"title": title, "industry": "SaaS"},
                    headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _stage(client, account, lead_id, stage):
    r = client.patch(f"/v1/leads/{lead_id}", json={"stage": stage}, headers=account.headers)
    assert r.status_code == 200, r.text


def test_funnel_of_todays_activity(client, db, world):
    won, lost, unfit = (_lead(client, world.admin_a, t) for t in ("won", "lost", "unfit"))
    _stage(client, world.admin_a, won, "contacted")
    _stage(client, world.admin_a, won, "won")
    _stage(client, world.admin_a, lost, "lost")
    _stage(client, world.admin_a, unfit, "non_fit")  # listed by the auto-listing rule
    r = client.post("/v1/marketplace/reservations", json={"lead_id": unfit},
                    headers=world.admin_b.headers)
    assert r.status_code == 201, r.text
    sources = sorted({(e["kind"], e["source"]) for e in db[STAGE_EVENTS].find(
        {"partner_id": world.partner_a})})
    assert sources == [("stage", "platform"), ("status", "marketplace"),
                       ("status", "platform")]

    r = client.get(f"/v1/partners/{world.partner_a}/funnel", headers=world.user_a.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    today = utcnow().date()
    assert body["to"] == today.isoformat()
    assert body["from"] == (today - timedelta(days=29)).isoformat()
    entered = {s["stage"]: s["entered"] for s in body["stages"]}
    assert entered == {"new": 3, "contacted": 1, "meeting_scheduled": 0, "meeting_held": 0,
                       "proposal": 0, "negotiation": 0, "won": 1, "lost": 1, "non_fit": 1}
    new = next(s for s in body["stages"] if s["stage"] == "new")
    assert new["conversion_to_next"] == round(1 / 3, 4)  # only "won" moved up the funnel
    assert (body["won"], body["lost"], body["win_rate"]) == (1, 1, 0.5)
    assert body["marketplace"]["listed"] == 1 and body["marketplace"]["reserved"] == 1
    assert body["marketplace"]["listed_to_reserved"] == 1.0
    assert body["marketplace"]["sold"] == 0
    assert body["money"]["revenue_cents"] == 0

    # Partner B's funnel: nothing of its own happened.
    mine = client.get(f"/v1/partners/{world.partner_b}/funnel",
                      headers=world.admin_b.headers).json()
    assert sum(s["entered"] for s in mine["stages"]) == 0


def test_funnel_scoping(client, db, world):
    url = f"/v1/partners/{world.partner_a}/funnel"
    assert client.get(url, headers=world.owner.headers).status_code == 200
    assert client.get(url, headers=world.admin_a.headers).status_code == 200
    assert client.get(url, headers=world.user_a.headers).status_code == 200
    assert client.get(url, headers=world.admin_b.headers).status_code == 404
    assert client.get(url, headers=world.user_b.headers).status_code == 404
    assert client.get(url).status_code == 401
    assert client.get("/v1/partners/no-such-partner/funnel",
                      headers=world.owner.headers).status_code == 404
    db[c.PARTNERS].delete_one({"_id": world.partner_b})
    assert client.get(f"/v1/partners/{world.partner_b}/funnel",
                      headers=world.owner.headers).status_code == 404


def test_funnel_dates(client, world):
    url = f"/v1/partners/{world.partner_a}/funnel"
    h = world.admin_a.headers
    ok = client.get(url, params={"from": "2026-01-01", "to": "2026-01-31"}, headers=h)
    assert ok.status_code == 200 and ok.json()["from"] == "2026-01-01"
    for bad in ({"from": "2026-13-01"}, {"to": "yesterday"}, {"from": "2026-02-30"}):
        assert client.get(url, params=bad, headers=h).status_code == 422, bad
    backwards = client.get(url, params={"from": "2026-02-01", "to": "2026-01-01"}, headers=h)
    assert backwards.status_code == 400
    too_long = client.get(url, params={"from": "2024-01-01", "to": "2026-01-01"}, headers=h)
    assert too_long.status_code == 400
