"""Sign-in, cookies, refresh rotation and reuse detection, throttling, logout."""

from __future__ import annotations

from http.cookies import SimpleCookie

import jwt
import pytest
from fastapi.testclient import TestClient

from pc_api.main import create_app
from pc_core import collections as c
from tests.conftest import PASSWORD, csrf_headers


def _cookies(response) -> dict[str, SimpleCookie]:
    out = {}
    for raw in response.headers.get_list("set-cookie"):
        jar = SimpleCookie()
        jar.load(raw)
        for name, morsel in jar.items():
            out[name] = morsel
    return out


def _login(client, email, password=PASSWORD, **kw):
    return client.post("/v1/auth/login", json={"email": email, "password": password}, **kw)


def _token_login(client, email) -> dict:
    """Sign in as a non-browser client does: it keeps the tokens from the body, not
    the cookies (a write with the cookies would need the CSRF header)."""
    body = _login(client, email).json()
    client.cookies.clear()
    return body


def test_login_returns_tokens_and_sets_httponly_cookies(client, world):
    r = _login(client, world.admin_a.email.upper())  # emails are case-insensitive
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 30 * 60
    assert body["user"]["email"] == world.admin_a.email
    assert "password_hash" not in body["user"]
    cookies = _cookies(r)
    access, refresh = cookies["pc_access"], cookies["pc_refresh"]
    assert access["httponly"] and refresh["httponly"]
    assert access["samesite"].lower() == "lax" and refresh["samesite"].lower() == "lax"
    assert int(access["max-age"]) == 30 * 60
    assert int(refresh["max-age"]) == 30 * 24 * 3600
    assert not access["secure"]  # development serves plain http
    # The access cookie alone authenticates.
    me = client.get("/v1/auth/me")
    assert me.status_code == 200 and me.json()["id"] == world.admin_a.id


def test_cookies_are_secure_outside_development(settings, db, redis_conn, world):
    prod_like = settings.model_copy(update={"env": "test"})
    with TestClient(create_app(prod_like)) as client:
        r = _login(client, world.user_a.email)
    assert r.status_code == 200
    cookies = _cookies(r)
    assert cookies["pc_access"]["secure"] and cookies["pc_refresh"]["secure"]


def test_bad_credentials_same_answer_for_unknown_email_and_wrong_password(client, world):
    wrong = _login(client, world.admin_a.email, "nope-nope-nope")
    unknown = _login(client, "nobody@example.com", "nope-nope-nope")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_bearer_header_and_expired_or_forged_tokens(client, world, settings):
    assert client.get("/v1/auth/me", headers=world.user_b.headers).json()["id"] == world.user_b.id
    assert client.get("/v1/auth/me").status_code == 401
    forged = jwt.encode({"sub": world.owner.id, "typ": "access", "iat": 0, "exp": 2**33},
                        "not-the-key", algorithm="HS256")
    r = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    expired = jwt.encode({"sub": world.owner.id, "typ": "access", "iat": 0, "exp": 1},
                         settings.secret_key, algorithm="HS256")
    r = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and r.json()["detail"] == "token expired"


def _token_refresh(client, token):
    r = client.post("/v1/auth/refresh", json={"refresh_token": token})
    client.cookies.clear()  # a token client keeps the body, not the cookies
    return r


def test_refresh_rotates_and_reuse_revokes_the_family(client, world):
    first = _token_login(client, world.admin_b.email)["refresh_token"]
    second = _token_refresh(client, first)
    assert second.status_code == 200
    second_token = second.json()["refresh_token"]
    assert second_token != first
    # The spent token presented again: 401, and the newer token dies with it.
    reuse = _token_refresh(client, first)
    assert reuse.status_code == 401
    after = _token_refresh(client, second_token)
    assert after.status_code == 401
    # A separate sign-in (another family) is unaffected.
    other = _token_login(client, world.admin_b.email)["refresh_token"]
    assert _token_refresh(client, other).status_code == 200


def test_refresh_from_cookie(client, world):
    _login(client, world.user_a.email)
    r = client.post("/v1/auth/refresh", headers=csrf_headers(client))
    assert r.status_code == 200
    assert "pc_access" in _cookies(r)


def test_refresh_rejects_garbage_and_expired(client, world, db):
    assert client.post("/v1/auth/refresh", json={"refresh_token": "x"}).status_code == 401
    assert client.post("/v1/auth/refresh", json={"refresh_token": "a.b"}).status_code == 401
    token = _token_login(client, world.user_a.email)["refresh_token"]
    from datetime import UTC, datetime

    stored = db[c.REFRESH_TOKENS].find_one({"_id": token.split(".")[0]})
    db[c.REFRESH_TOKENS].replace_one(
        {"_id": stored["_id"]}, {**stored, "expires_at": datetime(2000, 1, 1, tzinfo=UTC)}
    )
    assert client.post("/v1/auth/refresh", json={"refresh_token": token}).status_code == 401


def test_logout_revokes_refresh_and_clears_cookies(client, world):
    token = _login(client, world.user_a.email).json()["refresh_token"]
    r = client.post("/v1/auth/logout", headers=csrf_headers(client))
    assert r.status_code == 204
    cleared = _cookies(r)
    assert cleared["pc_access"].value == "" and cleared["pc_refresh"].value == ""
    assert cleared["pc_csrf"].value == ""
    assert client.post("/v1/auth/refresh", json={"refresh_token": token}).status_code == 401


def test_sixth_failure_within_window_is_throttled_with_retry_after(client, world):
    for _ in range(5):
        assert _login(client, world.admin_a.email, "wrong-password").status_code == 401
    r = _login(client, world.admin_a.email, "wrong-password")
    assert r.status_code == 429
    assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
    # Even the right password is refused until the window ends.
    assert _login(client, world.admin_a.email).status_code == 429
    # Other accounts are not affected.
    assert _login(client, world.admin_b.email).status_code == 200


def test_success_resets_the_failure_count(client, world):
    for _ in range(4):
        _login(client, world.user_b.email, "wrong-password")
    assert _login(client, world.user_b.email).status_code == 200
    for _ in range(5):
        assert _login(client, world.user_b.email, "wrong-password").status_code == 401


def test_ip_throttle(settings, db, redis_conn, world):
    strict = settings.model_copy(update={"login_ip_max_failures": 3})
    with TestClient(create_app(strict)) as client:
        for i in range(3):
            assert _login(client, f"x{i}@example.com", "wrong-password").status_code == 401
        assert _login(client, world.user_a.email).status_code == 429


def test_deleted_or_deactivated_user_token_stops_working(client, world, db):
    assert client.get("/v1/auth/me", headers=world.user_a.headers).status_code == 200
    stored = db[c.USERS].find_one({"_id": world.user_a.id})
    db[c.USERS].replace_one({"_id": stored["_id"]}, {**stored, "active": False})
    assert client.get("/v1/auth/me", headers=world.user_a.headers).status_code == 401
    assert _login(client, world.user_a.email).status_code == 401


def test_passwords_are_argon2_hashed(db, world):
    stored = db[c.USERS].find_one({"_id": world.user_a.id})
    assert stored["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in stored["password_hash"]


@pytest.mark.parametrize("body", [{}, {"email": "not-an-email", "password": "x"}])
def test_login_validation_errors_are_422(client, body):
    assert client.post("/v1/auth/login", json=body).status_code == 422
