"""A ``partner_id`` naming another partner, from anyone but the owner, answers 404 on
every route that takes one in its query, form or body, and changes nothing.

It used to be silently replaced by the caller's own partner on some routes: an admin
sending ``DELETE /v1/integrations/hubspot?partner_id=<other>`` disconnected its own
portal. The rule lives once, in ``Principal.acting_partner_id`` (pc_core/access.py).
``test_every_partner_id_route_is_covered`` keeps the table below complete as routes
are added.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pc_core import collections as c
from pc_core.access import Role
from pc_core.identity import api_tokens
from pc_core.identity.auth import principal_of
from pc_core.timeutil import utcnow
from tests.conftest import PASSWORD, World

WATCHED = (c.USERS, c.PARTNERS, c.LEADS, c.SYNC_TASKS, c.INVOICES)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    send: Callable[[TestClient, dict[str, str], str, World], Any]


def _csv() -> dict[str, Any]:
    return {"file": ("leads.csv", b"title,company\nForeign import,Acme\n", "text/csv")}


CALLS = [
    Call("GET", "/v1/users", lambda cl, h, p, w: cl.get(
        "/v1/users", params={"partner_id": p}, headers=h)),
    Call("POST", "/v1/users", lambda cl, h, p, w: cl.post("/v1/users", headers=h, json={
        "email": "planted@example.com", "password": PASSWORD, "role": "user",
        "partner_id": p})),
    Call("PATCH", "/v1/users/{user_id}", lambda cl, h, p, w: cl.patch(
        f"/v1/users/{w.user_a.id}", json={"partner_id": p}, headers=h)),
    Call("GET", "/v1/leads", lambda cl, h, p, w: cl.get(
        "/v1/leads", params={"partner_id": p}, headers=h)),
    Call("POST", "/v1/leads", lambda cl, h, p, w: cl.post(
        "/v1/leads", json={"title": "Planted", "partner_id": p}, headers=h)),
    Call("POST", "/v1/leads/import", lambda cl, h, p, w: cl.post(
        "/v1/leads/import", data={"partner_id": p}, files=_csv(), headers=h)),
    Call("GET", "/v1/integrations/hubspot/authorize", lambda cl, h, p, w: cl.get(
        "/v1/integrations/hubspot/authorize", params={"partner_id": p}, headers=h)),
    Call("GET", "/v1/integrations/hubspot/status", lambda cl, h, p, w: cl.get(
        "/v1/integrations/hubspot/status", params={"partner_id": p}, headers=h)),
    Call("DELETE", "/v1/integrations/hubspot", lambda cl, h, p, w: cl.delete(
        "/v1/integrations/hubspot", params={"partner_id": p}, headers=h)),
    Call("POST", "/v1/integrations/hubspot/sync", lambda cl, h, p, w: cl.post(
        "/v1/integrations/hubspot/sync", params={"partner_id": p}, headers=h)),
    Call("GET", "/v1/integrations/hubspot/sync-tasks", lambda cl, h, p, w: cl.get(
        "/v1/integrations/hubspot/sync-tasks", params={"partner_id": p}, headers=h)),
    Call("POST", "/v1/api-tokens", lambda cl, h, p, w: cl.post("/v1/api-tokens", headers=h, json={
        "name": "planted", "role": "user", "partner_id": p})),
    Call("GET", "/v1/api-tokens", lambda cl, h, p, w: cl.get(
        "/v1/api-tokens", params={"partner_id": p}, headers=h)),
    Call("GET", "/v1/billing/invoices", lambda cl, h, p, w: cl.get(
        "/v1/billing/invoices", params={"partner_id": p}, headers=h)),
    Call("GET", "/v1/payouts", lambda cl, h, p, w: cl.get(
        "/v1/payouts", params={"partner_id": p}, headers=h)),
    Call("POST", "/v1/payouts/onboarding", lambda cl, h, p, w: cl.post(
        "/v1/payouts/onboarding", params={"partner_id": p}, headers=h)),
    Call("POST", "/v1/meetings/unassigned/{lead_id}/assign", lambda cl, h, p, w: cl.post(
        "/v1/meetings/unassigned/no-such-lead/assign", json={"partner_id": p}, headers=h)),
    Call("POST", "/v1/erasures", lambda cl, h, p, w: cl.post(
        "/v1/erasures", json={"email": "someone@example.com", "partner_id": p}, headers=h)),
    Call("GET", "/v1/meetings/agenda", lambda cl, h, p, w: cl.get(
        "/v1/meetings/agenda", params={"partner_id": p}, headers=h)),
    Call("GET", "/v1/marketplace/price-aging", lambda cl, h, p, w: cl.get(
        "/v1/marketplace/price-aging", params={"partner_id": p}, headers=h)),
    Call("PUT", "/v1/marketplace/price-aging", lambda cl, h, p, w: cl.put(
        "/v1/marketplace/price-aging", params={"partner_id": p}, headers=h,
        json={"enabled": True, "percent": 10, "floor_cents": 0})),
]
# The public API authenticates with X-API-Key; the caller's headers are swapped for
# an API token of the same role on the same partner.
PUBLIC_CALLS = [
    Call("POST", "/v1/public/leads", lambda cl, h, p, w: cl.post(
        "/v1/public/leads", json={"title": "Planted", "partner_id": p}, headers=h)),
]


def _connect_hubspot(db, partner_id: str, portal: str) -> None:
    """A stored connection is enough: the routes under test never call HubSpot."""
    partner = db[c.PARTNERS].find_one({"_id": partner_id})
    hub = {"portal_id": portal, "scopes": [], "access_token": "x", "refresh_token": "x",
           "expires_at": utcnow() + timedelta(hours=1), "last_synced_at": None}
    db[c.PARTNERS].replace_one({"_id": partner_id}, {**partner, "hubspot": hub})


def _dump(db) -> dict[str, dict]:
    return {name: {d["_id"]: d for d in db[name].find({})} for name in WATCHED}


@pytest.fixture
def connected(db, world) -> World:
    _connect_hubspot(db, world.partner_a, "7001")
    _connect_hubspot(db, world.partner_b, "7002")
    return world


def _assert_refused(db, r, before, tokens_before: int) -> None:
    assert r.status_code == 404, r.text
    assert r.json() == {"detail": "partner not found"}
    assert _dump(db) == before, "a refused request changed something"
    assert db[c.API_TOKENS].count_documents({}) == tokens_before
    assert "set-cookie" not in r.headers


@pytest.mark.parametrize("who", ["admin_a", "user_a"])
@pytest.mark.parametrize("foreign", ["partner_b", "made-up"])
@pytest.mark.parametrize("call", CALLS, ids=lambda call: f"{call.method} {call.path}")
def test_foreign_partner_id_is_404_and_changes_nothing(client, db, connected, who, foreign,
                                                        call):
    world = connected
    partner = world.partner_b if foreign == "partner_b" else "no-such-partner"
    before = _dump(db)
    tokens = db[c.API_TOKENS].count_documents({})
    r = call.send(client, getattr(world, who).headers, partner, world)
    _assert_refused(db, r, before, tokens)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.USER])
@pytest.mark.parametrize("call", PUBLIC_CALLS, ids=lambda call: f"{call.method} {call.path}")
def test_foreign_partner_id_through_the_public_api_is_404(client, db, connected, role, call):
    world = connected
    admin = principal_of(db[c.USERS].find_one({"_id": world.admin_a.id}))
    key = api_tokens.create_token(db, admin, name="script", role=role).token
    before = _dump(db)
    tokens = db[c.API_TOKENS].count_documents({})
    r = call.send(client, {"X-API-Key": key}, world.partner_b, world)
    _assert_refused(db, r, before, tokens)


def test_admin_naming_another_partner_does_not_disconnect_its_own(client, db, connected):
    """The reviewer's case: the admin's own portal stays connected."""
    world = connected
    r = client.delete("/v1/integrations/hubspot", params={"partner_id": world.partner_b},
                      headers=world.admin_a.headers)
    assert r.status_code == 404
    for partner in (world.partner_a, world.partner_b):
        assert db[c.PARTNERS].find_one({"_id": partner})["hubspot"]["portal_id"]
    # Naming its own partner, or none, still works.
    r = client.delete("/v1/integrations/hubspot", params={"partner_id": world.partner_a},
                      headers=world.admin_a.headers)
    assert r.status_code == 204
    assert db[c.PARTNERS].find_one({"_id": world.partner_a})["hubspot"] is None


@pytest.mark.parametrize("call", CALLS, ids=lambda call: f"{call.method} {call.path}")
def test_the_owner_may_name_any_partner(client, db, connected, call):
    """The same calls by the owner are not refused as foreign (whatever else they
    answer: e.g. 409 for a duplicate, 400 for a user moved off every partner)."""
    r = call.send(client, connected.owner.headers, connected.partner_b, connected)
    assert r.status_code != 404 or r.json()["detail"] != "partner not found", r.text


def _partner_id_routes(app) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation taking ``partner_id`` outside its path."""
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    found = set()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            params = [p for p in op.get("parameters", [])
                      if p["name"] == "partner_id" and p["in"] != "path"]
            bodies = []
            for media in op.get("requestBody", {}).get("content", {}).values():
                schema = media.get("schema", {})
                if "$ref" in schema:
                    schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
                bodies.append("partner_id" in schema.get("properties", {}))
            if params or any(bodies):
                found.add((method.upper(), path))
    return found


def test_every_partner_id_route_is_covered(client):
    covered = {(call.method, call.path) for call in CALLS + PUBLIC_CALLS}
    assert _partner_id_routes(client.app) == covered
