"""Who may do what: every /v1/users, /v1/partners and /v1/leads route × role × own
or another partner (api.md, "Roles").

owner: everything, on every partner. admin: its own partner (users, leads,
settings). user: reads its own partner; writes answer 403. Another partner's object
answers 404, exactly like a missing one, so ids cannot be probed. No token: 401.

Each case asserts the status code and what the caller would then see: on success,
the change is really stored (or the right object is returned); on refusal, the
users, partners and leads collections are exactly as before.

One world per module (the fixtures below override conftest's): ~160 cases each
hashing five passwords would take minutes. Cases never depend on one another: each
one creates the leads and users it changes, and only edits harmless fields
(names, websites, stages, notes) of the shared accounts and partners.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo.database import Database

from pc_api.main import create_app
from pc_core import collections as c
from pc_core.access import Role
from pc_core.settings import Settings
from tests.conftest import (
    PASSWORD,
    Account,
    Stores,
    World,
    build_world,
    fresh_settings,
    indexed_db,
)

# ---------------------------------------------------------------------------
# One real world for the whole module (same shape as conftest's `world`, plus a
# plain user on the operator so the owner has a colleague on its own partner).


@dataclass
class MatrixWorld(World):
    op_user: Account


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
def world(db: Database, settings: Settings) -> MatrixWorld:
    return build_world(db, settings, MatrixWorld, op_user=(Role.USER, "operator"))


# ---------------------------------------------------------------------------
# Helpers


OWN, OTHER = "own", "other"
ROLES = ("owner", "admin", "user")


def _uid() -> str:
    return uuid.uuid4().hex[:10]


def _dump(db: Database) -> dict[str, dict[str, Any]]:
    """Everything the routes under test could change."""
    return {
        name: {d["_id"]: d for d in db[name].find({})}
        for name in (c.USERS, c.PARTNERS, c.LEADS)
    }


@dataclass
class Case:
    """One caller (a role) acting on its own partner or on another one."""

    client: TestClient
    db: Database
    world: MatrixWorld
    role: str
    scope: str

    @property
    def actor(self) -> Account:
        return {"owner": self.world.owner, "admin": self.world.admin_a,
                "user": self.world.user_a}[self.role]

    @property
    def headers(self) -> dict[str, str]:
        return self.actor.headers

    @property
    def partner(self) -> str:
        """The partner acted on: the caller's own, or Agency B (which is never the
        caller's own: the owner sits on the operator, admin and user on Agency A)."""
        return self.actor.partner_id if self.scope == OWN else self.world.partner_b

    @property
    def colleague(self) -> Account:
        """An existing account on `partner` other than the caller."""
        if self.scope == OTHER:
            return self.world.user_b
        return {"owner": self.world.op_user, "admin": self.world.user_a,
                "user": self.world.admin_a}[self.role]

    # Arrangement goes through the API as the owner: the contract, not internals.
    def new_lead(self, **fields: Any) -> dict:
        body = {"title": f"Lead {_uid()}", "partner_id": self.partner, **fields}
        r = self.client.post("/v1/leads", json=body, headers=self.world.owner.headers)
        assert r.status_code == 201, r.text
        return r.json()

    def new_user(self, role: str = "user") -> dict:
        body = {"email": f"target-{_uid()}@example.com", "password": PASSWORD,
                "role": role, "partner_id": self.partner}
        r = self.client.post("/v1/users", json=body, headers=self.world.owner.headers)
        assert r.status_code == 201, r.text
        return r.json()


@dataclass(frozen=True)
class Route:
    """How to call one route for a case, and what a success must have changed.

    `arrange` makes the target (returns anything `act` and `verify` need);
    `act` sends the request; `verify` checks the answer and the stored effect.
    """

    name: str
    act: Callable[[Case, Any], Any]
    verify: Callable[[Case, Any, Any], None]
    arrange: Callable[[Case], Any] = lambda case: None


# --- users ------------------------------------------------------------------


