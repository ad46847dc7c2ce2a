"""A lead's edit under HTTP's conditional requests (RFC 9110): ``GET`` answers an
``ETag`` naming the lead's revision, ``PATCH`` with ``If-Match`` writes only that
version, and a stale one answers 412 with the current lead and saves nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.errors import PreconditionFailed
from pc_core.leads import inventory as service
from pc_core.models.leads import LeadUpdate


def _create(client, account, **fields):
    r = client.post("/v1/leads", json={"title": "Acme deal", **fields}, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _get(client, account, lead_id):
    r = client.get(f"/v1/leads/{lead_id}", headers=account.headers)
    assert r.status_code == 200, r.text
    return r


def test_get_answers_a_strong_etag_that_moves_with_each_write(client, world):
    lead = _create(client, world.admin_a)
    first = _get(client, world.user_a, lead["id"]).headers.get("ETag")
    assert first and first.startswith('"') and not first.startswith("W/")
    assert _get(client, world.admin_a, lead["id"]).headers["ETag"] == first  # same version
    r = client.patch(f"/v1/leads/{lead['id']}", json={"amount_cents": 700},
                     headers={**world.admin_a.headers, "If-Match": first})
    assert r.status_code == 200, r.text
    saved = r.headers["ETag"]
    assert saved != first
    assert _get(client, world.user_a, lead["id"]).headers["ETag"] == saved


def test_stale_if_match_answers_412_with_the_current_lead_and_writes_nothing(client, world, db):
    lead = _create(client, world.admin_a, amount_cents=100)
    mine = _get(client, world.admin_a, lead["id"]).headers["ETag"]
    # A colleague saves first (an API client without If-Match: still allowed).
    theirs = client.patch(f"/v1/leads/{lead['id']}", json={"stage": "proposal"},
                          headers=world.owner.headers)
    assert theirs.status_code == 200, theirs.text
    stored = db[c.LEADS].find_one({"_id": lead["id"]})

    r = client.patch(f"/v1/leads/{lead['id']}", json={"stage": "lost", "amount_cents": 999},
                     headers={**world.admin_a.headers, "If-Match": mine})
    assert r.status_code == 412, r.text
    body = r.json()
    assert "changed" in body["detail"]
    assert body["current"]["stage"] == "proposal" and body["current"]["amount_cents"] == 100
    assert r.headers["ETag"] == theirs.headers["ETag"]
    assert db[c.LEADS].find_one({"_id": lead["id"]}) == stored  # nothing written

    # With the current ETag, the same edit goes through.
    again = client.patch(f"/v1/leads/{lead['id']}", json={"stage": "lost"},
                         headers={**world.admin_a.headers, "If-Match": r.headers["ETag"]})
    assert again.status_code == 200 and again.json()["stage"] == "lost"


def test_a_note_moves_the_etag_and_the_412_lets_the_edit_carry_over(client, world):
    """A note is part of the lead's representation, so adding one moves the ETag (who
    holds the old one must not take the old notes for current). What a client needs
    to carry an open edit across it is in the 412: the current lead, whose edited
    fields did not change, and its ETag; the lead page then makes the same edit on
    that version, once (web/src/features/leads/LeadDetailPage.vue, ``rebase``)."""
    lead = _create(client, world.admin_a, amount_cents=100)
    url = f"/v1/leads/{lead['id']}"
    opened = _get(client, world.admin_a, lead["id"]).headers["ETag"]
    note = client.post(f"{url}/notes", json={"body": "Asked for the sign-off"},
                       headers=world.admin_a.headers)
    assert note.status_code == 201, note.text
    assert _get(client, world.admin_a, lead["id"]).headers["ETag"] != opened

    stale = client.patch(url, json={"amount_cents": 500},
                         headers={**world.admin_a.headers, "If-Match": opened})
    assert stale.status_code == 412
    current = stale.json()["current"]
    assert current["amount_cents"] == 100 and current["stage"] == lead["stage"]
    assert [n["body"] for n in current["notes"]] == ["Asked for the sign-off"]
    carried = client.patch(url, json={"amount_cents": 500},
                           headers={**world.admin_a.headers, "If-Match": stale.headers["ETag"]})
    assert carried.status_code == 200 and carried.json()["amount_cents"] == 500
    assert [n["body"] for n in carried.json()["notes"]] == ["Asked for the sign-off"]


def test_if_match_uses_the_strong_comparison(client, world):
    lead = _create(client, world.admin_a)
    tag = _get(client, world.admin_a, lead["id"]).headers["ETag"]
    url = f"/v1/leads/{lead['id']}"
    weak = client.patch(url, json={"amount_cents": 1}, headers={**world.admin_a.headers,
                                                                "If-Match": f"W/{tag}"})
    assert weak.status_code == 412
    garbage = client.patch(url, json={"amount_cents": 1}, headers={**world.admin_a.headers,
                                                                   "If-Match": "nonsense"})
    assert garbage.status_code == 412
    listed = client.patch(url, json={"amount_cents": 2}, headers={
        **world.admin_a.headers, "If-Match": f'"999", {tag}'})
    assert listed.status_code == 200, listed.text
    anything = client.patch(url, json={"amount_cents": 3}, headers={**world.admin_a.headers,
                                                                    "If-Match": "*"})
    assert anything.status_code == 200 and anything.json()["amount_cents"] == 3


def test_another_partner_still_gets_404_not_412(client, world):
    lead = _create(client, world.admin_a)
    tag = _get(client, world.admin_a, lead["id"]).headers["ETag"]
    r = client.patch(f"/v1/leads/{lead['id']}", json={"amount_cents": 5},
                     headers={**world.admin_b.headers, "If-Match": '"0"'})
    assert r.status_code == 404
    assert _get(client, world.admin_a, lead["id"]).headers["ETag"] == tag


def test_concurrent_edits_of_one_version_save_exactly_one(client, world, db):
    """The check is the write's compare-and-set: edits racing from the same version
    cannot both pass a read-then-write check; one saves, the others get 412."""
    lead = _create(client, world.admin_a)
    revision = db[c.LEADS].find_one({"_id": lead["id"]})["rev"]
    admin = Principal(user_id=world.admin_a.id, role=world.admin_a.role,
                      partner_id=world.partner_a)

    def edit(amount: int) -> int | None:
        try:
            service.update_lead(db, admin, lead["id"], LeadUpdate(amount_cents=amount),
                                expected_revisions={revision})
            return amount
        except PreconditionFailed:
            return None

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(edit, range(1, 9)))
    saved = [a for a in outcomes if a is not None]
    assert len(saved) == 1
    after = db[c.LEADS].find_one({"_id": lead["id"]})
    assert after["amount_cents"] == saved[0] and after["rev"] == revision + 1
