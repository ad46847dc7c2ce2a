"""The operator's unassigned queue and manual assignment: what the owner sees of a
booking no partner matched, giving it to a partner (lead and meeting move, the
partner's email and event, the monthly cap and its override), idempotency and
races, roles, and every bad input."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.errors import Conflict
from pc_core.events import CHANNEL
from pc_core.meetings import unassigned
from pc_core.models.meetings import AssignIn
from pc_core.settings import Settings
from tests.conftest import make_account, market_settings
from tests.test_meetings import configure, payload, send

QUEUE = "/v1/meetings/unassigned"


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    return market_settings(stores, sandbox_url)


def book_unmatched(client, settings, meeting_id: str, **form) -> str:
    """A booking no partner's rules match (nobody takes "intro" meetings unless
    configured): its lead id."""
    out = send(client, settings, payload(meeting_id, **form)).json()
    assert out["unassigned"] is True, out
    return out["lead_id"]


def assign(client, world, lead_id: str, account=None, **body):
    return client.post(f"{QUEUE}/{lead_id}/assign", json=body,
                       headers=(account or world.owner).headers)


def test_queue_lists_unmatched_bookings_with_what_routing_decides_on(client, world,
                                                                     settings):
    configure(client, world, world.partner_a, locations=["Germany"])
    routed = send(client, settings, payload("routed", location="Germany")).json()
    assert routed["partner_id"] == world.partner_a
    ids = [book_unmatched(client, settings, f"q-{i}", industry=f"Industry {i}")
           for i in range(3)]

    r = client.get(QUEUE, headers=world.owner.headers)
    assert r.status_code == 200, r.text
    page = r.json()
    assert [i["id"] for i in page["items"]] == ids[::-1]  # newest first
    assert page["next_cursor"] is None
    first = page["items"][-1]
    assert first["meeting_id"] == "q-0" and first["meeting_type"] == "intro"
    assert first["company_size"] == "201-500" and first["budget_cents"] == 1_000_000
    assert (first["location"], first["industry"]) == ("US", "Industry 0")
    assert first["routing_reason"] == "no partner matches"
    assert first["scheduled_date"].startswith("2030-01-15T15:00:00")
    assert first["meeting_status"] == "scheduled" and first["status"] == "open"
    assert first["contact_email"] == "ada@acme.example.com"

    # Keyset pages: no overlap, no gap.
    one = client.get(QUEUE, params={"limit": 2}, headers=world.owner.headers).json()
    assert [i["id"] for i in one["items"]] == ids[:0:-1] and one["next_cursor"]
    two = client.get(QUEUE, params={"limit": 2, "cursor": one["next_cursor"]},
                     headers=world.owner.headers).json()
    assert [i["id"] for i in two["items"]] == ids[:1] and two["next_cursor"] is None


def test_queue_bad_inputs(client, world):
    owner = world.owner.headers
    assert client.get(QUEUE, params={"cursor": "not-a-cursor"}, headers=owner).status_code \
        == 400
    for limit in (0, 201, "many"):
        assert client.get(QUEUE, params={"limit": limit}, headers=owner).status_code == 422


def test_queue_and_assignment_are_the_owners(client, world, settings, db):
    lead = book_unmatched(client, settings, "roles")
    # Even an admin of the operator partner, whose leads these are for now.
    op_admin = make_account(db, settings, Role.ADMIN, world.operator)
    for account in (world.admin_a, world.user_a, world.admin_b, op_admin):
        assert client.get(QUEUE, headers=account.headers).status_code == 403
        r = assign(client, world, lead, account, partner_id=world.partner_a)
        # Naming another partner is 404 for a non-owner, as on every route
        # (pc_core/access.py); its own partner: 403, owner only.
        expected = 403 if account.partner_id == world.partner_a else 404
        assert r.status_code == expected, r.text
    assert client.get(QUEUE).status_code == 401
    assert client.post(f"{QUEUE}/{lead}/assign", json={"partner_id": world.partner_a}) \
        .status_code == 401
    # Still waiting, still invisible to the agencies.
    assert [i["id"] for i in client.get(QUEUE, headers=world.owner.headers).json()["items"]] \
        == [lead]
    assert client.get(f"/v1/leads/{lead}", headers=world.admin_a.headers).status_code == 404


def test_assignment_moves_lead_and_meeting_and_tells_the_partner(client, world, settings,
                                                                 db, mailbox, redis_conn):
    configure(client, world, world.partner_a, locations=["Germany"], monthly_cap=5)
    lead_id = book_unmatched(client, settings, "manual-1")
    listener = redis_conn.pubsub()
    listener.subscribe(CHANNEL)
    listener.get_message(timeout=1)

    r = assign(client, world, lead_id, partner_id=world.partner_a)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "assigned" and out["partner_id"] == world.partner_a
    assert out["partner_name"] == "Agency A" and out["assigned_at"]
    assert (out["month_count"], out["monthly_cap"], out["over_cap"]) == (1, 5, False)

    lead = db[c.LEADS].find_one({"_id": lead_id})
    assert lead["partner_id"] == world.partner_a and lead["unassigned"] is False
    assert lead["assigned_by"] == world.owner.id
    meeting = db[c.MEETINGS].find_one({"_id": "chilipiper:manual-1"})
    assert meeting["partner_id"] == world.partner_a and meeting["unassigned"] is False
    # The partner now has it; the queue does not.
    assert client.get(f"/v1/leads/{lead_id}", headers=world.user_a.headers).status_code == 200
    assert client.get(f"/v1/leads/{lead_id}", headers=world.admin_b.headers).status_code == 404
    assert client.get(QUEUE, headers=world.owner.headers).json()["items"] == []
    routing = client.get(f"/v1/partners/{world.partner_a}/routing",
                         headers=world.owner.headers).json()
    assert routing["month_count"] == 1

    # The same email and event automatic routing sends.
    items = mailbox.get("/messages", params={"to": world.admin_a.email}).json()["items"]
    assert len(items) == 1 and "Acme" in items[0]["subject"]
    published = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not published:
        message = listener.get_message(timeout=0.5)
        if message and message["type"] == "message" and "lead-assigned" in str(message["data"]):
            published.append(str(message["data"]))
    listener.close()
    assert published and f"partner:{world.partner_a}" in published[0] and lead_id in published[0]

    # Idempotent for the same partner (no second email, not counted twice); 409 for another.
    again = assign(client, world, lead_id, partner_id=world.partner_a)
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    assert again.json()["month_count"] == 1
    assert len(mailbox.get("/messages", params={"to": world.admin_a.email}).json()["items"]) \
        == 1
    other = assign(client, world, lead_id, partner_id=world.partner_b)
    assert other.status_code == 409 and "already assigned" in other.json()["detail"]
    assert db[c.LEADS].find_one({"_id": lead_id})["partner_id"] == world.partner_a


def test_an_automatically_routed_booking_is_already_assigned(client, world, settings):
    configure(client, world, world.partner_a)
    routed = send(client, settings, payload("auto")).json()
    assert routed["partner_id"] == world.partner_a
    same = assign(client, world, routed["lead_id"], partner_id=world.partner_a)
    assert same.status_code == 200 and same.json()["status"] == "unchanged"
    assert assign(client, world, routed["lead_id"], partner_id=world.partner_b).status_code \
        == 409


def test_monthly_cap_counts_and_override_goes_over_it(client, world, settings, db):
    configure(client, world, world.partner_b, locations=["Germany"], monthly_cap=1)
    first, second = (book_unmatched(client, settings, f"cap-{i}") for i in range(2))
    assert assign(client, world, first, partner_id=world.partner_b).json()["month_count"] == 1

    refused = assign(client, world, second, partner_id=world.partner_b)
    assert refused.status_code == 409
    assert "monthly cap" in refused.json()["detail"] and "(1/1)" in refused.json()["detail"]
    assert db[c.LEADS].find_one({"_id": second})["unassigned"] is True
    assert client.get(f"/v1/partners/{world.partner_b}/routing",
                      headers=world.owner.headers).json()["month_count"] == 1

    forced = assign(client, world, second, partner_id=world.partner_b, override_cap=True)
    assert forced.status_code == 200, forced.text
    assert (forced.json()["month_count"], forced.json()["over_cap"]) == (2, True)
    assert db[c.LEADS].find_one({"_id": second})["partner_id"] == world.partner_b
    # Routing then sees the partner as full, as it is.
    configure(client, world, world.partner_b, monthly_cap=1)
    assert send(client, settings, payload("cap-after")).json()["unassigned"] is True


def test_assignment_bad_inputs(client, world, settings, db):
    lead = book_unmatched(client, settings, "bad")
    manual = client.post("/v1/leads", json={"title": "Typed in", "partner_id": world.operator},
                         headers=world.owner.headers).json()["id"]
    cases = [
        ("no-such-lead", {"partner_id": world.partner_a}, 404),
        (manual, {"partner_id": world.partner_a}, 404),  # not a booked meeting's lead
        (lead, {"partner_id": "no-such-partner"}, 404),
        (lead, {}, 422),
        (lead, {"partner_id": ""}, 422),
        (lead, {"partner_id": world.partner_a, "extra": 1}, 422),
        (lead, {"partner_id": world.partner_a, "override_cap": "maybe"}, 422),
    ]
    for lead_id, body, status in cases:
        r = client.post(f"{QUEUE}/{lead_id}/assign", json=body, headers=world.owner.headers)
        assert r.status_code == status, (lead_id, body, r.text)

    client.patch(f"/v1/partners/{world.partner_b}", json={"active": False},
                 headers=world.owner.headers)
    inactive = assign(client, world, lead, partner_id=world.partner_b)
    assert inactive.status_code == 409 and "inactive" in inactive.json()["detail"]

    # A lead taken off the queue by hand (archived) is not assignable, and not listed.
    r = client.patch(f"/v1/leads/{lead}", json={"status": "archived"},
                     headers=world.owner.headers)
    assert r.status_code == 200, r.text
    closed = assign(client, world, lead, partner_id=world.partner_a)
    assert closed.status_code == 409 and "archived" in closed.json()["detail"]
    assert client.get(QUEUE, headers=world.owner.headers).json()["items"] == []
    assert db[c.LEADS].find_one({"_id": lead})["unassigned"] is True
    assert not db[c.ROUTING_COUNTS].find_one({"partner_id": world.partner_a})


def test_concurrent_assignments_one_wins_and_only_it_is_counted(client, world, settings, db):
    lead_id = book_unmatched(client, settings, "race")
    owner = Principal(world.owner.id, Role.OWNER, world.operator)
    targets = [world.partner_a, world.partner_b] * 4

    def attempt(pid: str) -> str:
        try:
            done = unassigned.assign(db, settings, owner, lead_id, AssignIn(partner_id=pid))
        except Conflict:
            return "conflict"
        return f"{done.answer.status}:{pid}"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, targets))
    winner = db[c.LEADS].find_one({"_id": lead_id})["partner_id"]
    assert winner in (world.partner_a, world.partner_b)
    assert outcomes.count(f"assigned:{winner}") == 1
    assert all(o in ("conflict", f"unchanged:{winner}", f"assigned:{winner}")
               for o in outcomes), outcomes
    counts = {d["partner_id"]: d["count"]
              for d in db[c.ROUTING_COUNTS].find({"month": {"$exists": True}})}
    loser = world.partner_b if winner == world.partner_a else world.partner_a
    assert counts[winner] == 1 and counts.get(loser, 0) == 0
    assert db[c.MEETINGS].find_one({"_id": "chilipiper:race"})["partner_id"] == winner
