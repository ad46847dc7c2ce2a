"""Session revocation: a password change or reset, a deactivation and "sign out
everywhere" end every session of the user at once — the refresh tokens stop
refreshing and the access tokens already issued stop authenticating."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator

import redis
from fastapi.testclient import TestClient
from pymongo import monitoring

from pc_api.main import create_app
from pc_core import collections as c
from pc_core.db import register_command_listener
from pc_core.identity import session_cache, session_state
from pc_dev import devstack
from tests.conftest import PASSWORD, csrf_headers

NEW_PASSWORD = "a-brand-new-passphrase"


def sign_in(client, email: str, password: str = PASSWORD) -> dict:
    """A token client's sign-in: access and refresh token from the body."""
    r = client.post("/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return r.json()


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def refresh(client, tokens: dict):
    r = client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    client.cookies.clear()
    return r


def assert_revoked(client, tokens: dict) -> None:
    """Refused by the routes that read the user (``/me``) and by the others, which
    take the caller from its sign-in state in Redis (a list page)."""
    page = client.get("/v1/leads", headers=bearer(tokens))
    assert page.status_code == 401, page.text
    me = client.get("/v1/auth/me", headers=bearer(tokens))
    assert me.status_code == 401, me.text
    assert refresh(client, tokens).status_code == 401


def assert_alive(client, tokens: dict) -> None:
    assert client.get("/v1/auth/me", headers=bearer(tokens)).status_code == 200
    assert client.get("/v1/partners", headers=bearer(tokens)).status_code == 200


def test_password_change_by_an_admin_ends_every_session(client, world, db):
    first, second = sign_in(client, world.user_a.email), sign_in(client, world.user_a.email)
    bystander = sign_in(client, world.user_b.email)
    r = client.patch(f"/v1/users/{world.user_a.id}", json={"password": NEW_PASSWORD},
                     headers=world.admin_a.headers)
    assert r.status_code == 200, r.text
    assert_revoked(client, first)
    assert_revoked(client, second)
    assert_alive(client, bystander)
    assert refresh(client, bystander).status_code == 200
    # Every sign-in of the user is marked revoked, not only refused.
    families = list(db[c.REFRESH_FAMILIES].find({"user_id": world.user_a.id}))
    assert len(families) == 2 and all(f["revoked_at"] is not None for f in families)
    # The new password signs in again.
    assert_alive(client, sign_in(client, world.user_a.email, NEW_PASSWORD))


def test_changing_ones_own_password_ends_that_session_too(client, world):
    tokens = sign_in(client, world.admin_b.email)
    r = client.patch(f"/v1/users/{world.admin_b.id}", json={"password": NEW_PASSWORD},
                     headers=bearer(tokens))
    assert r.status_code == 200, r.text
    assert_revoked(client, tokens)


def test_other_changes_keep_sessions(client, world):
    tokens = sign_in(client, world.user_a.email)
    r = client.patch(f"/v1/users/{world.user_a.id}", json={"name": "Renamed"},
                     headers=world.admin_a.headers)
    assert r.status_code == 200
    assert_alive(client, tokens)
    assert refresh(client, tokens).status_code == 200


def test_deactivation_ends_sessions_and_reactivation_does_not_revive_them(client, world):
    tokens = sign_in(client, world.user_a.email)
    url = f"/v1/users/{world.user_a.id}"
    assert client.patch(url, json={"active": False},
                        headers=world.admin_a.headers).status_code == 200
    assert client.patch(url, json={"active": True},
                        headers=world.admin_a.headers).status_code == 200
    assert_revoked(client, tokens)
    assert_alive(client, sign_in(client, world.user_a.email))


def test_logout_all_with_bearer(client, world):
    here, elsewhere = sign_in(client, world.admin_a.email), sign_in(client, world.admin_a.email)
    other_user = sign_in(client, world.user_a.email)
    r = client.post("/v1/auth/logout-all", headers=bearer(here))
    assert r.status_code == 204
    assert_revoked(client, here)
    assert_revoked(client, elsewhere)
    assert_alive(client, other_user)
    assert client.post("/v1/auth/logout-all", headers=bearer(here)).status_code == 401
    assert client.post("/v1/auth/logout-all").status_code == 401


def test_logout_all_from_the_browser_needs_csrf_and_clears_cookies(client, world):
    elsewhere = sign_in(client, world.user_b.email)
    r = client.post("/v1/auth/login", json={"email": world.user_b.email, "password": PASSWORD})
    assert r.status_code == 200
    assert client.post("/v1/auth/logout-all").status_code == 403  # cookie without the header
    r = client.post("/v1/auth/logout-all", headers=csrf_headers(client))
    assert r.status_code == 204
    cleared = {raw.split("=", 1)[0] for raw in r.headers.get_list("set-cookie")
               if "Max-Age=0" in raw or 'max-age=0' in raw.lower()}
    assert {"pc_access", "pc_refresh", "pc_csrf"} <= cleared
    assert_revoked(client, elsewhere)


def test_pc_create_owner_reset_ends_the_owners_sessions(client, db, settings):
    env = {**os.environ, "MONGODB_URI": settings.mongodb_uri, "MONGODB_DB": settings.mongodb_db,
           "REDIS_URL": settings.redis_url, "PC_ENV": "development"}

    def create_owner(password: str) -> None:
        done = subprocess.run(
            [devstack.venv_bin("pc"), "create-owner", "--email", "boss@example.com",
             "--password", password], env=env, capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    create_owner("first-password")
    tokens = sign_in(client, "boss@example.com", "first-password")
    assert_alive(client, tokens)
    create_owner("second-password")
    assert_revoked(client, tokens)
    assert_alive(client, sign_in(client, "boss@example.com", "second-password"))


def test_tokens_from_before_versions_still_work(client, world, db):
    """Users and tokens stored before the version existed are at version 0."""
    tokens = sign_in(client, world.user_a.email)
    stored = db[c.USERS].find_one({"_id": world.user_a.id})
    db[c.USERS].replace_one({"_id": stored["_id"]},
                            {k: v for k, v in stored.items() if k != "token_version"})
    assert_alive(client, tokens)
    assert refresh(client, tokens).status_code == 200


class _Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.names: list[str] | None = None

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.names is not None:
            self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@contextlib.contextmanager
def counting_client(settings, db) -> Iterator[tuple[TestClient, _Commands]]:
    """The app on a MongoDB client of its own that reports every command it sends."""
    commands = _Commands()
    register_command_listener(commands)
    # A URI of its own, so the app gets a fresh client that reports to the listener.
    sep = "&" if "?" in settings.mongodb_uri else ("?" if settings.mongodb_uri.count("/") > 2
                                                    else "/?")
    counted = settings.model_copy(
        update={"mongodb_uri": f"{settings.mongodb_uri}{sep}appname=pc-count-{db.name}"})
    with TestClient(create_app(counted)) as client:
        yield client, commands


def commands_of(commands: _Commands, call) -> list[str]:
    commands.names = []
    call()
    seen, commands.names = commands.names, None
    return seen


def test_the_version_check_costs_no_extra_database_call(settings, db, redis_conn, world):
    with counting_client(settings, db) as (client, commands):
        tokens = sign_in(client, world.user_a.email)
        seen = commands_of(commands, lambda: client.get("/v1/auth/me", headers=bearer(tokens)))
    assert seen == ["find"]  # the user document, read anyway to show it


def test_an_authenticated_list_page_is_one_database_command(settings, db, redis_conn, world):
    """The caller comes from its sign-in state in Redis: the page's query is the only
    MongoDB command, for a session token and for the pc_access cookie alike."""
    with counting_client(settings, db) as (client, commands):
        tokens = sign_in(client, world.admin_a.email)
        for url in ("/v1/leads?limit=20", "/v1/marketplace/listings?limit=20"):
            page = []
            seen = commands_of(commands, lambda url=url: page.append(
                client.get(url, headers=bearer(tokens))))
            assert page[0].status_code == 200, page[0].text
            assert len(seen) == 1, (url, seen)
        client.post("/v1/auth/login", json={"email": world.user_b.email, "password": PASSWORD})
        page = []
        seen = commands_of(commands, lambda: page.append(client.get("/v1/leads")))
        assert page[0].status_code == 200 and len(seen) == 1, seen
        # Once the state is gone (expired, Redis restarted, a new process), one read
        # restores it.
        redis_conn.flushdb()
        session_cache.of(redis_conn).forget_all(live=True)
        client.cookies.clear()
        assert len(commands_of(commands, lambda: client.get(
            "/v1/leads", headers=bearer(tokens)))) == 2
        assert len(commands_of(commands, lambda: client.get(
            "/v1/leads", headers=bearer(tokens)))) == 1


def test_a_role_or_partner_change_applies_to_the_next_request(client, world, db):
    tokens = sign_in(client, world.user_a.email)
    assert client.get("/v1/leads", headers=bearer(tokens)).status_code == 200  # state cached
    r = client.patch(f"/v1/users/{world.user_a.id}", json={"role": "admin"},
                     headers=world.admin_a.headers)
    assert r.status_code == 200, r.text
    created = client.post("/v1/leads", json={"title": "Now allowed"}, headers=bearer(tokens))
    assert created.status_code == 201, created.text
    r = client.patch(f"/v1/users/{world.user_a.id}", json={"partner_id": world.partner_b},
                     headers=world.owner.headers)
    assert r.status_code == 200, r.text
    lead = created.json()["id"]
    assert client.get(f"/v1/leads/{lead}", headers=bearer(tokens)).status_code == 404
    assert_alive(client, tokens)  # neither change ends the session


def test_a_deleted_users_token_stops_at_once(client, world):
    tokens = sign_in(client, world.user_a.email)
    assert client.get("/v1/leads", headers=bearer(tokens)).status_code == 200
    assert client.delete(f"/v1/users/{world.user_a.id}",
                         headers=world.admin_a.headers).status_code == 204
    assert client.get("/v1/leads", headers=bearer(tokens)).status_code == 401
    assert client.get("/v1/auth/me", headers=bearer(tokens)).status_code == 401


def test_a_change_published_by_another_process_reaches_this_one(client, world, db, settings,
                                                                 redis_conn):
    """Another API replica deactivates the user: its announcement drops this
    process's copy, so the token stops here too, within moments."""
    tokens = sign_in(client, world.user_a.email)
    assert client.get("/v1/leads", headers=bearer(tokens)).status_code == 200
    local = session_cache.of(redis_conn)
    assert local.live and local.get(world.user_a.id)[0] is not None  # kept here
    before = db[c.USERS].find_one({"_id": world.user_a.id})
    after = {**before, "active": False, "rev": (before.get("rev") or 0) + 1}
    db[c.USERS].replace_one({"_id": before["_id"]}, after)
    elsewhere = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    assert session_state.publish_user(elsewhere, after)
    deadline = time.monotonic() + 5
    while local.get(world.user_a.id)[0] is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client.get("/v1/leads", headers=bearer(tokens)).status_code == 401


def test_without_the_channel_nothing_is_kept(redis_conn, world, db):
    local = session_cache.of(redis_conn)
    _, since = local.get(world.user_a.id)
    local.forget_all(live=False)
    state = session_state.load(db, redis_conn, world.user_a.id)
    local.remember(state, since)
    assert local.get(world.user_a.id)[0] is None
    local.forget_all(live=True)
    _, since = local.get(world.user_a.id)
    local.drop(world.user_a.id)  # a change announced while the state was being read
    local.remember(state, since)
    assert local.get(world.user_a.id)[0] is None


def test_a_stale_state_never_replaces_a_newer_one(db, redis_conn, world):
    """A request that read the user before a change must not publish what it read
    over what the change published (the revision decides)."""
    before = db[c.USERS].find_one({"_id": world.user_a.id})
    after = {**before, "active": False, "rev": (before.get("rev") or 0) + 1}
    session_state.publish_user(redis_conn, after)
    session_state.publish_user(redis_conn, before)
    assert session_state.cached(redis_conn, world.user_a.id).active is False
    session_state.publish_deleted(redis_conn, world.user_a.id)
    session_state.publish_user(redis_conn, after)
    assert session_state.cached(redis_conn, world.user_a.id).version == -1


def test_without_redis_the_state_is_read_from_the_user(db, world):
    unreachable = redis.Redis(port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    assert session_state.cached(unreachable, world.user_a.id) is None
    state = session_state.load(db, unreachable, world.user_a.id)
    assert state.principal(0).partner_id == world.partner_a
