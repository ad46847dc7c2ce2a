"""``GET /v1/client-config``: public, no auth, and the Stripe mode follows the API base."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pc_api.main import create_app
from pc_core.settings import Settings
from pc_core.settings.client_config import client_config
from pc_dev.runner import dagster_url


def test_client_config_needs_no_auth_and_shows_no_secret(client, settings):
    r = client.get("/v1/client-config")
    assert r.status_code == 200
    body = r.json()
    assert body == {
        "env": "development",
        "stripe_publishable_key": "pk_test_pc_sandbox",
        "stripe_mode": "sandbox",
        "stripe_api_base": settings.stripe_api_base.rstrip("/"),
        "dagster_url": f"http://127.0.0.1:{settings.dagster_port}",
    }
    assert settings.stripe_secret_key not in r.text
    assert settings.stripe_webhook_secret not in r.text


def test_real_stripe_means_stripe_js(settings):
    real = Settings(env="production", stripe_api_base="https://api.stripe.com",
                    stripe_publishable_key="pk_live_x")
    assert client_config(real) == {"env": "production", "stripe_publishable_key": "pk_live_x",
                                   "stripe_mode": "stripe_js",
                                   "stripe_api_base": "https://api.stripe.com",
                                   "dagster_url": ""}


def test_dagster_url_follows_the_port_or_the_setting(monkeypatch):
    """Development: Dagster's port on the host (``pc run`` starts it there); production:
    empty unless PC_DAGSTER_URL says where the UI is."""
    assert Settings(dagster_port=3999).dagster_url == "http://127.0.0.1:3999"
    monkeypatch.setenv("PC_DAGSTER_URL", "https://dagster.example.com/")
    for env in ("development", "production"):
        assert client_config(Settings(env=env))["dagster_url"] == "https://dagster.example.com"
    monkeypatch.delenv("PC_DAGSTER_URL")
    assert Settings(env="production").dagster_url == ""


def test_test_env_reports_development(settings, db, redis_conn):
    with TestClient(create_app(settings.model_copy(update={"env": "test"}))) as client:
        assert client.get("/v1/client-config").json()["env"] == "development"


def test_pc_run_tells_the_api_where_dagster_is(monkeypatch):
    """`pc run` passes PC_DAGSTER_URL to the API: the Dagster it started (its port),
    the configured one, or none with --no-dagster."""
    monkeypatch.delenv("PC_DAGSTER_URL", raising=False)
    assert dagster_url(Settings(dagster_port=3111), True) == "http://127.0.0.1:3111"
    assert dagster_url(Settings(), False) == ""
    monkeypatch.setenv("PC_DAGSTER_URL", "https://dagster.example.com")
    assert dagster_url(Settings(), False) == "https://dagster.example.com"
