"""API tokens and the public routes: shown once, hashed at rest, scoped to one
partner and role, revocable, rate-limited (429 + Retry-After), ``last_used_at``."""

from __future__ import annotations

from datetime import timedelta

from pc_core import collections as c
from pc_core.security.opaque_tokens import hash_secret
from pc_core.settings import Settings
from pc_core.timeutil import utcnow
from tests.test_sessions import commands_of, counting_client


def _token(client, account, **body) -> dict:
    r = client.post("/v1/api-tokens", json={"name": "script", **body}, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _key(token: dict) -> dict[str, str]:
    return {"X-API-Key": token["token"]}


def _lead(client, account, title: str) -> dict:
    r = client.post("/v1/leads", json={"title": title}, headers=account.headers)
    assert r.status_code == 201
    return r.json()


def test_token_is_shown_once_and_stored_hashed(client, world, db):
    created = _token(client, world.admin_a, role="admin")
    token = created["token"]
    assert token.startswith("pc_") and created["prefix"] == token[:11]
    assert created["partner_id"] == world.partner_a and created["role"] == "admin"
    doc = db[c.API_TOKENS].find_one({"_id": created["id"]})
    secret = token.split(".", 1)[1]
    assert doc["secret_hash"] == hash_secret(secret)
    assert secret not in str(doc) and token not in str(doc)
    listed = client.get("/v1/api-tokens", headers=world.admin_a.headers).json()
    assert [t["id"] for t in listed] == [created["id"]]
    assert "token" not in listed[0] and "secret_hash" not in listed[0]
    assert client.get("/v1/api-tokens", headers=world.admin_b.headers).json() == []


def test_roles_for_creating_tokens(client, world):
    r = client.post("/v1/api-tokens", json={"name": "x"}, headers=world.user_a.headers)
    assert r.status_code == 403
    r = client.post("/v1/api-tokens", json={"name": "x", "role": "owner"},
                    headers=world.admin_a.headers)
    assert r.status_code == 403
    r = client.post("/v1/api-tokens", json={"name": "x", "partner_id": world.partner_b},
                    headers=world.admin_a.headers)
    assert r.status_code == 404
    owner_made = _token(client, world.owner, role="admin", partner_id=world.partner_b)
    assert owner_made["partner_id"] == world.partner_b


def test_public_leads_are_scoped_to_the_tokens_partner(client, world):
    mine = _lead(client, world.admin_a, "Mine")
    _lead(client, world.admin_b, "Theirs")
    key = _key(_token(client, world.admin_a, role="user"))
    page = client.get("/v1/public/leads", headers=key)
    assert page.status_code == 200
    assert [i["id"] for i in page.json()["items"]] == [mine["id"]]
    # Asking for another partner's leads through the token looks like nothing there.
    assert client.get("/v1/public/leads", headers=key).json()["items"][0]["partner_id"] \
        == world.partner_a


def test_admin_token_creates_leads_user_token_cannot(client, world, db):
    admin_key = _key(_token(client, world.admin_a, role="admin"))
    user_key = _key(_token(client, world.admin_a, role="user"))
    r = client.post("/v1/public/leads", json={"title": "From a script", "stage": "new"},
                    headers=admin_key)
    assert r.status_code == 201, r.text
    assert r.json()["partner_id"] == world.partner_a and r.json()["source"] == "api"
    assert client.post("/v1/public/leads", json={"title": "No"}, headers=user_key).status_code \
        == 403
    other = client.post("/v1/public/leads", json={"title": "x", "partner_id": world.partner_b},
                        headers=admin_key)
    assert other.status_code == 404
    assert db[c.LEADS].count_documents({"partner_id": world.partner_b}) == 0


def test_public_listings(client, world):
    lead = _lead(client, world.admin_b, "Listed elsewhere")
    client.patch(f"/v1/leads/{lead['id']}", json={"status": "listed"},
                 headers=world.admin_b.headers)
    key = _key(_token(client, world.admin_a))
    page = client.get("/v1/public/marketplace/listings", headers=key)
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    assert [i["id"] for i in items] == [lead["id"]]
    assert "title" not in items[0] and items[0]["own"] is False


def test_bad_and_revoked_tokens_are_refused(client, world):
    created = _token(client, world.admin_a)
    assert client.get("/v1/public/leads").status_code == 401
    assert client.get("/v1/public/leads", headers={"X-API-Key": "nonsense"}).status_code == 401
    forged = created["token"].rsplit(".", 1)[0] + ".wrong-secret"
    assert client.get("/v1/public/leads", headers={"X-API-Key": forged}).status_code == 401
    assert client.get("/v1/public/leads", headers=_key(created)).status_code == 200
    # Another partner's admin cannot see or revoke it.
    assert client.delete(f"/v1/api-tokens/{created['id']}",
                         headers=world.admin_b.headers).status_code == 404
    assert client.delete(f"/v1/api-tokens/{created['id']}",
                         headers=world.user_a.headers).status_code == 403
    assert client.delete(f"/v1/api-tokens/{created['id']}",
                         headers=world.admin_a.headers).status_code == 204
    r = client.get("/v1/public/leads", headers=_key(created))
    assert r.status_code == 401
    listed = client.get("/v1/api-tokens", headers=world.admin_a.headers).json()
    assert listed[0]["active"] is False and listed[0]["revoked_at"]
    # A session's bearer token is not an API key, nor the other way round.
    assert client.get("/v1/public/leads", headers=world.admin_a.headers).status_code == 401
    assert client.get("/v1/leads", headers={"Authorization": f"Bearer {created['token']}"}) \
        .status_code == 401


def test_rate_limit_answers_429_with_retry_after(client, world, settings: Settings):
    key = _key(_token(client, world.admin_a))
    limit = settings.api_token_rate_limit
    for _ in range(limit):
        assert client.get("/v1/public/leads", params={"limit": 1}, headers=key).status_code \
            == 200
    r = client.get("/v1/public/leads", headers=key)
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= settings.api_token_rate_window_seconds
    # The limit is per token: another token of the same partner still works.
    assert client.get("/v1/public/leads", headers=_key(_token(client, world.admin_a))) \
        .status_code == 200


def test_owner_sets_a_tokens_own_limit(client, world):
    token = _token(client, world.owner, partner_id=world.partner_a, rate_limit_per_minute=2)
    codes = [client.get("/v1/public/leads", headers=_key(token)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_last_used_at_is_written_at_most_once_a_minute(client, world, db, redis_conn):
    created = _token(client, world.admin_a)
    assert db[c.API_TOKENS].find_one({"_id": created["id"]})["last_used_at"] is None
    client.get("/v1/public/leads", headers=_key(created))
    first = db[c.API_TOKENS].find_one({"_id": created["id"]})
    assert first["last_used_at"] is not None and first["rev"] == 2
    for _ in range(3):
        client.get("/v1/public/leads", headers=_key(created))
    assert db[c.API_TOKENS].find_one({"_id": created["id"]})["rev"] == 2
    # A minute later (the once-a-minute mark in Redis gone) the next request records
    # again (a date, not a string).
    db[c.API_TOKENS].replace_one({"_id": created["id"]},
                                 {**first, "last_used_at": utcnow() - timedelta(minutes=2)})
    redis_conn.delete(f"api-token-used:{created['id']}")
    client.get("/v1/public/leads", headers=_key(created))
    after = db[c.API_TOKENS].find_one({"_id": created["id"]})
    assert after["rev"] == 3 and after["last_used_at"] > first["last_used_at"] - timedelta(1)


def test_a_public_list_page_is_one_database_command(settings, db, redis_conn, world):
    """As for a session (tests/test_sessions.py): once the token's check is kept in
    Redis, the page's own query is the only MongoDB command; a revoke is seen at once."""
    with counting_client(settings, db) as (client, commands):
        created = _token(client, world.admin_a)
        for url in ("/v1/public/leads?limit=20", "/v1/public/marketplace/listings?limit=20"):
            client.get(url, headers=_key(created))  # first use: token read, use recorded
            page = []
            seen = commands_of(commands, lambda url=url: page.append(
                client.get(url, headers=_key(created))))
            assert page[0].status_code == 200, page[0].text
            assert len(seen) == 1, (url, seen)
        assert client.delete(f"/v1/api-tokens/{created['id']}",
                             headers=world.admin_a.headers).status_code == 204
        assert client.get("/v1/public/leads", headers=_key(created)).status_code == 401
