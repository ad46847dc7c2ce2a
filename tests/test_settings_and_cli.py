"""Production refuses development secrets; `pc create-owner`; demo seed; OpenAPI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
from typer.testing import CliRunner

from pc_api.main import create_app
from pc_core import collections as c
from pc_core.security.passwords import verify_password
from pc_core.settings import InsecureSettingsError, Settings
from pc_dev import devstack
from pc_dev.demo_seed import seed_demo


def test_production_refuses_default_and_missing_secrets(monkeypatch):
    monkeypatch.setenv("PC_ENV", "production")
    monkeypatch.setenv("PC_SECRET_KEY", "")
    with pytest.raises(InsecureSettingsError) as err:
        create_app(Settings())
    message = str(err.value)
    assert "PC_SECRET_KEY" in message and "PC_TOKEN_ENCRYPTION_KEY" in message


def test_production_starts_with_real_secrets(stores):
    from cryptography.fernet import Fernet

    prod = Settings(
        env="production", mongodb_uri=stores.mongo_uri, redis_url=stores.redis_url,
        secret_key="s" * 40, token_encryption_key=Fernet.generate_key().decode(),
        hubspot_client_secret="hs-real", stripe_secret_key="sk_live_x",
        stripe_webhook_secret="whsec_real", mailgun_api_key="key-real",
        chilipiper_secret="cp-real",
    )
    assert prod.insecure_secrets() == []
    assert prod.secure_cookies
    create_app(prod)


def test_the_api_process_exits_naming_the_secret(stores):
    env = {**os.environ, "PC_ENV": "production", "MONGODB_URI": stores.mongo_uri}
    proc = subprocess.run(
        [sys.executable, "-c", "from pc_api.main import app_factory; app_factory()"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0
    assert "PC_SECRET_KEY" in proc.stderr


def test_create_owner_creates_then_resets(settings, db, monkeypatch):
    from pc_core import settings as settings_module
    from pc_dev import cli

    monkeypatch.setattr(settings_module.get_settings, "__wrapped__", None, raising=False)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    runner = CliRunner()
    first = runner.invoke(cli.app, ["create-owner", "--email", "Boss@Example.com",
                                    "--password", "first-password"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(cli.app, ["create-owner", "--email", "boss@example.com",
                                     "--password", "second-password"])
    assert second.exit_code == 0, second.output
    owners = list(db[c.USERS].find({"email": "boss@example.com"}))
    assert len(owners) == 1 and owners[0]["role"] == "owner"
    assert verify_password("second-password", owners[0]["password_hash"])
    short = runner.invoke(
        cli.app, ["create-owner", "--email", "x@example.com", "--password", "short"]
    )
    assert short.exit_code != 0


def test_demo_seed_is_idempotent(db):
    assert seed_demo(db)["leads_created"] == 201
    assert seed_demo(db)["leads_created"] == 0
    assert len(list(db[c.PARTNERS].find({}))) == 3
    assert len(list(db[c.USERS].find({}))) == 7


# Answers meant for a person's browser, not a client: the one-click unsubscribe link
# of a saved-search e-mail (no sign-in) answers a small HTML page.
HTML_PAGES = {("get", "/v1/saved-searches/unsubscribe")}


def test_openapi_documents_every_route_with_models(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/health", "/v1/auth/login", "/v1/auth/refresh", "/v1/auth/logout",
                 "/v1/auth/me", "/v1/users", "/v1/users/{user_id}", "/v1/partners",
                 "/v1/partners/{partner_id}", "/v1/partners/{partner_id}/stats",
                 "/v1/leads", "/v1/leads/{lead_id}", "/v1/leads/{lead_id}/notes",
                 "/v1/leads/import"):
        assert path in paths, path
    for path, ops in paths.items():
        for method, op in ops.items():
            ok = op["responses"].get("200") or op["responses"].get("201")
            if ok and method != "delete" and (method, path) not in HTML_PAGES:
                assert "schema" in ok["content"]["application/json"], (method, path)
    assert client.get("/docs").status_code == 200


def test_pc_run_starts_answers_and_stops_on_sigint(tmp_path):
    """`pc run` end to end, Dagster included: health 200; every schedule and sensor
    RUNNING as the Dagster webserver reports them; the every-minute reservation expiry
    ticks and releases a reservation whose end has passed; a paid purchase becomes a
    deal in the buyer's sandbox portal within 60 s; Ctrl-C stops all."""
    ports = {k: str(devstack.free_port())
             for k in ("API", "SANDBOX", "MONGO", "REDIS", "DAGSTER")}
    env = {**os.environ, "PC_DATA_DIR": str(tmp_path / ".pc"),
           "PC_API_PORT": ports["API"], "PC_SANDBOX_PORT": ports["SANDBOX"],
           "PC_MONGO_PORT": ports["MONGO"], "PC_REDIS_PORT": ports["REDIS"],
           "PC_DAGSTER_PORT": ports["DAGSTER"],
           "REDIS_URL": f"redis://127.0.0.1:{devstack.free_port()}/0"}
    for key in ("MONGODB_URI", "PC_MONGODB_URI"):
        env.pop(key, None)
    proc = subprocess.Popen(
        [devstack.venv_bin("pc"), "run"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        # "ready" is printed once everything answers and the demo is connected.
        devstack.wait_until(lambda: any("] ready in" in line for line in lines), 180, "pc run")
        url = f"http://127.0.0.1:{ports['API']}/health"
        assert httpx.get(url).status_code == 200
        login = httpx.post(f"http://127.0.0.1:{ports['API']}/v1/auth/login",
                           json={"email": "owner@example.com", "password": "owner-demo-pass"})
        assert login.status_code == 200
        for partner in ("northwind", "bluebird"):
            status = httpx.get(
                f"http://127.0.0.1:{ports['API']}/v1/integrations/hubspot/status",
                params={"partner_id": partner},
                headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            ).json()
            assert status["connected"], partner
        try:
            _dagster_runs_the_platform(ports)
        except (TimeoutError, AssertionError) as exc:
            logs = tmp_path / ".pc" / "logs"
            raise AssertionError(
                f"{exc}\nload {os.getloadavg()}\n--- dagster.log, last lines ---\n"
                f"{_tail(logs / 'dagster.log')}\n--- worker.log, last lines ---\n"
                f"{_tail(logs / 'worker.log')}") from exc
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=10)
    out = "".join(lines)
    assert proc.returncode == 0, out
    # The first address the ready banner gives is the web app's.
    banner = out[out.index("] ready in"):].splitlines()
    assert "Web app" in banner[1] and f"http://127.0.0.1:{ports['API']}/" in banner[1], banner[:3]
    assert "all processes stopped" in out
    assert "HubSpot: connected northwind, bluebird" in out  # through the real OAuth flow
    time.sleep(0.5)
    for port in ports.values():
        assert not devstack.port_open("127.0.0.1", int(port)), out
    assert (tmp_path / ".pc" / "data" / "pc.db").exists()


def _tail(path, lines: int = 60) -> str:
    """The end of a process's log, for a failure message."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"({exc})"


def _dagster_runs_the_platform(ports: dict[str, str]) -> None:
    """What a fresh `make run` must do with no click in the Dagster UI."""
    from tests import dagster_smoke as smoke

    platform = smoke.Platform(api=f"http://127.0.0.1:{ports['API']}",
                              sandbox=f"http://127.0.0.1:{ports['SANDBOX']}",
                              mongo_uri=f"mongodb://127.0.0.1:{ports['MONGO']}")
    dagster = f"http://127.0.0.1:{ports['DAGSTER']}"
    lapsed_lead, lapsed = smoke.lapse_a_reservation(platform)
    states = smoke.instigator_states(dagster)
    # A sale's 60 s start once the daemon runs; the expiry is waited for meanwhile.
    smoke.wait_for_sensor_tick(dagster, "crm_delivery_sensor")
    bought_lead, paid_at = smoke.buy_as_bluebird(platform, skip={lapsed_lead})
    stopped = [name for kind, state in (("schedules", "scheduleState"),
                                        ("sensors", "sensorState"))
               for name, s in states[kind].items() if s[state]["status"] != "RUNNING"]
    assert stopped == [], f"not RUNNING under pc run: {stopped}"
    assert {"reservation_expiry", "hubspot_sync_schedule", "monthly_invoices_schedule",
            "daily_reminders_schedule"} <= set(states["schedules"])
    assert {"crm_delivery_sensor", "lead_rebuild_sensor", "partners_sensor"} <= \
        set(states["sensors"])
    assert states["schedules"]["reservation_expiry"]["cronSchedule"] == "* * * * *"

    deal = smoke.wait_for_buyer_deal(platform, bought_lead, timeout=120)
    took = time.monotonic() - paid_at
    assert took < 60, (f"the deal reached the buyer's portal after {took:.0f} s; runs: "
                       f"{smoke.delivery_runs(dagster)}; load {os.getloadavg()}")
    assert deal["associations"]["contacts"]["results"] and \
        deal["associations"]["notes"]["results"]
    smoke.wait_for_expiry(platform, lapsed_lead, lapsed, timeout=150)
    ticks = smoke.instigator_states(dagster)[
        "schedules"]["reservation_expiry"]["scheduleState"]["ticks"]
    assert any(t["status"] == "SUCCESS" and t["runIds"] for t in ticks), ticks
