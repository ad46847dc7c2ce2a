"""CSRF for cookie sessions: an unsafe request authenticated by the session cookie
needs ``X-CSRF-Token`` = the ``pc_csrf`` cookie and a same-origin Origin/Referer;
bearer tokens, API tokens and webhooks are unaffected."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest
from fastapi.testclient import TestClient

from pc_api.main import create_app
from pc_core import collections as c
from tests.conftest import PASSWORD, csrf_headers

ORIGIN = "http://testserver"
EVIL = "https://evil.example"
CSV = "title,company,external_id\nAcme,Acme Inc,C1\n"


def browser_login(client: TestClient, account) -> None:
    r = client.post("/v1/auth/login", json={"email": account.email, "password": PASSWORD},
                    headers={"Origin": ORIGIN})
    assert r.status_code == 200, r.text


def rename(client: TestClient, account, name: str, headers: dict[str, str] | None = None):
    return client.patch(f"/v1/users/{account.id}", json={"name": name}, headers=headers or {})


def refused(response) -> bool:
    return (response.status_code == 403
            and response.json()["detail"].startswith("CSRF check failed: "))


def test_login_sets_a_readable_csrf_cookie(client, world):
    r = client.post("/v1/auth/login", json={"email": world.admin_a.email, "password": PASSWORD})
    morsels = {}
    for raw in r.headers.get_list("set-cookie"):
        jar = SimpleCookie()
        jar.load(raw)
        morsels.update(jar)
    csrf = morsels["pc_csrf"]
    assert len(csrf.value) >= 32 and not csrf["httponly"]
    assert csrf["samesite"].lower() == "lax" and csrf["path"] == "/"
    # Refresh issues a new one with the new session.
    again = client.post("/v1/auth/refresh", headers=csrf_headers(client))
    assert again.status_code == 200
    assert client.cookies.get("pc_csrf") not in (None, "", csrf.value)


def test_evil_origin_is_refused_even_with_the_token(client, world, db):
    browser_login(client, world.admin_a)
    r = rename(client, world.admin_a, "Hacked",
               {**csrf_headers(client), "Origin": EVIL})
    assert refused(r) and "evil.example" in r.json()["detail"]
    # A same-site sibling is another origin too.
    r = rename(client, world.admin_a, "Hacked",
               {**csrf_headers(client), "Origin": "http://evil.testserver"})
    assert refused(r)
    assert db[c.USERS].find_one({"_id": world.admin_a.id})["name"] != "Hacked"


def test_missing_or_wrong_token_is_refused(client, world, db):
    browser_login(client, world.admin_a)
    assert refused(rename(client, world.admin_a, "Hacked", {"Origin": ORIGIN}))
    assert refused(rename(client, world.admin_a, "Hacked",
                          {"Origin": ORIGIN, "X-CSRF-Token": "guessed"}))
    # Neither Origin nor Referer: refused as well.
    assert refused(rename(client, world.admin_a, "Hacked",
                          {"X-CSRF-Token": client.cookies.get("pc_csrf")}))
    assert db[c.USERS].find_one({"_id": world.admin_a.id})["name"] != "Hacked"
    # The refresh and logout routes use the refresh cookie: same rule.
    assert refused(client.post("/v1/auth/refresh", headers={"Origin": ORIGIN}))
    assert refused(client.post("/v1/auth/logout", headers={"Origin": ORIGIN}))


def test_token_and_same_origin_pass(client, world, db):
    browser_login(client, world.admin_a)
    r = rename(client, world.admin_a, "Ada", csrf_headers(client))
    assert r.status_code == 200, r.text
    # Referer stands in for a missing Origin.
    r = rename(client, world.admin_a, "Ada 2",
               {"X-CSRF-Token": client.cookies.get("pc_csrf"),
                "Referer": f"{ORIGIN}/settings/profile"})
    assert r.status_code == 200, r.text
    assert db[c.USERS].find_one({"_id": world.admin_a.id})["name"] == "Ada 2"
    # Reads need nothing.
    assert client.get("/v1/auth/me").status_code == 200


def test_configured_origins_pass(settings, db, redis_conn, world):
    app = create_app(settings.model_copy(update={"allowed_origins": "https://app.example.com"}))
    with TestClient(app) as client:
        browser_login(client, world.admin_a)
        headers = {**csrf_headers(client), "Origin": "https://app.example.com"}
        assert rename(client, world.admin_a, "From the app", headers).status_code == 200
        headers["Origin"] = "https://app.example.com.evil.example"
        assert refused(rename(client, world.admin_a, "x", headers))


def test_bearer_and_cookieless_requests_are_unaffected(client, world):
    browser_login(client, world.admin_a)  # the cookies ride along, but Bearer authenticates
    r = rename(client, world.user_a, "By token", {**world.admin_a.headers, "Origin": EVIL})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    r = rename(client, world.user_a, "No cookies", {**world.admin_a.headers})
    assert r.status_code == 200
    # Without any session the route's own auth answers.
    assert rename(client, world.user_a, "nobody", {"Origin": EVIL}).status_code == 401


def test_multipart_import_by_cookie_needs_the_header(client, world, db):
    browser_login(client, world.admin_a)
    files = {"file": ("leads.csv", CSV.encode(), "text/csv")}
    r = client.post("/v1/leads/import", files=files, headers={"Origin": EVIL})
    assert refused(r)
    r = client.post("/v1/leads/import", files=files, headers={"Origin": ORIGIN})
    assert refused(r)
    assert db[c.LEADS].count_documents({"partner_id": world.partner_a}) == 0
    r = client.post("/v1/leads/import", files=files, headers=csrf_headers(client))
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1


def test_login_from_a_foreign_page_is_refused(client, world):
    body = {"email": world.user_a.email, "password": PASSWORD}
    r = client.post("/v1/auth/login", json=body, headers={"Origin": EVIL})
    assert refused(r)
    assert "pc_access" not in client.cookies
    assert client.post("/v1/auth/login", json=body).status_code == 200  # scripts: no Origin


def test_webhooks_ignore_the_session_cookie(client, world, settings):
    browser_login(client, world.admin_a)
    # Not a CSRF 403: the webhook's own signature check answers.
    r = client.post("/v1/webhooks/stripe", content=b"{}", headers={"Origin": EVIL})
    assert r.status_code == 400
    r = client.post("/v1/meetings/webhooks/chilipiper", content=b"{}", headers={"Origin": EVIL})
    assert r.status_code == 401


@pytest.mark.parametrize("method", ["put", "delete"])
def test_every_unsafe_method_is_checked(client, world, method):
    browser_login(client, world.owner)
    r = client.request(method.upper(), f"/v1/users/{world.user_b.id}",
                       headers={"Origin": EVIL})
    assert refused(r)


def test_openapi_documents_cookie_and_csrf(client):
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["csrfToken"] == {
        "type": "apiKey", "in": "header", "name": "X-CSRF-Token",
        "description": schemes["csrfToken"]["description"]}
    assert schemes["cookieAuth"]["in"] == "cookie"
    patch = spec["paths"]["/v1/users/{user_id}"]["patch"]
    assert {"cookieAuth": [], "csrfToken": []} in patch["security"]
    assert {"HTTPBearer": []} in patch["security"]
    assert "403" in patch["responses"]
    get = spec["paths"]["/v1/users/{user_id}"]["get"]
    assert {"cookieAuth": []} in get["security"]
    assert "X-CSRF-Token" in spec["info"]["description"]
    assert "/v1/auth/logout-all" in spec["paths"]
