"""Self-service accounts (issue 18.5): every role, a read-only user included, renames
itself and changes its own password with the current one; the other sessions end,
the one that made the change continues."""

from __future__ import annotations

from pc_core import collections as c
from tests.conftest import PASSWORD, csrf_headers
from tests.test_sessions import NEW_PASSWORD, assert_alive, assert_revoked, bearer, sign_in


def test_a_read_only_user_renames_itself(client, world, db):
    tokens = sign_in(client, world.user_a.email)
    # The managers' route stays closed to it...
    assert client.patch(f"/v1/users/{world.user_a.id}", json={"name": "Nope"},
                        headers=bearer(tokens)).status_code == 403
    # ...its own profile is not.
    r = client.patch("/v1/auth/me", json={"name": "  Ada Lovelace "}, headers=bearer(tokens))
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Ada Lovelace"
    assert client.get("/v1/auth/me", headers=bearer(tokens)).json()["name"] == "Ada Lovelace"
    assert_alive(client, tokens)


def test_profile_edit_refuses_blank_names_and_foreign_fields(client, world):
    tokens = sign_in(client, world.user_a.email)
    assert client.patch("/v1/auth/me", json={"name": "   "},
                        headers=bearer(tokens)).status_code == 400
    # Role and partner are not the caller's to set: the body is refused, nothing changes.
    r = client.patch("/v1/auth/me", json={"name": "X", "role": "owner"}, headers=bearer(tokens))
    assert r.status_code == 422
    assert client.get("/v1/auth/me", headers=bearer(tokens)).json()["role"] == "user"


def test_own_password_change_ends_the_other_sessions_but_not_this_one(client, world, db):
    here, elsewhere = sign_in(client, world.user_a.email), sign_in(client, world.user_a.email)
    r = client.post("/v1/auth/me/password", headers=bearer(here),
                    json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    assert_revoked(client, elsewhere)
    assert_revoked(client, here)  # the old tokens of this device too...
    assert_alive(client, r.json())  # ...but the answer carries its new sign-in
    # The old password no longer signs in; the new one does.
    assert client.post("/v1/auth/login", json={"email": world.user_a.email,
                                               "password": PASSWORD}).status_code == 401
    sign_in(client, world.user_a.email, NEW_PASSWORD)
    stored = db[c.USERS].find_one({"_id": world.user_a.id})
    assert stored["password_hash"].startswith("$argon2id$")


def test_a_wrong_current_password_changes_nothing_and_is_throttled(client, world, db):
    tokens = sign_in(client, world.user_a.email)
    before = db[c.USERS].find_one({"_id": world.user_a.id})["password_hash"]
    statuses = [client.post("/v1/auth/me/password", headers=bearer(tokens),
                            json={"current_password": f"guess-number-{i}",
                                  "new_password": NEW_PASSWORD}).status_code
                for i in range(7)]
    assert statuses[0] == 400
    assert statuses[-1] == 429, statuses  # the sign-in throttle counts these guesses
    assert db[c.USERS].find_one({"_id": world.user_a.id})["password_hash"] == before
    assert_alive(client, tokens)


def test_weak_or_unchanged_new_passwords_are_refused(client, world):
    tokens = sign_in(client, world.user_a.email)
    short = client.post("/v1/auth/me/password", headers=bearer(tokens),
                        json={"current_password": PASSWORD, "new_password": "short"})
    assert short.status_code == 422
    same = client.post("/v1/auth/me/password", headers=bearer(tokens),
                       json={"current_password": PASSWORD, "new_password": PASSWORD})
    assert same.status_code == 400
    assert_alive(client, tokens)


def test_browser_password_change_needs_csrf_and_renews_the_cookies(client, world):
    r = client.post("/v1/auth/login", json={"email": world.user_a.email, "password": PASSWORD})
    assert r.status_code == 200
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert client.post("/v1/auth/me/password", json=body).status_code == 403
    old_access = client.cookies.get("pc_access")
    ok = client.post("/v1/auth/me/password", json=body, headers=csrf_headers(client))
    assert ok.status_code == 200, ok.text
    assert client.cookies.get("pc_access") not in (None, old_access)
    assert client.get("/v1/auth/me").status_code == 200
