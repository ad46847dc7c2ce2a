"""Browser security headers on every answer and CORS for ``PC_CORS_ORIGINS`` only
(issue 21): a page cannot be framed, scripts come only from us (plus Stripe's when
its Payment Element is used), HSTS only over TLS, Server-Timing only in development;
a listed origin may call the API with credentials and still meets the CSRF rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pc_api.main import create_app
from pc_core import collections as c
from pc_core.settings import Settings
from tests.conftest import PASSWORD

APP = "https://app.example.com"
EVIL = "https://evil.example"


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.fixture
def built_dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(
        '<!doctype html><html><head><script type="module" src="/assets/app.js"></script>'
        '</head><body><div id="app"></div></body></html>')
    (tmp_path / "assets" / "app.js").write_text("console.log(1)")
    return tmp_path


def app_client(settings: Settings, **overrides) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=overrides)))


def test_every_answer_carries_the_headers(settings, db, redis_conn, built_dist):
    with app_client(settings, web_dist=built_dist) as client:
        answers = [client.get("/", headers={"Accept": "text/html"}),
                   client.get("/assets/app.js"), client.get("/health"),
                   client.get("/v1/leads"),  # 401
                   client.post("/v1/auth/login", json={"email": "x@y.z", "password": "p"},
                               headers={"Origin": EVIL})]  # the CSRF refusal
        for r in answers:
            assert r.headers["x-frame-options"] == "DENY", r.url
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "same-origin"
            policy = directives(r.headers["content-security-policy"])
            assert policy["frame-ancestors"] == ["'none'"]
            assert policy["script-src"] == ["'self'"], "no inline script, no other host"
            assert "'unsafe-inline'" not in policy["style-src"]
            assert policy["object-src"] == ["'none'"]
            # Plain http: no HSTS (a browser would pin a site that has no TLS).
            assert "strict-transport-security" not in r.headers
        assert answers[3].status_code == 401 and answers[4].status_code == 403


def test_sandbox_payments_may_be_confirmed_and_stripe_js_only_when_used(settings, db,
                                                                      redis_conn):
    with app_client(settings) as client:
        policy = directives(client.get("/health").headers["content-security-policy"])
    assert policy["connect-src"] == ["'self'", "http://127.0.0.1:8090"]
    assert policy["frame-src"] == ["'none'"]
    with app_client(settings, stripe_api_base="https://api.stripe.com") as client:
        policy = directives(client.get("/health").headers["content-security-policy"])
    assert "https://js.stripe.com" in policy["script-src"] and "'self'" in policy["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "https://hooks.stripe.com" in policy["frame-src"]
    assert "https://api.stripe.com" in policy["connect-src"]


def test_api_docs_allow_exactly_their_own_inline_script(client):
    r = client.get("/docs")
    assert r.status_code == 200 and "<script>" in r.text
    policy = directives(r.headers["content-security-policy"])
    hashes = [v for v in policy["script-src"] if v.startswith("'sha256-")]
    assert len(hashes) == 1 and "'unsafe-inline'" not in policy["script-src"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_hsts_only_over_tls_as_a_trusted_proxy_reports_it(settings, db, redis_conn):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    # The TestClient's peer is "testclient": trusted only when listed.
    with app_client(settings) as client:
        assert "strict-transport-security" not in client.get("/health", headers=forwarded).headers
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        assert client.get("/health").headers["strict-transport-security"].startswith("max-age=")


def test_server_timing_only_in_development(settings, db, redis_conn):
    with app_client(settings) as client:
        assert "server-timing" in client.get("/health").headers
    with app_client(settings, env="test") as client:
        assert "server-timing" not in client.get("/health").headers


def test_no_cors_by_default(client):
    r = client.get("/health", headers={"Origin": APP})
    assert "access-control-allow-origin" not in r.headers
    pre = client.options("/v1/leads", headers={"Origin": APP,
                                              "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in pre.headers


def test_listed_origin_gets_cors_with_credentials_and_still_meets_csrf(settings, db,
                                                                      redis_conn, world):
    with app_client(settings, cors_origins=f"{APP}/") as client:
        pre = client.options(f"/v1/users/{world.admin_a.id}", headers={
            "Origin": APP, "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "content-type,x-csrf-token"})
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == APP
        assert pre.headers["access-control-allow-credentials"] == "true"
        assert "PATCH" in pre.headers["access-control-allow-methods"]
        # Another origin is not let in.
        evil = client.options("/v1/leads", headers={"Origin": EVIL,
                                                   "Access-Control-Request-Method": "GET"})
        assert evil.status_code == 400 and "access-control-allow-origin" not in evil.headers

        login = client.post("/v1/auth/login", headers={"Origin": APP},
                            json={"email": world.admin_a.email, "password": PASSWORD})
        assert login.status_code == 200
        assert login.headers["access-control-allow-origin"] == APP
        token = login.headers["x-csrf-token"]
        assert token == client.cookies.get("pc_csrf")
        assert "x-csrf-token" in login.headers["access-control-expose-headers"].lower()

        url = f"/v1/users/{world.admin_a.id}"
        # Cookie session without the token: refused, and the listed origin can read why.
        r = client.patch(url, json={"name": "Hacked"}, headers={"Origin": APP})
        assert r.status_code == 403 and r.headers["access-control-allow-origin"] == APP
        # A foreign origin with the token: refused, and gets no CORS header.
        r = client.patch(url, json={"name": "Hacked"},
                         headers={"Origin": EVIL, "X-CSRF-Token": token})
        assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
        assert db[c.USERS].find_one({"_id": world.admin_a.id})["name"] != "Hacked"
        # The listed origin with the token: the write goes through.
        r = client.patch(url, json={"name": "Ada"},
                         headers={"Origin": APP, "X-CSRF-Token": token})
        assert r.status_code == 200, r.text
        assert db[c.USERS].find_one({"_id": world.admin_a.id})["name"] == "Ada"


@pytest.mark.parametrize("value", ["*", "https://app.example.com/path", "app.example.com",
                                   "https://app.example.com?x=1"])
def test_cors_origins_must_be_exact_origins(value):
    with pytest.raises(ValueError, match="PC_CORS_ORIGINS"):
        Settings(cors_origins=value)