def _verify_user_list(case: Case, r, _target) -> None:
    items = r.json()
    ids = {u["id"] for u in items}
    assert case.colleague.id in ids
    assert {u["partner_id"] for u in items} == {case.partner}
    if case.role != "owner":
        assert "owner" not in {u["role"] for u in items}
    assert all("password_hash" not in u for u in items)


def _create_user(case: Case, email: str):
    body = {"email": email, "password": PASSWORD, "role": "user", "partner_id": case.partner}
    return case.client.post("/v1/users", json=body, headers=case.headers)


def _verify_user_created(case: Case, r, email: str) -> None:
    body = r.json()
    assert body["email"] == email and body["partner_id"] == case.partner
    stored = case.db[c.USERS].find_one({"_id": body["id"]})
    assert stored["email"] == email and stored["partner_id"] == case.partner
    assert stored["role"] == "user"


def _verify_user_get(case: Case, r, _target) -> None:
    assert r.json()["id"] == case.colleague.id
    assert r.json()["email"] == case.colleague.email


def _patch_user_name(case: Case, new_name: str):
    return case.client.patch(
        f"/v1/users/{case.colleague.id}", json={"name": new_name}, headers=case.headers
    )


def _verify_user_renamed(case: Case, r, new_name: str) -> None:
    assert r.json()["name"] == new_name
    assert case.db[c.USERS].find_one({"_id": case.colleague.id})["name"] == new_name


def _verify_user_deleted(case: Case, r, target: dict) -> None:
    assert case.db[c.USERS].find_one({"_id": target["id"]}) is None
    again = case.client.get(f"/v1/users/{target['id']}", headers=case.world.owner.headers)
    assert again.status_code == 404


# --- partners ---------------------------------------------------------------


def _verify_partner_get(case: Case, r, _target) -> None:
    assert r.json()["id"] == case.partner


def _patch_website(case: Case, website: str):
    return case.client.patch(
        f"/v1/partners/{case.partner}", json={"website": website}, headers=case.headers
    )


def _verify_website(case: Case, r, website: str) -> None:
    assert r.json()["website"] == website
    assert case.db[c.PARTNERS].find_one({"_id": case.partner})["website"] == website


def _verify_stats(case: Case, r, lead: dict) -> None:
    stats = r.json()
    assert stats["partner_id"] == case.partner
    stored = list(case.db[c.LEADS].find({"partner_id": case.partner}))
    assert stats["leads_total"] == len(stored) >= 1
    assert sum(stats["leads_by_stage"].values()) == len(stored)


# --- leads ------------------------------------------------------------------


def _verify_lead_list(case: Case, r, lead: dict) -> None:
    items = r.json()["items"]
    assert lead["id"] in {item["id"] for item in items}
    assert {item["partner_id"] for item in items} == {case.partner}


def _create_lead(case: Case, title: str):
    return case.client.post(
        "/v1/leads", json={"title": title, "partner_id": case.partner}, headers=case.headers
    )


def _verify_lead_created(case: Case, r, title: str) -> None:
    assert r.json()["partner_id"] == case.partner
    stored = case.db[c.LEADS].find_one({"_id": r.json()["id"]})
    assert stored["title"] == title and stored["partner_id"] == case.partner


def _verify_lead_get(case: Case, r, lead: dict) -> None:
    assert r.json()["id"] == lead["id"] and r.json()["title"] == lead["title"]


def _verify_lead_patched(case: Case, r, lead: dict) -> None:
    assert r.json()["stage"] == "contacted"
    assert case.db[c.LEADS].find_one({"_id": lead["id"]})["stage"] == "contacted"


def _verify_note_added(case: Case, r, lead: dict) -> None:
    assert r.json()["body"] == "called them" and r.json()["author_id"] == case.actor.id
    notes = case.db[c.LEADS].find_one({"_id": lead["id"]})["notes"]
    assert [n["body"] for n in notes] == ["called them"]


def _import(case: Case, title: str):
    return case.client.post(
        "/v1/leads/import",
        files={"file": ("leads.csv", f"title,company\n{title},Acme\n".encode(), "text/csv")},
        data={"partner_id": case.partner},
        headers=case.headers,
    )


