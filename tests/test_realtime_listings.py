"""Viewer presence on marketplace listings, over the real server (the API under
uvicorn, python-socketio clients): any signed-in partner may follow a *listed* lead
("N others viewing", counted in distinct people), its room carries nothing that
identifies the contact, and an unlisted lead of another partner stays *not found*.
The harness (one API process, ``Recorder``) is tests/test_realtime.py's."""

from __future__ import annotations

import json
import uuid

import httpx
import redis

from pc_core import events
from pc_core.access import Role
from pc_core.identity.partners import create_partner
from tests import test_realtime as harness
from tests.conftest import SYSTEM, make_account
from tests.test_realtime import Api, is_event, publish

# The harness's fixtures: one API process for this module, and its clients.
api = harness.api
connect = harness.connect

CONTACT = {"title": "Globex renewal", "company": "Globex Corporation",
           "contact_name": "Hank Scorpio", "contact_email": "hank@globex.example.com",
           "contact_phone": "+1 555 0199"}
SECRETS = list(CONTACT.values())


def http(api: Api, method: str, path: str, account, **kwargs) -> httpx.Response:
    return httpx.request(method, api.url + path, headers=account.headers, timeout=15,
                         **kwargs)


def listed_lead(api: Api, **fields) -> str:
    r = http(api, "POST", "/v1/leads", api.admin_a,
             json={**CONTACT, "industry": "SaaS", "location": "US", "status": "listed",
                   **fields})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def lead_events(rec, lead_id: str) -> list[tuple[str, dict]]:
    with rec._cond:
        return [(e, d) for e, d in rec.events
                if isinstance(d, dict) and d.get("lead_id") == lead_id]


def test_any_partner_follows_a_listed_lead_and_counts_distinct_viewers(api, connect):
    lead = listed_lead(api)
    buyer = connect(api.admin_b)
    ack = buyer.call("join-lead", {"lead_id": lead})
    assert {k: ack[k] for k in ("ok", "lead_id", "viewers", "others")} == {
        "ok": True, "lead_id": lead, "viewers": 1, "others": 0}

    # The same person in a second tab is not another viewer.
    second_tab = connect(api.admin_b)
    assert second_tab.call("join-lead", {"lead_id": lead})["others"] == 0
    # A colleague of the buyer, a reader of a third partner, the seller: three more.
    colleague = connect(make_account(api.db, api.settings, Role.USER, api.partner_b))
    assert colleague.call("join-lead", {"lead_id": lead})["viewers"] == 2
    third = create_partner(api.db, SYSTEM, name=f"Agency C {uuid.uuid4().hex[:6]}").id
    reader_c = connect(make_account(api.db, api.settings, Role.USER, third))
    assert reader_c.call("join-lead", {"lead_id": lead})["viewers"] == 3
    seller = connect(api.admin_a)
    seller_ack = seller.call("join-lead", {"lead_id": lead})
    assert {k: seller_ack[k] for k in ("ok", "lead_id", "viewers", "others")} == {
        "ok": True, "lead_id": lead, "viewers": 4, "others": 3}
    assert seller_ack["seq"] > ack["seq"]
    buyer.wait_for(is_event(events.VIEWER_JOINED, lead_id=lead, viewers=4))
    r = redis.Redis.from_url(api.settings.redis_url)
    try:
        assert r.hlen(f"pc:rt:viewers:{lead}") == 5  # five connections, four people
    finally:
        r.close()

    # One of two tabs closing changes nothing; the person leaving does.
    assert second_tab.call("leave-lead", {"lead_id": lead})["viewers"] == 4
    assert colleague.call("leave-lead", {"lead_id": lead})["viewers"] == 3
    _, left = buyer.wait_for(is_event(events.VIEWER_LEFT, lead_id=lead, viewers=3))
    assert {k: left[k] for k in ("lead_id", "viewers")} == {"lead_id": lead, "viewers": 3}
    assert set(left) == {"lead_id", "viewers", "seq"}  # a number, never who
    assert not buyer.received(is_event(events.VIEWER_LEFT, lead_id=lead, viewers=4))


def test_a_listed_leads_room_carries_no_contact_data(api, connect):
    lead = listed_lead(api)
    seller = connect(api.admin_a)
    buyer = connect(api.admin_b)
    for rec in (seller, buyer):
        assert rec.call("join-lead", {"lead_id": lead})["ok"] is True

    # What happens to a listing: the seller edits it, a buyer reserves it.
    edited = http(api, "PATCH", f"/v1/leads/{lead}", api.admin_a, json={"stage": "contacted"})
    assert edited.status_code == 200, edited.text
    buyer.wait_for(is_event(events.STAGE_UPDATED, lead_id=lead, to="contacted"))
    reserved = http(api, "POST", "/v1/marketplace/reservations", api.admin_b,
                    json={"lead_id": lead})
    assert reserved.status_code == 201, reserved.text
    buyer.wait_for(is_event(events.LEAD_RESERVED, lead_id=lead))
    # A bug elsewhere that put contact data into the lead's room would be stripped.
    publish(api, (f"events.publish(s, 'probe', {{'lead_id': '{lead}', 'contact_email': "
                  f"'{CONTACT['contact_email']}', 'title': 't', 'ok': 1}},"
                  f" [events.lead_room('{lead}'), events.partner_room('{api.partner_a}')])\n"))
    _, probe = buyer.wait_for(is_event("probe", lead_id=lead))
    assert probe == {"lead_id": lead, "ok": 1}

    got = lead_events(buyer, lead)
    assert {e for e, _ in got} >= {events.STAGE_UPDATED, events.LEAD_RESERVED, "probe"}
    text = json.dumps(got)
    assert not [s for s in SECRETS if s in text], text

    # Reserved, it is no longer listed: a newcomer of a third partner is refused.
    third = create_partner(api.db, SYSTEM, name=f"Agency D {uuid.uuid4().hex[:6]}").id
    late = connect(make_account(api.db, api.settings, Role.ADMIN, third))
    assert late.call("join-lead", {"lead_id": lead}) == {"ok": False,
                                                         "error": "lead not found"}


def test_unlisted_leads_of_other_partners_stay_not_found(api, connect):
    lead = listed_lead(api)
    buyer = connect(api.admin_b)
    assert buyer.call("join-lead", {"lead_id": lead})["ok"] is True
    assert buyer.call("leave-lead", {"lead_id": lead})["ok"] is True
    withdrawn = http(api, "PATCH", f"/v1/leads/{lead}", api.admin_a, json={"status": "open"})
    assert withdrawn.status_code == 200, withdrawn.text
    # Open again: back to the seller's own; refused exactly like an unknown id.
    assert buyer.call("join-lead", {"lead_id": lead}) == {"ok": False,
                                                          "error": "lead not found"}
    assert buyer.call("join-lead", {"lead_id": f"nope-{uuid.uuid4().hex}"}) == {
        "ok": False, "error": "lead not found"}
    assert connect(api.user_a).call("join-lead", {"lead_id": lead})["ok"] is True
    assert connect(api.owner).call("join-lead", {"lead_id": lead})["ok"] is True
