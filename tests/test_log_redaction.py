"""Secret-bearing query parameters (the OAuth callback's ``code`` and ``state``, a
webhook ``token``, API keys, client secrets) never appear in the access log: checked
on the log of a real uvicorn serving the app, and on the filter itself."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile

import httpx
import pytest

from pc_api.main import create_app
from pc_core.observability.log_redaction import REDACTED, redact_url
from pc_dev import devstack
from tests.conftest import REPO

SECRETS = ("oauth-code-s3cr3t", "oauth-state-s3cr3t", "webhook-token-s3cr3t",
           "client-secret-s3cr3t", "api-key-s3cr3t")


@pytest.mark.parametrize(("url", "expected"), [
    ("/v1/integrations/hubspot/callback?code=abc&state=def",
     f"/v1/integrations/hubspot/callback?code={REDACTED}&state={REDACTED}"),
    ("/cb?state=x&error=access_denied", f"/cb?state={REDACTED}&error=access_denied"),
    ("/hook?token=t0k&x=1", f"/hook?token={REDACTED}&x=1"),
    ("/p?client_secret=s&API_KEY=k&api-key=k2&Key=k3",
     f"/p?client_secret={REDACTED}&API_KEY={REDACTED}&api-key={REDACTED}&Key={REDACTED}"),
    ("/p?cod%65=abc", f"/p?cod%65={REDACTED}"),  # a percent-encoded name is still seen
    ("/v1/leads?status=listed&limit=5", "/v1/leads?status=listed&limit=5"),
    ("/v1/leads?cursor=abc&q=code", "/v1/leads?cursor=abc&q=code"),
    ("/no-query", "/no-query"),
    ("/p?code", "/p?code"),  # a bare name carries no value
    ("https://h.example/cb?code=a#frag", f"https://h.example/cb?code={REDACTED}"),
])
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_access_log_records_are_redacted(settings, caplog):
    create_app(settings)  # installs the filter
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
            f"/v1/integrations/hubspot/callback?code={SECRETS[0]}&state={SECRETS[1]}",
            "1.1", 302)
    assert f"callback?code={REDACTED}&state={REDACTED} HTTP/1.1" in caplog.text
    assert SECRETS[0] not in caplog.text and SECRETS[1] not in caplog.text


def test_httpx_request_log_is_redacted(settings, caplog):
    """Our own outgoing calls (e.g. ``make run``'s demo connection following the
    callback) log their URLs through httpx."""
    create_app(settings)
    transport = httpx.MockTransport(lambda request: httpx.Response(204))
    with caplog.at_level(logging.INFO, logger="httpx"), httpx.Client(transport=transport) as c:
        c.get("http://api.example/v1/integrations/hubspot/callback",
              params={"code": SECRETS[0], "state": SECRETS[1]})
    assert "hubspot/callback" in caplog.text
    assert SECRETS[0] not in caplog.text and SECRETS[1] not in caplog.text


def test_uvicorn_access_log_has_no_secrets(settings, db, redis_conn):
    """The real thing: uvicorn with its access log on, as deployed."""
    port = devstack.free_port()
    env = {**os.environ, "MONGODB_URI": settings.mongodb_uri, "MONGODB_DB": settings.mongodb_db,
           "REDIS_URL": settings.redis_url}
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "pc_api.main:app_factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "info"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            devstack.wait_until(lambda: devstack.http_answers(url + "/health"), 60, "API")
            with httpx.Client(base_url=url, timeout=10) as client:
                client.get("/v1/integrations/hubspot/callback",
                           params={"code": SECRETS[0], "state": SECRETS[1]})
                client.post("/v1/meetings/webhooks/chilipiper", params={"token": SECRETS[2]},
                            json={})
                client.get("/health", params={"client_secret": SECRETS[3],
                                              "api_key": SECRETS[4], "probe": "kept"})
        finally:
            proc.terminate()
            proc.wait(timeout=15)
        out.seek(0)
        log = out.read().decode()
    assert "GET /v1/integrations/hubspot/callback?code=REDACTED&state=REDACTED" in log, log
    assert "POST /v1/meetings/webhooks/chilipiper?token=REDACTED" in log, log
    assert "client_secret=REDACTED&api_key=REDACTED&probe=kept" in log, log
    for secret in SECRETS:
        assert secret not in log