def _verify_imported(case: Case, r, title: str) -> None:
    assert r.json() == {"created": 1, "updated": 0, "errors": []}
    stored = list(case.db[c.LEADS].find({"title": title}))
    assert [(d["partner_id"], d["company"]) for d in stored] == [(case.partner, "Acme")]


ROUTES = {
    r.name: r
    for r in [
        Route(
            "GET /v1/users",
            act=lambda case, _: case.client.get(
                "/v1/users", params={"partner_id": case.partner}, headers=case.headers
            ),
            verify=_verify_user_list,
        ),
        Route(
            "POST /v1/users",
            arrange=lambda case: f"new-{_uid()}@example.com",
            act=_create_user,
            verify=_verify_user_created,
        ),
        Route(
            "GET /v1/users/{id}",
            act=lambda case, _: case.client.get(
                f"/v1/users/{case.colleague.id}", headers=case.headers
            ),
            verify=_verify_user_get,
        ),
        Route(
            "PATCH /v1/users/{id}",
            arrange=lambda case: f"Renamed {_uid()}",
            act=_patch_user_name,
            verify=_verify_user_renamed,
        ),
        Route(
            "DELETE /v1/users/{id}",
            arrange=lambda case: case.new_user(),
            act=lambda case, target: case.client.delete(
                f"/v1/users/{target['id']}", headers=case.headers
            ),
            verify=_verify_user_deleted,
        ),
        Route(
            "GET /v1/partners/{id}",
            act=lambda case, _: case.client.get(
                f"/v1/partners/{case.partner}", headers=case.headers
            ),
            verify=_verify_partner_get,
        ),
        Route(
            "PATCH /v1/partners/{id}",
            arrange=lambda case: f"https://{_uid()}.example.com",
            act=_patch_website,
            verify=_verify_website,
        ),
        Route(
            "GET /v1/partners/{id}/stats",
            arrange=lambda case: case.new_lead(),
            act=lambda case, _: case.client.get(
                f"/v1/partners/{case.partner}/stats", headers=case.headers
            ),
            verify=_verify_stats,
        ),
        Route(
            "GET /v1/leads",
            arrange=lambda case: case.new_lead(),
            act=lambda case, _: case.client.get(
                "/v1/leads", params={"partner_id": case.partner, "limit": 200},
                headers=case.headers,
            ),
            verify=_verify_lead_list,
        ),
        Route(
            "POST /v1/leads",
            arrange=lambda case: f"Created {_uid()}",
            act=_create_lead,
            verify=_verify_lead_created,
        ),
        Route(
            "GET /v1/leads/{id}",
            arrange=lambda case: case.new_lead(),
            act=lambda case, lead: case.client.get(
                f"/v1/leads/{lead['id']}", headers=case.headers
            ),
            verify=_verify_lead_get,
        ),
        Route(
            "PATCH /v1/leads/{id}",
            arrange=lambda case: case.new_lead(),
            act=lambda case, lead: case.client.patch(
                f"/v1/leads/{lead['id']}", json={"stage": "contacted"}, headers=case.headers
            ),
            verify=_verify_lead_patched,
        ),
        Route(
            "POST /v1/leads/{id}/notes",
            arrange=lambda case: case.new_lead(),
            act=lambda case, lead: case.client.post(
                f"/v1/leads/{lead['id']}/notes", json={"body": "called them"},
                headers=case.headers,
            ),
            verify=_verify_note_added,
        ),
        Route(
            "POST /v1/leads/import",
            arrange=lambda case: f"Imported {_uid()}",
            act=_import,
            verify=_verify_imported,
        ),
    ]
}

