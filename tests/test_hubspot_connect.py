"""Connecting HubSpot through the sandbox's OAuth flow and the real SDK."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient

from pc_api.main import create_app
from pc_api.routes.hubspot import NONCE_COOKIE
from pc_core import collections as c
from pc_core.hubspot.connection.oauth import STATE_PURPOSE, PartnerTokens
from pc_core.security.encryption import decrypt_secret
from pc_core.security.jwt_tokens import encode_signed
from pc_core.timeutil import utcnow

APP = "http://app.example.com"
CALLBACK = "/v1/integrations/hubspot/callback"


@pytest.fixture
def hs_settings(settings, hubspot_host):
    return settings.model_copy(update={
        "hubspot_base_url": hubspot_host,
        "hubspot_authorize_url": f"{hubspot_host}/oauth/authorize",
        "public_url": "http://testserver",
        "app_url": APP,
    })


@pytest.fixture
def hs_client(hs_settings, db, redis_conn):
    with TestClient(create_app(hs_settings)) as client:
        yield client


@pytest.fixture
def portal(hubspot_host):
    r = httpx.post(f"{hubspot_host}/_sandbox/portals",
                   json={"contacts": 5, "deals": 5, "pipelines": 1, "seed": 7})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _consent(hs_client, account, portal_id):
    """What the browser does: our authorize URL → HubSpot consent → our callback."""
    url = hs_client.get("/v1/integrations/hubspot/authorize", headers=account.headers).json()["url"]
    consent = httpx.get(f"{url}&portal_id={portal_id}", follow_redirects=False)
    assert consent.status_code in (302, 303, 307), consent.text
    back = urlparse(consent.headers["location"])
    assert back.path == "/v1/integrations/hubspot/callback"
    return parse_qs(back.query)


def _callback(hs_client, params):
    r = hs_client.get("/v1/integrations/hubspot/callback", params=params, follow_redirects=False)
    assert r.status_code == 302
    return r.headers["location"]


def test_connect_happy_path_stores_encrypted_tokens(hs_client, hs_settings, world, db, portal):
    params = _consent(hs_client, world.admin_a, portal)
    assert _callback(hs_client, params) == f"{APP}/settings/hubspot?success=true"
    status = hs_client.get("/v1/integrations/hubspot/status", headers=world.user_a.headers)
    body = status.json()
    assert body["connected"] is True and body["portal_id"] == portal
    assert "crm.objects.deals.read" in body["scopes"]
    stored = db[c.PARTNERS].find_one({"_id": world.partner_a})["hubspot"]
    access = decrypt_secret(hs_settings.token_encryption_key, stored["access_token"])
    assert stored["access_token"] != access
    # The token works against HubSpot, and appears in no answer.
    info = httpx.get(f"{hs_settings.hubspot_base_url}/oauth/v1/access-tokens/{access}").json()
    assert str(info["hub_id"]) == portal
    for path in ("/v1/integrations/hubspot/status", f"/v1/partners/{world.partner_a}"):
        text = hs_client.get(path, headers=world.admin_a.headers).text
        assert access not in text and "refresh_token" not in text
    # Partner B sees nothing of it.
    other = hs_client.get("/v1/integrations/hubspot/status", headers=world.admin_b.headers)
    assert other.json()["connected"] is False


def _partner(db, partner_id):
    return db[c.PARTNERS].find_one({"_id": partner_id})


def test_state_cannot_be_replayed(hs_client, world, portal, db):
    """Used once, from the same browser, it is spent; the nonce cookie is cleared."""
    params = _consent(hs_client, world.admin_a, portal)
    first = hs_client.get(CALLBACK, params=params, follow_redirects=False)
    assert first.headers["location"].endswith("success=true")
    assert f'{NONCE_COOKIE}=""' in first.headers["set-cookie"]  # cleared
    stored = _partner(db, world.partner_a)
    assert _callback(hs_client, params) == f"{APP}/settings/hubspot?error=invalid_state"
    assert _partner(db, world.partner_a) == stored


def test_spent_state_with_its_own_cookie_is_refused(hs_settings, world, portal, db):
    """The original cookie kept aside (e.g. by an attacker) does not revive a state."""
    with TestClient(create_app(hs_settings)) as browser:
        r = browser.get("/v1/integrations/hubspot/authorize", headers=world.admin_a.headers)
        nonce = r.cookies[NONCE_COOKIE]
        consent = httpx.get(f"{r.json()['url']}&portal_id={portal}", follow_redirects=False)
        params = parse_qs(urlparse(consent.headers["location"]).query)
        assert _callback(browser, params).endswith("success=true")
    before = _partner(db, world.partner_a)
    with TestClient(create_app(hs_settings)) as other:
        other.cookies.set(NONCE_COOKIE, nonce)
        assert _callback(other, params) == f"{APP}/settings/hubspot?error=invalid_state"
    assert _partner(db, world.partner_a) == before


def test_state_from_another_browser_is_refused(hs_client, hs_settings, world, portal, db):
    """The reviewer's case: an admin sends the consent link to someone else. That
    browser has no (or another) nonce cookie: nothing is attached; the admin's own
    browser can still finish."""
    params = _consent(hs_client, world.admin_a, portal)
    with TestClient(create_app(hs_settings)) as victim:
        assert _callback(victim, params) == f"{APP}/settings/hubspot?error=invalid_state"
        # A browser in the middle of its own connection: its nonce is not this state's.
        victim.get("/v1/integrations/hubspot/authorize", headers=world.admin_b.headers)
        assert NONCE_COOKIE in victim.cookies
        assert _callback(victim, params) == f"{APP}/settings/hubspot?error=invalid_state"
    assert not _partner(db, world.partner_a).get("hubspot")
    assert not _partner(db, world.partner_b).get("hubspot")
    assert _callback(hs_client, params).endswith("success=true")


def test_nonce_cookie_is_httponly_lax_and_only_sent_to_the_callback(hs_client, world):
    r = hs_client.get("/v1/integrations/hubspot/authorize", headers=world.admin_a.headers)
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{NONCE_COOKIE}=")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", f"path={CALLBACK}".lower()} <= attributes
    # The state carries only the nonce's hash, never the cookie's value.
    assert r.cookies[NONCE_COOKIE] not in r.json()["url"]


@pytest.mark.parametrize("tamper", ["flip", "expired", "wrong_purpose", "unbound"])
def test_bad_state_stores_nothing(hs_client, hs_settings, world, portal, db, tamper):
    params = _consent(hs_client, world.admin_a, portal)
    state = params["state"][0]
    if tamper == "flip":
        state = state[:-3] + ("AAA" if not state.endswith("AAA") else "BBB")
    elif tamper == "expired":
        state = encode_signed(hs_settings, STATE_PURPOSE, {"pid": world.partner_a,
                              "uid": world.admin_a.id}, timedelta(seconds=-1))
    elif tamper == "wrong_purpose":
        state = encode_signed(hs_settings, "access", {"pid": world.partner_a,
                              "uid": world.admin_a.id}, timedelta(minutes=5))
    else:  # signed and fresh, but bound to no browser (as states were before)
        state = encode_signed(hs_settings, STATE_PURPOSE, {"pid": world.partner_a,
                              "uid": world.admin_a.id}, timedelta(minutes=5))
    location = _callback(hs_client, {"code": params["code"][0], "state": state})
    expected = "state_expired" if tamper == "expired" else "invalid_state"
    assert location == f"{APP}/settings/hubspot?error={expected}"
    assert not db[c.PARTNERS].find_one({"_id": world.partner_a}).get("hubspot")


def test_read_only_user_cannot_start_a_connection(hs_client, world):
    r = hs_client.get("/v1/integrations/hubspot/authorize", headers=world.user_a.headers)
    assert r.status_code == 403


def test_portal_cannot_be_connected_to_two_partners(hs_client, world, portal, db):
    assert _callback(hs_client, _consent(hs_client, world.admin_a, portal)).endswith("true")
    location = _callback(hs_client, _consent(hs_client, world.admin_b, portal))
    assert location.endswith("error=portal_already_connected")
    assert not db[c.PARTNERS].find_one({"_id": world.partner_b}).get("hubspot")


def test_tokens_refresh_before_expiry_and_on_demand(hs_client, hs_settings, world, portal, db):
    _callback(hs_client, _consent(hs_client, world.admin_a, portal))
    tokens = PartnerTokens(db, hs_settings, world.partner_a)
    first = tokens.get()
    assert tokens.get() == first  # far from expiry: no refresh
    partner = db[c.PARTNERS].find_one({"_id": world.partner_a})
    hub = {**partner["hubspot"], "expires_at": utcnow() + timedelta(minutes=1)}
    db[c.PARTNERS].replace_one({"_id": partner["_id"]}, {**partner, "hubspot": hub})
    second = tokens.get()  # inside the margin: refreshed
    assert second != first
    info = httpx.get(f"{hs_settings.hubspot_base_url}/oauth/v1/access-tokens/{second}")
    assert info.status_code == 200 and info.json()["expires_in"] > 1700
    third = tokens.refresh()  # what a 401 triggers
    assert third not in (first, second)
    stored = db[c.PARTNERS].find_one({"_id": world.partner_a})["hubspot"]
    assert decrypt_secret(hs_settings.token_encryption_key, stored["access_token"]) == third


def test_disconnect(hs_client, world, portal, db):
    _callback(hs_client, _consent(hs_client, world.admin_a, portal))
    url = "/v1/integrations/hubspot"
    assert hs_client.delete(url, headers=world.user_a.headers).status_code == 403
    assert hs_client.delete(url, headers=world.admin_a.headers).status_code == 204
    assert hs_client.get("/v1/integrations/hubspot/status",
                         headers=world.admin_a.headers).json()["connected"] is False
