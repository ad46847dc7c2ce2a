"""Structured logs and /metrics, as an operator sees them: JSON lines with request ids and
the caller's ids, no secret in any line; Prometheus figures that are not public, by route
template, from the HubSpot and Stripe clients, and read from the platform database."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import stripe
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from urllib3.util.retry import Retry

from pc_api.main import create_app
from pc_core import collections as c
from pc_core.hubspot.connection.transport import CallPolicy, HubSpotApi, HubSpotCallError
from pc_core.observability import job_outcomes, vendor_calls
from pc_core.observability.logs import UVICORN_LOGGERS, configure_logging
from pc_core.payments import stripe_client
from pc_core.timeutil import utcnow
from pc_dev import devstack
from tests.conftest import PASSWORD

TOKEN = "metrics-s3cr3t-token"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Logging configured as app_factory does it, into a buffer; put back afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level,
             {n: (list(logging.getLogger(n).handlers), logging.getLogger(n).propagate,
                  logging.getLogger(n).disabled) for n in UVICORN_LOGGERS})
    stream = io.StringIO()
    handler = configure_logging("json", "INFO", stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, (handlers, propagate, disabled) in saved[2].items():
            logger = logging.getLogger(name)
            logger.handlers[:], logger.propagate, logger.disabled = handlers, propagate, disabled


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def access_lines(stream: io.StringIO) -> list[dict]:
    return [line for line in lines(stream) if line["logger"] == "pc_api.access"]


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


@pytest.fixture
def metrics_client(settings, db, redis_conn) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={
            "metrics_token": TOKEN, "metrics_db_interval_seconds": 0.0}))) as client:
        yield client


def scrape(client: TestClient) -> str:
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


# -- logs ---------------------------------------------------------------------------------

def test_log_lines_are_json_with_ids_route_status_and_duration(client, world, log_output):
    r = client.get("/v1/leads/no-such-lead", headers=world.admin_a.headers)
    assert r.status_code == 404
    [line] = [a for a in access_lines(log_output) if a["path"] == "/v1/leads/no-such-lead"]
    assert line["message"] == "GET /v1/leads/no-such-lead HTTP/1.1"
    assert line["level"] == "INFO" and line["timestamp"].endswith("Z")
    assert line["route"] == "/v1/leads/{lead_id}" and line["status"] == 404
    assert line["duration_ms"] > 0 and line["method"] == "GET"
    assert line["request_id"] == r.headers["X-Request-ID"]
    assert line["user_id"] == world.admin_a.id and line["partner_id"] == world.partner_a
    anonymous = client.get("/v1/leads")
    [line] = [a for a in access_lines(log_output) if a["request_id"] ==
              anonymous.headers["X-Request-ID"]]
    assert line["status"] == 401 and "user_id" not in line


@pytest.mark.parametrize(("sent", "kept"), [
    ("req-7f3a.9:b/c", True),
    ("has space", False),
    ("x" * 200, False),
    ('quo"te', False),
    ("", False),
    (None, False),
])
def test_request_id_is_kept_when_sane_and_always_returned(client, log_output, sent, kept):
    headers = {"X-Request-ID": sent} if sent is not None else {}
    r = client.get("/health", headers=headers)
    returned = r.headers["X-Request-ID"]
    if kept:
        assert returned == sent
    else:
        assert returned != sent and len(returned) == 32 and int(returned, 16) >= 0
    assert [a["request_id"] for a in access_lines(log_output)] == [returned]


def test_no_secret_reaches_the_logs(client, settings, world, log_output):
    """A login, a refresh, a signed-in call, an OAuth callback with code and state, and
    webhooks carrying secrets: none of their secrets is in any line, even when code
    logs them by mistake."""
    login = client.post("/v1/auth/login", json={"email": world.admin_a.email,
                                                "password": PASSWORD})
    assert login.status_code == 200
    tokens = login.json()
    client.cookies.clear()
    refreshed = client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert client.get("/v1/auth/me", headers={
        "Authorization": f"Bearer {new['access_token']}"}).status_code == 200
    code, state = f"code-{uuid.uuid4().hex}", f"state-{uuid.uuid4().hex}"
    callback = client.get("/v1/integrations/hubspot/callback",
                          params={"code": code, "state": state}, follow_redirects=False)
    assert callback.status_code == 302
    for secret in (settings.chilipiper_secret, "wrong-guess-s3cr3t"):
        client.post("/v1/meetings/webhooks/chilipiper", json={"event": "x"},
                    headers={"X-PC-Webhook-Secret": secret})
    client.post("/v1/webhooks/stripe", content=b"{}",
                headers={"Stripe-Signature": "t=1,v1=deadbeefs3cr3t"})
    api_key = f"pc_{uuid.uuid4().hex[:12]}.{uuid.uuid4().hex}"
    client.get("/v1/public/leads", headers={"X-API-Key": api_key})
    # code that logs what it should not: the net still catches these shapes
    careless = logging.getLogger("pc_core.careless")
    careless.warning("retrying with Authorization: Bearer %s", new["access_token"])
    careless.warning("refresh failed: refresh_token=%s", tokens["refresh_token"])
    careless.warning("login payload %s", {"email": "a@b.c", "password": PASSWORD})
    try:
        raise RuntimeError(f"GET https://app.example/cb?code={code}&state={state} failed")
    except RuntimeError:
        careless.exception("callback follow-up failed")
    out = log_output.getvalue()
    secrets = [PASSWORD, tokens["access_token"], tokens["refresh_token"], new["access_token"],
               new["refresh_token"], code, state, settings.chilipiper_secret,
               "wrong-guess-s3cr3t", "deadbeefs3cr3t", api_key.split(".")[1]]
    for secret in secrets:
        assert secret not in out, f"a secret reached the logs: {secret[:6]}…"
    assert "/v1/integrations/hubspot/callback?code=REDACTED&state=REDACTED" in out
    assert len(access_lines(log_output)) >= 8
    assert all(isinstance(line, dict) for line in lines(log_output))  # every line is JSON


def test_text_format_for_terminals(log_output):
    stream = io.StringIO()
    handler = configure_logging("text", "INFO", stream)
    try:
        logging.getLogger("pc_core.x").info("hello %s", "world", extra={"partner_id": "p1"})
    finally:
        logging.getLogger().removeHandler(handler)
    line = stream.getvalue().strip()
    assert " INFO    pc_core.x: hello world [partner_id=p1]" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


# -- /metrics -----------------------------------------------------------------------------

def test_metrics_are_not_public(client, settings, db, redis_conn):
    assert client.get("/metrics").status_code == 404  # no token configured: not served
    with TestClient(create_app(settings.model_copy(update={"metrics_token": TOKEN}))) as c2:
        assert c2.get("/metrics").status_code == 401
        assert c2.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c2.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
        assert c2.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/metrics" not in paths and "/livez" not in paths
    assert client.get("/livez").json() == {"status": "ok"}


def test_request_latency_by_route_template_and_status(metrics_client, world):
    for lead in ("a1", "b2", "c3"):
        metrics_client.get(f"/v1/leads/{lead}", headers=world.admin_a.headers)
    metrics_client.get("/no/such/path/9f2")
    text = scrape(metrics_client)
    count = sample(text, "pc_http_request_duration_seconds_count", method="GET",
                   route="/v1/leads/{lead_id}", status="404")
    assert count is not None and count >= 3
    assert sample(text, "pc_http_request_duration_seconds_count", method="GET",
                  route="<unmatched>", status="404") >= 1
    assert "/v1/leads/a1" not in text and "9f2" not in text  # no raw paths as labels


def test_platform_figures_come_from_the_database(metrics_client, db, world):
    now = utcnow()
    partner = db[c.PARTNERS].find_one({"_id": world.partner_a})
    db[c.PARTNERS].replace_one({"_id": world.partner_a}, {**partner, "hubspot": {
        "portal_id": "777", "last_synced_at": now - timedelta(hours=2),
        "connected_at": now - timedelta(days=1), "sync_status": "failed"}})
    first_seq = int((time.time() - 600) * 1e6)
    db[c.WEBHOOK_EVENTS].insert_many([
        {"_id": f"e{n}", "partner_id": world.partner_a, "processed": n == 3,
         "seq": first_seq + n} for n in range(4)])
    db[c.RESERVATIONS].insert_many([{"_id": f"r{n}", "status": s}
                                    for n, s in enumerate(["active", "active", "expired"])])
    db[c.PURCHASES].insert_many([{"_id": "p1", "status": "completed"},
                                 {"_id": "p2", "status": "pending"}])
    job_outcomes.record_outcome(db, "hubspot_sync_job", "run-1", "success")
    job_outcomes.record_outcome(db, "hubspot_sync_job", "run-2", "failure", message="boom")
    assert not job_outcomes.record_outcome(db, "hubspot_sync_job", "run-2", "failure")
    db[vendor_calls.VENDOR_CALLS].insert_one(
        {"_id": "hubspot:rate_limited", "vendor": "hubspot", "outcome": "rate_limited", "n": 7})
    text = scrape(metrics_client)
    lag = sample(text, "pc_hubspot_sync_lag_seconds", partner_id=world.partner_a)
    assert 7100 < lag < 7300
    assert sample(text, "pc_hubspot_sync_failed", partner_id=world.partner_a) == 1
    assert sample(text, "pc_hubspot_sync_lag_seconds", partner_id=world.partner_b) is None
    assert sample(text, "pc_webhook_inbox_pending") == 3
    assert 590 < sample(text, "pc_webhook_inbox_oldest_age_seconds") < 700
    assert sample(text, "pc_reservations", status="active") == 2
    assert sample(text, "pc_reservations", status="expired") == 1
    assert sample(text, "pc_purchases", status="completed") == 1
    assert sample(text, "pc_dagster_job_last_run_success", job="hubspot_sync_job") == 0
    assert sample(text, "pc_dagster_job_runs_total", job="hubspot_sync_job",
                  outcome="failure") == 1
    assert sample(text, "pc_dagster_job_runs_total", job="hubspot_sync_job",
                  outcome="success") == 1
    assert sample(text, "pc_dagster_vendor_requests_total", vendor="hubspot",
                  outcome="rate_limited") == 7
    assert sample(text, "pc_platform_metrics_up") == 1


def test_metrics_port_serves_without_the_api_port(settings, db, redis_conn):
    port = devstack.free_port()
    app = create_app(settings.model_copy(update={"metrics_port": port,
                                                 "metrics_host": "127.0.0.1"}))
    with TestClient(app) as client:
        client.get("/health")
        r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert r.status_code == 200
        assert sample(r.text, "pc_platform_metrics_up") == 1
        assert "pc_http_request_duration_seconds" in r.text
        assert client.get("/metrics").status_code == 404  # not on the API port
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


class _StaticTokens:
    def __init__(self, token: str) -> None:
        self.token = token

    def get(self) -> str:
        return self.token

    def refresh(self) -> str:
        return self.token


def _counted(vendor: str, outcome: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("pc_vendor_requests_total",
                                     {"vendor": vendor, "outcome": outcome}) or 0.0


def test_hubspot_responses_and_429s_are_counted(settings, hubspot_host):
    portal = httpx.post(f"{hubspot_host}/_sandbox/portals",
                        json={"contacts": 1, "deals": 1, "pipelines": 1, "seed": 5}).json()
    token = httpx.post(f"{hubspot_host}/_sandbox/portals/{portal['id']}/tokens").json()
    hs_settings = settings.model_copy(update={"hubspot_base_url": hubspot_host})
    ok, limited = _counted("hubspot", "ok"), _counted("hubspot", "rate_limited")
    api = HubSpotApi(hs_settings, _StaticTokens(token["access_token"]))
    api.pipelines("deals")
    assert _counted("hubspot", "ok") == ok + 1
    short = Retry(total=1, status_forcelist=(429,), backoff_factor=0, allowed_methods=None,
                  respect_retry_after_header=False, raise_on_status=False)
    httpx.put(f"{hubspot_host}/_sandbox/config", json={"fail_429": 1.0})
    try:
        api = HubSpotApi(hs_settings, _StaticTokens(token["access_token"]),
                         policy=CallPolicy(attempts=1), retry=short)
        with pytest.raises(HubSpotCallError):
            api.pipelines("deals")
    finally:
        httpx.put(f"{hubspot_host}/_sandbox/config", json={"fail_429": 0.0})
    assert _counted("hubspot", "rate_limited") == limited + 2  # the try and its retry


def test_stripe_responses_are_counted(settings, sandbox_url):
    stripe_settings = settings.model_copy(update={"stripe_api_base": sandbox_url + "/stripe"})
    ok, client_error = _counted("stripe", "ok"), _counted("stripe", "client_error")
    sdk = stripe_client.client(stripe_settings)
    sdk.v1.customers.create(params={"email": "metrics@example.com"})
    assert _counted("stripe", "ok") == ok + 1
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.customers.retrieve("cus_does_not_exist")
    assert _counted("stripe", "client_error") == client_error + 1


def test_run_figures_are_flushed_for_the_api_to_export(db):
    vendor_calls.take_tally()
    vendor_calls.record("hubspot", 429)
    vendor_calls.record("hubspot", 200)
    vendor_calls.record("stripe", None)
    assert vendor_calls.flush_to(db) == 3
    vendor_calls.record("hubspot", 429)
    vendor_calls.flush_to(db)
    assert vendor_calls.totals(db) == {("hubspot", "rate_limited"): 2, ("hubspot", "ok"): 1,
                                       ("stripe", "network_error"): 1}
    assert vendor_calls.flush_to(db) == 0


def test_served_api_logs_json_lines_and_counts_socketio_connections(
        settings, db, redis_conn, world, tmp_path):
    """The API as `pc run` and the image start it (uvicorn, app_factory): every line of
    its log is JSON, and the metrics port follows Socket.IO connections."""
    import socketio

    from tests.conftest import live_api

    port = devstack.free_port()
    log_path = tmp_path / "api.log"

    def connections() -> float | None:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        return sample(text, "pc_socketio_connections")

    def wait_for(value: float) -> None:
        devstack.wait_until(lambda: connections() == value, 20, f"{value} connections")

    env = {"PC_METRICS_PORT": str(port), "PC_METRICS_HOST": "127.0.0.1"}
    with live_api(settings, extra_env=env, log_path=log_path) as url:
        wait_for(0)
        sio = socketio.Client(reconnection=False)
        token = world.admin_a.headers["Authorization"].split()[1]
        sio.connect(url, auth={"token": token}, transports=["polling"], wait_timeout=20)
        try:
            wait_for(1)
        finally:  # don't wait for the client's pending long-poll (up to 25 s)
            threading.Thread(target=sio.disconnect, daemon=True).start()
        wait_for(0)
        assert httpx.get(f"{url}/v1/leads", headers=world.admin_a.headers).status_code == 200
    records = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    [access] = [r for r in records if r.get("path") == "/v1/leads"]
    assert access["user_id"] == world.admin_a.id and access["status"] == 200
    assert not any(r.get("path", "").startswith("/socket.io") for r in records)


def test_several_workers_are_summed_and_one_of_them_serves_the_port(tmp_path):
    """PROMETHEUS_MULTIPROC_DIR: samples of every worker process add up in any
    worker's exposition; a second worker finds the metrics port taken and goes on."""
    import os
    import subprocess
    import sys

    script = """
import multiprocessing, socket
from pc_core.observability import metrics as m

def work(n):
    m.HTTP_DURATION.labels("GET", "/v1/x", "200").observe(0.01 * (n + 1))

if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=work, args=(n,)) for n in range(3)]
    for w in workers: w.start()
    for w in workers: w.join()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    first = m.serve("127.0.0.1", port)
    second = m.serve("127.0.0.1", port)
    print("second-bound", second is not None)
    print(m.render().decode())
    first.shutdown()
"""
    (tmp_path / "metrics").mkdir()
    (tmp_path / "workers.py").write_text(script)  # spawned workers import it by path
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    out = subprocess.run([sys.executable, str(tmp_path / "workers.py")], env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    head, _, text = out.partition("\n")
    assert head == "second-bound False"
    assert sample(text, "pc_http_request_duration_seconds_count", method="GET",
                  route="/v1/x", status="200") == 3
    assert abs(sample(text, "pc_http_request_duration_seconds_sum", method="GET",
                      route="/v1/x", status="200") - 0.06) < 1e-9