# Expected status per route, for (owner, admin, user) × (own partner, another one).
# The owner's own partner is the operator; "another" is always Agency B.
#
# Naming another partner in a query or body is 404 for every non-owner, readers
# included (pc_core/access.py, ``acting_partner_id``): the same answer for existing
# and made-up ids, so it reveals nothing.
#                                     owner        admin        user
#                                   own other    own other    own other
MATRIX: dict[str, tuple[int, int, int, int, int, int]] = {
    "GET /v1/users":                (200, 200,   200, 404,   200, 404),
    "POST /v1/users":               (201, 201,   201, 404,   403, 404),
    "GET /v1/users/{id}":           (200, 200,   200, 404,   200, 404),
    "PATCH /v1/users/{id}":         (200, 200,   200, 404,   403, 404),
    "DELETE /v1/users/{id}":        (204, 204,   204, 404,   403, 404),
    "GET /v1/partners/{id}":        (200, 200,   200, 404,   200, 404),
    "PATCH /v1/partners/{id}":      (200, 200,   200, 404,   403, 404),
    "GET /v1/partners/{id}/stats":  (200, 200,   200, 404,   200, 404),
    "GET /v1/leads":                (200, 200,   200, 404,   200, 404),
    "POST /v1/leads":               (201, 201,   201, 404,   403, 404),
    "GET /v1/leads/{id}":           (200, 200,   200, 404,   200, 404),
    "PATCH /v1/leads/{id}":         (200, 200,   200, 404,   403, 404),
    "POST /v1/leads/{id}/notes":    (201, 201,   201, 404,   403, 404),
    "POST /v1/leads/import":        (200, 200,   200, 404,   403, 404),
}  # fmt: skip

CASES = [
    pytest.param(route, role, scope, codes[2 * ROLES.index(role) + (scope == OTHER)],
                 id=f"{route} | {role} | {scope}")
    for route, codes in MATRIX.items()
    for role in ROLES
    for scope in (OWN, OTHER)
]


@pytest.mark.parametrize(("route", "role", "scope", "expected"), CASES)
def test_access_matrix(client, db, world, route, role, scope, expected):
    case = Case(client, db, world, role, scope)
    spec = ROUTES[route]
    target = spec.arrange(case)
    before = _dump(db)
    r = spec.act(case, target)
    assert r.status_code == expected, r.text
    if expected < 300:
        spec.verify(case, r, target)
    else:
        assert _dump(db) == before, "a refused request changed something"
        assert isinstance(r.json()["detail"], str)


# ---------------------------------------------------------------------------
# Routes without a partner in the path


@pytest.mark.parametrize("role", ROLES)
def test_partner_list_shows_own_partner_only_except_to_owner(client, world, role):
    case = Case(client, None, world, role, OWN)
    r = client.get("/v1/partners", headers=case.headers)
    assert r.status_code == 200
    ids = [p["id"] for p in r.json()]
    if role == "owner":
        assert {world.operator, world.partner_a, world.partner_b} <= set(ids)
    else:
        assert ids == [world.partner_a]


@pytest.mark.parametrize(("role", "expected"), [("owner", 201), ("admin", 403), ("user", 403)])
def test_only_the_owner_creates_partners(client, db, world, role, expected):
    case = Case(client, db, world, role, OWN)
    name = f"New Agency {_uid()}"
    before = _dump(db)
    r = client.post("/v1/partners", json={"name": name}, headers=case.headers)
    assert r.status_code == expected, r.text
    if expected == 201:
        assert db[c.PARTNERS].find_one({"_id": r.json()["id"]})["name"] == name
    else:
        assert _dump(db) == before


@pytest.mark.parametrize("role", ["admin", "user"])
def test_lists_without_a_filter_stay_on_the_callers_partner(client, db, world, role):
    case = Case(client, db, world, role, OWN)
    case.new_lead()
    Case(client, db, world, role, OTHER).new_lead()
    users = client.get("/v1/users", headers=case.headers).json()
    leads = client.get("/v1/leads", params={"limit": 200}, headers=case.headers).json()
    assert {u["partner_id"] for u in users} == {world.partner_a}
    assert {world.admin_a.id, world.user_a.id} <= {u["id"] for u in users}
    assert {lead["partner_id"] for lead in leads["items"]} == {world.partner_a}


def test_owner_lists_everyone_and_every_lead(client, world):
    users = client.get("/v1/users", headers=world.owner.headers).json()
    assert {world.owner.id, world.admin_a.id, world.user_b.id} <= {u["id"] for u in users}
    Case(client, None, world, "owner", OTHER).new_lead()
    leads = client.get("/v1/leads", params={"limit": 200}, headers=world.owner.headers).json()
    assert {world.partner_b} <= {lead["partner_id"] for lead in leads["items"]}


