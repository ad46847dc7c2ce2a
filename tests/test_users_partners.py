"""Users, partners and partner figures, as an admin of the platform sees them:
unique case-insensitive emails, password rules, self-protection, tokens of removed
accounts, who lands on which partner; partner settings and their limits; /stats.

One world per module (the fixtures below override conftest's), because every world
hashes five passwords. A test that changes an account or a partner creates its own
first; the shared ones are only read, or sent changes that must be refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pymongo.database import Database

from pc_api.main import create_app
from pc_core import collections as c
from pc_core.access import Role
from pc_core.security.jwt_tokens import create_access_token
from pc_core.settings import Settings
from tests.conftest import (
    PASSWORD,
    Account,
    Stores,
    World,
    build_world,
    enable_payouts,
    fresh_settings,
    indexed_db,
)


@pytest.fixture(scope="module")
def settings(stores: Stores) -> Settings:
    return fresh_settings(stores)


@pytest.fixture(scope="module")
def db(settings: Settings) -> Iterator[Database]:
    yield from indexed_db(settings)


@pytest.fixture(scope="module")
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def world(db: Database, settings: Settings) -> World:
    return build_world(db, settings)


def _uid() -> str:
    return uuid.uuid4().hex[:10]


def _fresh_user(client, settings, world, role="user", partner_id=None) -> Account:
    """A new account (made by the owner through the API) with its own token."""
    partner_id = partner_id or world.partner_a
    body = {"email": f"fresh-{_uid()}@example.com", "password": PASSWORD,
            "role": role, "partner_id": partner_id}
    r = client.post("/v1/users", json=body, headers=world.owner.headers)
    assert r.status_code == 201, r.text
    token, _ = create_access_token(settings, r.json()["id"])
    return Account(r.json()["id"], body["email"], Role(role), partner_id, _bearer(token))


def _fresh_partner(client, world, **body) -> dict:
    body = {"name": f"Fresh {_uid()}", **body}
    r = client.post("/v1/partners", json=body, headers=world.owner.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _new_user(client, actor, **body):
    body = {"email": f"u-{_uid()}@example.com", "password": PASSWORD, **body}
    return client.post("/v1/users", json=body, headers=actor.headers)


def _login(client, email, password=PASSWORD):
    r = client.post("/v1/auth/login", json={"email": email, "password": password})
    client.cookies.clear()  # the shared client authenticates by explicit headers only
    return r


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _users(db) -> dict:
    return {d["_id"]: d for d in db[c.USERS].find({})}


def _partners(db) -> dict:
    return {d["_id"]: d for d in db[c.PARTNERS].find({})}


# ---------------------------------------------------------------------------
# Users


def test_email_is_stored_lowercase_and_unique_in_any_case(client, db, world):
    tag = _uid()
    r = _new_user(client, world.admin_a, email=f"Jane.{tag}@Example.COM")
    assert r.status_code == 201, r.text
    email = f"jane.{tag}@example.com"
    assert r.json()["email"] == email
    assert db[c.USERS].find_one({"_id": r.json()["id"]})["email"] == email
    # The same address in any case, by anyone, on any partner: 409, nothing stored.
    for actor, typed, partner in [
        (world.admin_a, email, None),
        (world.owner, email.upper(), world.partner_b),
        (world.admin_b, f"JANE.{tag}@example.com", None),
        (world.owner, world.user_b.email.upper(), world.partner_a),
    ]:
        before = _users(db)
        body = {"email": typed} if partner is None else {"email": typed, "partner_id": partner}
        dup = _new_user(client, actor, **body)
        assert dup.status_code == 409, (typed, dup.text)
        assert "already exists" in dup.json()["detail"]
        assert _users(db) == before
    # Changing someone's address onto a taken one is refused too, and changes nothing.
    before = _users(db)
    clash = client.patch(
        f"/v1/users/{world.user_a.id}", json={"email": email.upper()},
        headers=world.admin_a.headers,
    )
    assert clash.status_code == 409
    assert _users(db) == before
    # The stored address signs in whatever case is typed.
    assert _login(client, f"JANE.{tag}@example.com").status_code == 200


def test_email_change_is_lowercased_and_used_for_sign_in(client, settings, world):
    target = _fresh_user(client, settings, world)
    new = f"New.{_uid()}@Example.com"
    r = client.patch(f"/v1/users/{target.id}", json={"email": new}, headers=world.admin_a.headers)
    assert r.status_code == 200, r.text
    assert r.json()["email"] == new.lower()
    assert _login(client, target.email).status_code == 401
    assert _login(client, new.lower()).status_code == 200


@pytest.mark.parametrize("password", ["", "short", "7chars!"])
def test_password_shorter_than_eight_characters_is_refused(client, db, world, password):
    before = _users(db)
    created = _new_user(client, world.admin_a, password=password)
    assert created.status_code in (400, 422), created.text
    changed = client.patch(
        f"/v1/users/{world.user_a.id}", json={"password": password}, headers=world.admin_a.headers
    )
    assert changed.status_code in (400, 422), changed.text
    assert _users(db) == before
    assert _login(client, world.user_a.email).status_code == 200


def test_password_change_takes_effect_and_eight_characters_is_enough(client, settings, world):
    target = _fresh_user(client, settings, world)
    r = client.patch(
        f"/v1/users/{target.id}", json={"password": "8chars!!"}, headers=world.admin_a.headers
    )
    assert r.status_code == 200, r.text
    assert _login(client, target.email).status_code == 401
    assert _login(client, target.email, "8chars!!").status_code == 200


def test_password_is_never_returned(client, db, world):
    secret = "a-very-particular-secret"
    created = _new_user(client, world.admin_a, password=secret, name="Pat")
    assert created.status_code == 201
    uid = created.json()["id"]
    responses = [
        created,
        client.get(f"/v1/users/{uid}", headers=world.admin_a.headers),
        client.get("/v1/users", headers=world.admin_a.headers),
        client.get("/v1/users", headers=world.owner.headers),
        client.patch(f"/v1/users/{uid}", json={"password": secret + "2"},
                     headers=world.admin_a.headers),
        client.patch(f"/v1/users/{uid}", json={"name": "Pat 2"}, headers=world.admin_a.headers),
    ]
    login = _login(client, created.json()["email"], secret + "2")
    responses += [login, client.get("/v1/auth/me", headers=_bearer(login.json()["access_token"]))]
    stored_hash = db[c.USERS].find_one({"_id": uid})["password_hash"]
    for r in responses:
        assert r.status_code in (200, 201), r.text
        assert "password" not in r.text
        assert secret not in r.text and stored_hash not in r.text


@pytest.mark.parametrize("who", ["owner", "admin_a"])
def test_deleting_yourself_is_a_conflict(client, db, world, who):
    me = getattr(world, who)
    r = client.delete(f"/v1/users/{me.id}", headers=me.headers)
    assert r.status_code == 409
    assert "yourself" in r.json()["detail"]
    assert db[c.USERS].find_one({"_id": me.id}) is not None
    assert client.get("/v1/auth/me", headers=me.headers).status_code == 200


@pytest.mark.parametrize(("who", "role"), [("owner", "admin"), ("owner", "user"),
                                           ("admin_a", "user")])
def test_changing_your_own_role_is_a_conflict(client, db, world, who, role):
    me = getattr(world, who)
    before = _users(db)
    r = client.patch(f"/v1/users/{me.id}", json={"role": role}, headers=me.headers)
    assert r.status_code == 409
    assert _users(db) == before
    # Everything else about yourself stays editable, including a no-op role.
    name = f"Me {_uid()}"
    same = client.patch(
        f"/v1/users/{me.id}", json={"name": name, "role": me.role.value}, headers=me.headers
    )
    assert same.status_code == 200 and same.json()["name"] == name
    assert db[c.USERS].find_one({"_id": me.id})["role"] == me.role.value


def test_deleted_users_token_stops_working(client, db, settings, world):
    target = _fresh_user(client, settings, world)
    assert client.get("/v1/leads", headers=target.headers).status_code == 200
    r = client.delete(f"/v1/users/{target.id}", headers=world.admin_a.headers)
    assert r.status_code == 204
    assert db[c.USERS].find_one({"_id": target.id}) is None
    assert client.get("/v1/auth/me", headers=target.headers).status_code == 401
    assert client.get("/v1/leads", headers=target.headers).status_code == 401
    assert _login(client, target.email).status_code == 401
    assert client.get(f"/v1/users/{target.id}", headers=world.owner.headers).status_code == 404
    again = client.delete(f"/v1/users/{target.id}", headers=world.admin_a.headers)
    assert again.status_code == 404


def test_deactivated_user_is_locked_out_until_reactivated(client, settings, world):
    target = _fresh_user(client, settings, world)
    off = client.patch(
        f"/v1/users/{target.id}", json={"active": False}, headers=world.admin_a.headers
    )
    assert off.status_code == 200 and off.json()["active"] is False
    assert client.get("/v1/auth/me", headers=target.headers).status_code == 401
    assert _login(client, target.email).status_code == 401
    on = client.patch(
        f"/v1/users/{target.id}", json={"active": True}, headers=world.admin_a.headers
    )
    assert on.status_code == 200
    assert _login(client, target.email).status_code == 200
    # The deactivation ended its sessions for good: reactivating revives none of them.
    assert client.get("/v1/auth/me", headers=target.headers).status_code == 401


@pytest.mark.parametrize("role", ["user", "admin"])
def test_admin_creates_users_on_its_own_partner_without_naming_it(client, db, world, role):
    r = _new_user(client, world.admin_b, role=role, name="New colleague")
    assert r.status_code == 201, r.text
    assert r.json()["partner_id"] == world.partner_b and r.json()["role"] == role
    stored = db[c.USERS].find_one({"_id": r.json()["id"]})
    assert (stored["partner_id"], stored["role"], stored["name"]) == (
        world.partner_b, role, "New colleague"
    )
    listed = client.get("/v1/users", headers=world.admin_b.headers).json()
    assert r.json()["id"] in {u["id"] for u in listed}
    # What the create answered is what a later read answers.
    read = client.get(f"/v1/users/{r.json()['id']}", headers=world.admin_b.headers)
    assert read.json() == r.json()
    assert _login(client, r.json()["email"]).status_code == 200


@pytest.mark.parametrize("role", ["user", "admin"])
def test_owner_must_name_the_partner_of_an_admin_or_user(client, db, world, role):
    before = _users(db)
    r = _new_user(client, world.owner, role=role)
    assert r.status_code == 400
    assert "partner_id" in r.json()["detail"]
    assert _users(db) == before
    unknown = _new_user(client, world.owner, role=role, partner_id="no-such-partner")
    assert unknown.status_code == 404
    assert _users(db) == before
    ok = _new_user(client, world.owner, role=role, partner_id=world.partner_b)
    assert ok.status_code == 201 and ok.json()["partner_id"] == world.partner_b


def test_owner_may_create_an_owner_without_a_partner(client, db, world):
    r = _new_user(client, world.owner, role="owner")
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "owner" and r.json()["partner_id"] is None
    token = _login(client, r.json()["email"]).json()["access_token"]
    everyone = client.get("/v1/partners", headers=_bearer(token)).json()
    assert {p["id"] for p in everyone} == set(_partners(db))


def test_owner_moves_a_user_to_another_partner(client, settings, world):
    target = _fresh_user(client, settings, world)
    r = client.patch(
        f"/v1/users/{target.id}", json={"partner_id": world.partner_b},
        headers=world.owner.headers,
    )
    assert r.status_code == 200 and r.json()["partner_id"] == world.partner_b
    assert client.get(f"/v1/users/{target.id}", headers=world.admin_a.headers).status_code == 404
    assert client.get(f"/v1/users/{target.id}", headers=world.admin_b.headers).status_code == 200
    # The moved user now reads the other partner, and no longer its old one.
    mine = client.get("/v1/partners", headers=target.headers).json()
    assert [p["id"] for p in mine] == [world.partner_b]
    assert client.get(f"/v1/partners/{world.partner_a}", headers=target.headers).status_code == 404


@pytest.mark.parametrize(
    "change",
    [{"partner_id": None}, {"role": "admin", "partner_id": None}],
    ids=["drop partner", "promote without partner"],
)
def test_admins_and_users_cannot_be_left_without_a_partner(client, db, settings, world, change):
    target = _fresh_user(client, settings, world)
    before = _users(db)
    r = client.patch(f"/v1/users/{target.id}", json=change, headers=world.owner.headers)
    assert r.status_code == 400, r.text
    assert "partner_id" in r.json()["detail"]
    assert _users(db) == before


@pytest.mark.parametrize(
    "change",
    [{"name": None}, {"email": None}, {"role": None}, {"active": None}, {"password": None}],
    ids=lambda ch: next(iter(ch)),
)
def test_null_for_a_required_user_field_is_refused_not_a_500(client, db, settings, world, change):
    target = _fresh_user(client, settings, world)
    before = _users(db)
    r = client.patch(f"/v1/users/{target.id}", json=change, headers=world.admin_a.headers)
    assert r.status_code in (400, 422), r.text
    assert _users(db) == before
    assert client.get("/v1/auth/me", headers=target.headers).status_code == 200


def test_unknown_fields_and_bad_values_are_422(client, db, world):
    before = _users(db)
    assert _new_user(client, world.owner, partner_id=world.partner_a,
                     is_superuser=True).status_code == 422
    assert _new_user(client, world.owner, partner_id=world.partner_a,
                     email="not-an-email").status_code == 422
    assert _new_user(client, world.owner, partner_id=world.partner_a,
                     role="superadmin").status_code == 422
    r = client.patch(f"/v1/users/{world.user_a.id}", json={"password_hash": "x"},
                     headers=world.admin_a.headers)
    assert r.status_code == 422
    assert _users(db) == before


# ---------------------------------------------------------------------------
# Partners


def test_owner_creates_a_partner(client, db, world):
    name = f"Nordic Leads {_uid()}"
    body = {"name": f"  {name} ", "website": "https://nordic.example.com",
            "default_lead_price_cents": 12_500}
    r = client.post("/v1/partners", json=body, headers=world.owner.headers)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["name"] == name and out["slug"] == name.lower().replace(" ", "-")
    assert out["website"] == "https://nordic.example.com"
    assert out["default_lead_price_cents"] == 12_500
    assert out["active"] is True and out["is_operator"] is False
    assert out["hubspot_connected"] is False
    assert db[c.PARTNERS].find_one({"_id": out["id"]})["name"] == name
    # What the create answered is what a later read answers.
    assert client.get(f"/v1/partners/{out['id']}", headers=world.owner.headers).json() == out
    listed = client.get("/v1/partners", headers=world.owner.headers).json()
    assert out in listed
    # Admins can now be created on it.
    assert _new_user(client, world.owner, role="admin", partner_id=out["id"]).status_code == 201


@pytest.mark.parametrize("who", ["admin_a", "user_a"])
def test_only_the_owner_creates_partners(client, db, world, who):
    before = _partners(db)
    r = client.post("/v1/partners", json={"name": "Mine"}, headers=getattr(world, who).headers)
    assert r.status_code == 403
    assert _partners(db) == before


@pytest.mark.parametrize("name", ["Agency A", "agency a", "AGENCY-A", " Agency  A "])
def test_duplicate_partner_name_is_a_conflict(client, db, world, name):
    before = _partners(db)
    r = client.post("/v1/partners", json={"name": name}, headers=world.owner.headers)
    assert r.status_code == 409
    assert "already exists" in r.json()["detail"]
    assert _partners(db) == before


@pytest.mark.parametrize("name", ["", "   "])
def test_blank_partner_name_is_refused(client, db, world, name):
    before = _partners(db)
    r = client.post("/v1/partners", json={"name": name}, headers=world.owner.headers)
    assert r.status_code in (400, 422), r.text
    renamed = client.patch(f"/v1/partners/{world.partner_a}", json={"name": name},
                           headers=world.admin_a.headers)
    assert renamed.status_code in (400, 422), renamed.text
    assert _partners(db) == before


def test_renaming_onto_another_partners_name_is_a_conflict(client, db, world):
    before = _partners(db)
    r = client.patch(f"/v1/partners/{world.partner_a}", json={"name": "agency b"},
                     headers=world.admin_a.headers)
    assert r.status_code == 409
    assert _partners(db) == before


def test_admin_edits_its_partners_settings(client, db, settings, world):
    partner = _fresh_partner(client, world)
    admin = _fresh_user(client, settings, world, "admin", partner["id"])
    reader = _fresh_user(client, settings, world, "user", partner["id"])
    name = f"Prime {_uid()}"
    change = {"name": f" {name} ", "website": "https://prime.example.com",
              "default_lead_price_cents": 9_900}
    expected = {**change, "name": name}
    r = client.patch(f"/v1/partners/{partner['id']}", json=change, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in change} == expected
    assert r.json()["slug"] == name.lower().replace(" ", "-")
    stored = db[c.PARTNERS].find_one({"_id": partner["id"]})
    assert {k: stored[k] for k in change} == expected
    seen = client.get(f"/v1/partners/{partner['id']}", headers=reader.headers).json()
    assert seen == r.json()
    # The optional settings can be cleared.
    cleared = client.patch(
        f"/v1/partners/{partner['id']}", json={"website": None, "default_lead_price_cents": None},
        headers=admin.headers,
    )
    assert cleared.status_code == 200
    assert cleared.json()["website"] is None and cleared.json()["default_lead_price_cents"] is None
    assert cleared.json()["name"] == name


@pytest.mark.parametrize(
    "change",
    [{"active": False}, {"is_operator": True},
     {"website": "https://x.example.com", "active": False}],
    ids=["active", "is_operator", "website+active"],
)
def test_admin_cannot_change_owner_only_partner_fields(client, db, world, change):
    before = _partners(db)
    r = client.patch(f"/v1/partners/{world.partner_a}", json=change, headers=world.admin_a.headers)
    assert r.status_code == 403
    assert _partners(db) == before  # not even the allowed part is applied


def test_owner_changes_active_and_is_operator(client, db, world):
    partner = _fresh_partner(client, world)
    r = client.patch(f"/v1/partners/{partner['id']}", json={"active": False, "is_operator": True},
                     headers=world.owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False and r.json()["is_operator"] is True
    stored = db[c.PARTNERS].find_one({"_id": partner["id"]})
    assert stored["active"] is False and stored["is_operator"] is True


@pytest.mark.parametrize(
    "change",
    [{"name": None}, {"active": None}, {"is_operator": None}, {"default_lead_price_cents": -1},
     {"website": "x" * 301}],
    ids=["name null", "active null", "is_operator null", "negative price", "website too long"],
)
def test_bad_partner_changes_are_refused_not_a_500(client, db, world, change):
    partner = _fresh_partner(client, world)
    before = _partners(db)
    r = client.patch(f"/v1/partners/{partner['id']}", json=change, headers=world.owner.headers)
    assert r.status_code in (400, 422), r.text
    assert _partners(db) == before


def test_partner_list_shows_own_partner_to_non_owners_and_all_to_owner(client, db, world):
    for account, own in [(world.admin_a, world.partner_a), (world.user_a, world.partner_a),
                         (world.admin_b, world.partner_b), (world.user_b, world.partner_b)]:
        r = client.get("/v1/partners", headers=account.headers)
        assert r.status_code == 200
        assert [p["id"] for p in r.json()] == [own]
    everyone = client.get("/v1/partners", headers=world.owner.headers).json()
    stored = _partners(db)
    assert sorted(p["id"] for p in everyone) == sorted(stored)
    names = [p["name"] for p in everyone]
    assert names == sorted(names, key=str.lower)


# ---------------------------------------------------------------------------
# Partner figures


def _lead(client, account, **fields):
    r = client.post("/v1/leads", json={"title": f"Lead {_uid()}", **fields},
                    headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_stats_count_the_partners_leads_by_stage_and_status(client, settings, world, db):
    partner = _fresh_partner(client, world)
    enable_payouts(db, partner["id"])  # so a non_fit stage lists
    admin = _fresh_user(client, settings, world, "admin", partner["id"])
    _lead(client, admin)
    _lead(client, admin, stage="new")
    contacted = _lead(client, admin, stage="contacted")
    _lead(client, admin, stage="non_fit")  # listed automatically
    _lead(client, admin, stage="proposal", status="archived")
    _lead(client, world.owner, partner_id=partner["id"], stage="won", status="listed")
    _lead(client, world.admin_b, stage="lost")  # another partner's: not counted
    moved = client.patch(f"/v1/leads/{contacted['id']}", json={"stage": "meeting_held"},
                         headers=admin.headers)
    assert moved.status_code == 200

    stats = client.get(f"/v1/partners/{partner['id']}/stats", headers=admin.headers)
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["partner_id"] == partner["id"]
    assert body["leads_total"] == 6
    assert body["leads_by_stage"] == {
        "new": 2, "meeting_held": 1, "non_fit": 1, "proposal": 1, "won": 1
    }
    assert body["leads_by_status"] == {"open": 3, "listed": 2, "archived": 1}
    assert body["reservations_by_status"] == {}
    assert body["purchases"] == {
        "bought_count": 0, "bought_cents": 0, "sold_count": 0, "sold_cents": 0
    }
    # The figures agree with the lead list the same admin sees.
    listed = client.get("/v1/leads", params={"limit": 200}, headers=admin.headers).json()
    assert len(listed["items"]) == body["leads_total"]
    assert len([x for x in listed["items"] if x["status"] == "listed"]) == 2
    # The owner sees the same figures.
    by_owner = client.get(f"/v1/partners/{partner['id']}/stats", headers=world.owner.headers)
    assert by_owner.json() == body


def test_stats_of_a_partner_without_leads_are_zero(client, world):
    partner = _fresh_partner(client, world)
    body = client.get(f"/v1/partners/{partner['id']}/stats", headers=world.owner.headers).json()
    assert body == {
        "partner_id": partner["id"],
        "leads_total": 0,
        "leads_by_stage": {},
        "leads_by_status": {},
        "reservations_by_status": {},
        "purchases": {"bought_count": 0, "bought_cents": 0, "sold_count": 0, "sold_cents": 0},
    }


def test_stats_of_an_unknown_partner_is_404(client, world):
    r = client.get("/v1/partners/no-such-partner/stats", headers=world.owner.headers)
    assert r.status_code == 404
