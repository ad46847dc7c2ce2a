"""The lead inventory: create, edit, notes, filters and cursor pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pc_core import collections as c


def _create(client, account, **fields):
    body = {"title": "Acme deal", **fields}
    r = client.post("/v1/leads", json=body, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_and_read_a_lead(client, world):
    lead = _create(
        client, world.admin_a, company="Acme", contact_email="Ada@Acme.example.com",
        company_size="51-200", amount_cents=1234_56, stage="contacted",
    )
    assert lead["partner_id"] == world.partner_a
    assert lead["contact_email"] == "ada@acme.example.com"
    assert lead["status"] == "open" and lead["stage"] == "contacted"
    got = client.get(f"/v1/leads/{lead['id']}", headers=world.user_a.headers)
    assert got.status_code == 200 and got.json()["amount_cents"] == 123456


def test_non_fit_lead_is_listed_automatically(client, world):
    lead = _create(client, world.admin_a, stage="non_fit")
    assert lead["status"] == "listed"
    other = _create(client, world.admin_a)
    r = client.patch(f"/v1/leads/{other['id']}", json={"stage": "non_fit"},
                     headers=world.admin_a.headers)
    assert r.json()["status"] == "listed"


def test_status_rules(client, world, db):
    lead = _create(client, world.admin_a)
    listed = client.patch(f"/v1/leads/{lead['id']}", json={"status": "listed"},
                          headers=world.admin_a.headers)
    assert listed.json()["status"] == "listed"
    # reserved and sold only come from the marketplace
    r = client.patch(f"/v1/leads/{lead['id']}", json={"status": "sold"},
                     headers=world.admin_a.headers)
    assert r.status_code == 409
    doc = db[c.LEADS].find_one({"_id": lead["id"]})
    db[c.LEADS].replace_one({"_id": doc["_id"]}, {**doc, "status": "reserved"})
    r = client.patch(f"/v1/leads/{lead['id']}", json={"status": "open"},
                     headers=world.admin_a.headers)
    assert r.status_code == 409
    assert db[c.LEADS].find_one({"_id": lead["id"]})["status"] == "reserved"


def test_edit_records_field_change_times(client, world, db):
    lead = _create(client, world.admin_a)
    before = db[c.LEADS].find_one({"_id": lead["id"]})
    r = client.patch(f"/v1/leads/{lead['id']}", json={"amount_cents": 500},
                     headers=world.admin_a.headers)
    assert r.status_code == 200
    after = db[c.LEADS].find_one({"_id": lead["id"]})
    assert after["field_times"]["amount_cents"] > before["field_times"]["amount_cents"]
    assert after["field_times"]["title"] == before["field_times"]["title"]
    assert isinstance(after["updated_at"], datetime)
    assert after["rev"] == before["rev"] + 1


def test_stale_write_is_a_conflict_not_a_lost_update(client, world, db):
    """A writer holding an old revision cannot overwrite a newer change."""
    from pc_core.store import replace_if_unchanged

    lead = _create(client, world.admin_a)
    stale = db[c.LEADS].find_one({"_id": lead["id"]})
    client.patch(f"/v1/leads/{lead['id']}", json={"title": "Newer"}, headers=world.admin_a.headers)
    assert replace_if_unchanged(db[c.LEADS], stale, {"title": "Older"}) is None
    assert db[c.LEADS].find_one({"_id": lead["id"]})["title"] == "Newer"


def test_a_bulk_of_revision_checked_writes_refuses_only_the_stale_ones(client, world, db):
    """The lead build's one-bulk write (``replace_each_if_unchanged``): a lead changed
    since it was read keeps the newer change, a lead deleted since is not brought
    back, and the others are written, all in one round trip."""
    from pc_core.store.documents import replace_each_if_unchanged

    kept, changed, gone = (_create(client, world.admin_a)["id"] for _ in range(3))
    read = {i: db[c.LEADS].find_one({"_id": i}) for i in (kept, changed, gone)}
    client.patch(f"/v1/leads/{changed}", json={"title": "Newer"}, headers=world.admin_a.headers)
    db[c.LEADS].delete_one({"_id": gone})
    written = replace_each_if_unchanged(
        db[c.LEADS], [(read[i], {"title": "From HubSpot"}) for i in (kept, changed, gone)])
    assert [w is not None for w in written] == [True, False, False]
    assert written[0]["rev"] == read[kept]["rev"] + 1
    assert db[c.LEADS].find_one({"_id": kept})["title"] == "From HubSpot"
    assert db[c.LEADS].find_one({"_id": changed})["title"] == "Newer"
    assert db[c.LEADS].find_one({"_id": gone}) is None


def test_notes(client, world):
    lead = _create(client, world.admin_a)
    for body in ("first call", "sent proposal"):
        r = client.post(f"/v1/leads/{lead['id']}/notes", json={"body": body},
                        headers=world.admin_a.headers)
        assert r.status_code == 201
    notes = client.get(f"/v1/leads/{lead['id']}", headers=world.user_a.headers).json()["notes"]
    assert [n["body"] for n in notes] == ["first call", "sent proposal"]
    assert all(n["author_id"] == world.admin_a.id for n in notes)
    assert client.post(f"/v1/leads/{lead['id']}/notes", json={"body": ""},
                       headers=world.admin_a.headers).status_code == 422


def test_validation_errors_are_422(client, world):
    for body in ({}, {"title": ""}, {"title": "x", "stage": "bogus"},
                 {"title": "x", "amount_cents": -1}, {"title": "x", "contact_email": "nope"},
                 {"title": "x", "unknown": 1}):
        assert client.post("/v1/leads", json=body, headers=world.admin_a.headers).status_code == 422


def test_pagination_walks_every_lead_once_newest_first(client, world):
    ids = [_create(client, world.admin_a, title=f"lead {i}")["id"] for i in range(7)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/leads", params=params, headers=world.user_a.headers).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))


def test_filters(client, world):
    _create(client, world.admin_a, title="Alpha Widgets", stage="proposal")
    _create(client, world.admin_a, title="Beta", stage="non_fit")
    _create(client, world.admin_b, title="Alpha elsewhere")
    h = world.user_a.headers

    def titles(**params):
        r = client.get("/v1/leads", params=params, headers=h)
        assert r.status_code == 200, r.text
        return sorted(i["title"] for i in r.json()["items"])

    assert titles() == ["Alpha Widgets", "Beta"]
    assert titles(status="listed") == ["Beta"]
    assert titles(stage="proposal") == ["Alpha Widgets"]
    assert titles(q="alpha") == ["Alpha Widgets"]
    assert titles(q="(") == []  # regex characters are literal
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert titles(created_from=future) == []
    assert titles(created_from=past, created_to=future) == ["Alpha Widgets", "Beta"]
    owner_view = client.get("/v1/leads", params={"partner_id": world.partner_b},
                            headers=world.owner.headers).json()["items"]
    assert [i["title"] for i in owner_view] == ["Alpha elsewhere"]


def test_bad_cursor_and_limit(client, world):
    h = world.user_a.headers
    assert client.get("/v1/leads", params={"cursor": "!!!"}, headers=h).status_code == 400
    assert client.get("/v1/leads", params={"limit": 0}, headers=h).status_code == 422
    assert client.get("/v1/leads", params={"limit": 201}, headers=h).status_code == 422