# ---------------------------------------------------------------------------
# Who may hand out which role


def _create(client, actor: Account, role: str, partner_id: str | None):
    body = {"email": f"grant-{_uid()}@example.com", "password": PASSWORD, "role": role}
    if partner_id is not None:
        body["partner_id"] = partner_id
    return client.post("/v1/users", json=body, headers=actor.headers)


@pytest.mark.parametrize(
    ("actor", "role", "expected"),
    [
        ("owner", "owner", 201),
        ("owner", "admin", 201),
        ("admin", "admin", 201),
        ("admin", "user", 201),
        ("admin", "owner", 403),
        ("user", "user", 403),
    ],
)
def test_create_user_with_role(client, db, world, actor, role, expected):
    account = {"owner": world.owner, "admin": world.admin_a, "user": world.user_a}[actor]
    before = _dump(db)
    r = _create(client, account, role, account.partner_id)
    assert r.status_code == expected, r.text
    if expected == 201:
        stored = db[c.USERS].find_one({"_id": r.json()["id"]})
        assert (stored["role"], stored["partner_id"]) == (role, account.partner_id)
    else:
        assert _dump(db) == before


@pytest.mark.parametrize(
    ("actor", "change", "expected"),
    [
        ("owner", {"role": "admin"}, 200),
        ("owner", {"role": "owner"}, 200),
        ("owner", {"partner_id": "partner_b"}, 200),
        ("admin", {"role": "admin"}, 200),
        ("admin", {"role": "owner"}, 403),
        ("admin", {"partner_id": "partner_b"}, 404),  # another partner: 404, as everywhere
        ("user", {"role": "admin"}, 403),
    ],
    ids=lambda v: str(v) if not isinstance(v, dict) else ",".join(f"{k}={x}" for k, x in v.items()),
)
def test_change_role_or_partner(client, db, world, actor, change, expected):
    account = {"owner": world.owner, "admin": world.admin_a, "user": world.user_a}[actor]
    target = Case(client, db, world, "admin", OWN).new_user("user")  # a user of Agency A
    if "partner_id" in change:
        change = {"partner_id": getattr(world, change["partner_id"])}
    before = _dump(db)
    r = client.patch(f"/v1/users/{target['id']}", json=change, headers=account.headers)
    assert r.status_code == expected, r.text
    stored = db[c.USERS].find_one({"_id": target["id"]})
    if expected == 200:
        for field, value in change.items():
            assert stored[field] == value and r.json()[field] == value
    else:
        assert _dump(db) == before


def test_role_change_applies_to_the_next_request(client, world):
    case = Case(client, None, world, "admin", OWN)
    target = case.new_user("user")
    token = client.post(
        "/v1/auth/login", json={"email": target["email"], "password": PASSWORD}
    ).json()["access_token"]
    client.cookies.clear()  # the shared client must not stay signed in
    headers = {"Authorization": f"Bearer {token}"}
    lead = case.new_lead()
    patch = {"stage": "proposal"}
    assert client.patch(f"/v1/leads/{lead['id']}", json=patch, headers=headers).status_code == 403
    promoted = client.patch(
        f"/v1/users/{target['id']}", json={"role": "admin"}, headers=world.admin_a.headers
    )
    assert promoted.status_code == 200
    assert client.patch(f"/v1/leads/{lead['id']}", json=patch, headers=headers).status_code == 200


# ---------------------------------------------------------------------------
# Another partner's object looks exactly like a missing one


PROBES = [
    ("GET", "/v1/users/{user}", None),
    ("PATCH", "/v1/users/{user}", {"name": "x"}),
    ("DELETE", "/v1/users/{user}", None),
    ("GET", "/v1/partners/{partner}", None),
    ("PATCH", "/v1/partners/{partner}", {"website": "https://x.example.com"}),
    ("GET", "/v1/partners/{partner}/stats", None),
    ("GET", "/v1/leads/{lead}", None),
    ("PATCH", "/v1/leads/{lead}", {"stage": "won"}),
    ("POST", "/v1/leads/{lead}/notes", {"body": "hello"}),
    ("GET", "/v1/users?partner_id={partner}", None),
    ("GET", "/v1/leads?partner_id={partner}", None),
]


@pytest.mark.parametrize("role", ["admin", "user"])
@pytest.mark.parametrize(("method", "path", "body"), PROBES, ids=[f"{m} {p}" for m, p, _ in PROBES])
def test_other_partners_ids_answer_like_missing_ones(client, db, world, role, method, path, body):
    case = Case(client, db, world, role, OTHER)
    real = {"user": world.user_b.id, "partner": world.partner_b,
            "lead": case.new_lead()["id"]}
    made_up = dict.fromkeys(real, f"missing{_uid()}")
    before = _dump(db)
    hit = client.request(method, path.format(**real), json=body, headers=case.headers)
    miss = client.request(method, path.format(**made_up), json=body, headers=case.headers)
    assert hit.status_code == miss.status_code == 404
    assert hit.json() == miss.json()
    assert _dump(db) == before


# ---------------------------------------------------------------------------
# No token, or a bad one: 401 everywhere


UNAUTHENTICATED = [
    ("GET", "/v1/users", None),
    ("POST", "/v1/users", {"email": "x@example.com", "password": PASSWORD}),
    ("GET", "/v1/users/{user}", None),
    ("PATCH", "/v1/users/{user}", {"name": "x"}),
    ("DELETE", "/v1/users/{user}", None),
    ("GET", "/v1/partners", None),
    ("POST", "/v1/partners", {"name": "Sneaky"}),
    ("GET", "/v1/partners/{partner}", None),
    ("PATCH", "/v1/partners/{partner}", {"website": "https://x.example.com"}),
    ("GET", "/v1/partners/{partner}/stats", None),
    ("GET", "/v1/leads", None),
    ("POST", "/v1/leads", {"title": "x"}),
    ("GET", "/v1/leads/{lead}", None),
    ("PATCH", "/v1/leads/{lead}", {"stage": "won"}),
    ("POST", "/v1/leads/{lead}/notes", {"body": "x"}),
    ("POST", "/v1/leads/import", "csv"),
]


@pytest.mark.parametrize("token", [None, "not-a-jwt"], ids=["no token", "garbage token"])
@pytest.mark.parametrize(
    ("method", "path", "body"), UNAUTHENTICATED, ids=[f"{m} {p}" for m, p, _ in UNAUTHENTICATED]
)
def test_unauthenticated_is_401(client, db, world, method, path, body, token):
    lead = Case(client, db, world, "admin", OWN).new_lead()
    url = path.format(user=world.user_a.id, partner=world.partner_a, lead=lead["id"])
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if body == "csv":
        kwargs["files"] = {"file": ("leads.csv", b"title\nSneaky\n", "text/csv")}
    elif body is not None:
        kwargs["json"] = body
    before = _dump(db)
    r = client.request(method, url, **kwargs)
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert _dump(db) == before


# ---------------------------------------------------------------------------
# Lead rules met while building the matrix.


@pytest.mark.parametrize("field", ["title", "stage"])
def test_lead_patch_with_null_for_a_required_field_is_refused(client, db, world, field):
    lead = Case(client, db, world, "admin", OWN).new_lead()
    try:
        r = client.patch(
            f"/v1/leads/{lead['id']}", json={field: None}, headers=world.admin_a.headers
        )
        assert r.status_code in (400, 422), r.text
        assert client.get(f"/v1/leads/{lead['id']}", headers=world.admin_a.headers).json() == lead
    finally:
        # The shared world must not keep an unreadable lead whatever happened above.
        db[c.LEADS].delete_one({"_id": lead["id"]})


def test_created_lead_answers_like_a_later_read(client, db, world):
    lead = Case(client, db, world, "admin", OWN).new_lead()
    assert client.get(f"/v1/leads/{lead['id']}", headers=world.admin_a.headers).json() == lead
