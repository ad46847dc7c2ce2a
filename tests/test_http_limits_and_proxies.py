"""Trusted proxies and request body limits, against the API run the way the image runs
it (the ``CMD`` of deploy/Dockerfile, under uvicorn in a subprocess).

- ``X-Forwarded-For`` from a peer outside ``PC_TRUSTED_PROXIES`` changes nothing: the
  per-IP login throttle still counts the real peer. From a trusted proxy it is
  honoured.
- A 50 MB body (chunked, and with Content-Length) is refused with 413 before it is
  read, and the process's peak memory does not grow by more than a few MB.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from pc_api.main import create_app
from pc_core import collections as c
from pc_core.settings import Settings
from pc_dev import devstack
from tests.conftest import PASSWORD

REPO = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


def image_command() -> list[str]:
    """The API command of deploy/Dockerfile (its exec-form ``CMD``)."""
    lines = (REPO / "deploy" / "Dockerfile").read_text().splitlines()
    cmd = [line for line in lines if line.startswith("CMD ")][-1]
    return json.loads(cmd[len("CMD "):])


@contextlib.contextmanager
def image_api(settings: Settings, **env: str) -> Iterator[tuple[str, int, subprocess.Popen]]:
    """The API started with the image's command (host and port changed) over the
    test's stores; yields (host, port, process)."""
    args = image_command()
    assert args[0] == "uvicorn"
    port = devstack.free_port()
    args[args.index("--host") + 1] = "127.0.0.1"
    args[args.index("--port") + 1] = str(port)
    full_env = {**os.environ, "MONGODB_URI": settings.mongodb_uri,
                "MONGODB_DB": settings.mongodb_db, "REDIS_URL": settings.redis_url,
                "PC_ENV": "development", **env}
    full_env.pop("FORWARDED_ALLOW_IPS", None)
    proc = subprocess.Popen([sys.executable, "-m", *args, "--log-level", "warning"],
                            cwd=REPO, env=full_env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"the API exited with {proc.returncode}")
            return devstack.http_answers(f"http://127.0.0.1:{port}/health")

        devstack.wait_until(up, 60, "API")
        yield "127.0.0.1", port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def failed_login(base: str, forwarded_for: str | None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    body = {"email": f"nobody-{uuid.uuid4().hex[:8]}@example.com", "password": "wrong-pass"}
    return httpx.post(f"{base}/v1/auth/login", json=body, headers=headers,
                      timeout=30).status_code


# --- trusted proxies -----------------------------------------------------------------

def test_image_does_not_trust_forwarded_headers_from_everyone():
    args = image_command()
    assert "*" not in args and "--forwarded-allow-ips" not in args
    assert "--no-proxy-headers" in args


def test_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(settings, db, redis_conn):
    with image_api(settings, PC_LOGIN_IP_MAX_FAILURES="3") as (host, port, _):
        base = f"http://{host}:{port}"
        for spoof in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            assert failed_login(base, spoof) == 401
        # Each attempt claimed another address; all of them counted against the peer.
        assert failed_login(base, "198.51.100.4") == 429
        assert failed_login(base, None) == 429


def test_forwarded_for_from_a_trusted_proxy_is_honoured(settings, db, redis_conn):
    env = {"PC_LOGIN_IP_MAX_FAILURES": "3", "PC_TRUSTED_PROXIES": "10.9.0.0/16, 127.0.0.1"}
    with image_api(settings, **env) as (host, port, _):
        base = f"http://{host}:{port}"
        for _ in range(3):
            assert failed_login(base, "203.0.113.7") == 401
        assert failed_login(base, "203.0.113.7") == 429
        # Another client behind the same proxy has its own counter.
        assert failed_login(base, "203.0.113.8") == 401
        # A client's own X-Forwarded-For entry ahead of the proxy's is not believed:
        # the rightmost untrusted address is the client.
        assert failed_login(base, "203.0.113.8, 203.0.113.7") == 429


def test_forwarded_proto_only_from_trusted_proxies(settings, db, redis_conn, world):
    """The scheme decides the request's own origin (CSRF same-origin check)."""
    headers = {"X-Forwarded-Proto": "https", "Origin": "https://api.example.com",
               "Host": "api.example.com"}
    body = {"email": world.user_a.email, "password": PASSWORD}
    trusted = settings.model_copy(update={"trusted_proxies": "10.9.0.1"})
    with TestClient(create_app(trusted), client=("10.9.0.1", 4321)) as client:
        assert client.post("/v1/auth/login", json=body, headers=headers).status_code == 200
    with TestClient(create_app(settings), client=("10.9.0.1", 4321)) as client:
        assert client.post("/v1/auth/login", json=body, headers=headers).status_code == 403


def test_trusted_proxies_must_be_addresses():
    with pytest.raises(ValueError, match="PC_TRUSTED_PROXIES"):
        Settings(trusted_proxies="*")
    with pytest.raises(ValueError, match="PC_TRUSTED_PROXIES"):
        Settings(trusted_proxies="10.0.0.0/8, ingress")


# --- body limits -------------------------------------------------------------------

def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def _body_chunks(total: int, chunk: int = 256 * 1024) -> Iterator[bytes]:
    """A well-formed JSON login body of ``total`` bytes, in pieces."""
    head, tail = b'{"email": "big@example.com", "password": "', b'"}'
    yield head
    left = total - len(head) - len(tail)
    while left > 0:
        piece = min(chunk, left)
        yield b"x" * piece
        left -= piece
    yield tail


def send_streamed(host: str, port: int, path: str, total: int, *, chunked: bool) -> int:
    """POST ``total`` bytes the way a slow client would, stopping as soon as the server
    answers; returns the status code."""
    sock = socket.create_connection((host, port), timeout=30)
    try:
        framing = (b"Transfer-Encoding: chunked\r\n" if chunked
                   else f"Content-Length: {total}\r\n".encode())
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()
                     + b"Content-Type: application/json\r\n" + framing + b"\r\n")
        answered = False
        for piece in _body_chunks(total):
            if select.select([sock], [], [], 0)[0]:
                answered = True
                break
            data = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                answered = True
                break
        if not answered and chunked:
            sock.sendall(b"0\r\n\r\n")
        response = b""
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            while b"\r\n" not in response:
                data = sock.recv(65536)
                if not data:
                    break
                response += data
        assert response.startswith(b"HTTP/1.1 "), response[:200]
        return int(response.split(b" ", 2)[1])
    finally:
        sock.close()


def test_fifty_megabyte_bodies_are_refused_without_growing_the_process(settings, db,
                                                                       redis_conn):
    with image_api(settings) as (host, port, proc):
        base = f"http://{host}:{port}"
        # Warm up every code path the big requests take.
        for _ in range(3):
            assert failed_login(base, None) == 401
            assert send_streamed(host, port, "/v1/auth/login", 2 * MB, chunked=True) == 413
            assert send_streamed(host, port, "/v1/auth/login", 2 * MB, chunked=False) == 413
        time.sleep(0.5)
        peak_before = _memory_kib(proc.pid, "VmHWM")
        for path in ("/v1/auth/login", "/v1/webhooks/stripe",
                     "/v1/meetings/webhooks/chilipiper", "/v1/webhooks/hubspot"):
            assert send_streamed(host, port, path, 50 * MB, chunked=True) == 413, path
            assert send_streamed(host, port, path, 50 * MB, chunked=False) == 413, path
        grown_kib = _memory_kib(proc.pid, "VmHWM") - peak_before
        assert grown_kib < 6 * 1024, f"peak memory grew by {grown_kib} KiB"
        assert httpx.get(f"{base}/health", timeout=10).status_code == 200


def test_limits_per_route_and_the_answer(settings, db, redis_conn, world):
    small = settings.model_copy(update={"max_json_bytes": 4096, "max_webhook_bytes": 8192,
                                        "import_max_bytes": 100_000})
    with TestClient(create_app(small)) as client:
        big_json = {"name": "x" * 5000}
        r = client.patch(f"/v1/users/{world.user_a.id}", json=big_json,
                         headers=world.admin_a.headers)
        assert r.status_code == 413
        assert r.json() == {"detail": "request body too large: the limit for this route "
                                      "is 4 KB"}
        assert r.headers["connection"] == "close"
        # Under the limit: the route answers as usual.
        r = client.patch(f"/v1/users/{world.user_a.id}",
                         content=b'{"name": "Ada"' + b" " * 3000 + b"}",
                         headers={**world.admin_a.headers, "Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        # Chunked (no Content-Length): counted while read.
        r = client.post("/v1/auth/login", content=iter([b"{" + b" " * 3000] * 3),
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "4 KB" in r.json()["detail"]
        # Webhooks have their own limit: 6 KB passes the size check (and then fails
        # its signature), 9 KB does not.
        assert client.post("/v1/webhooks/stripe", content=b"{" + b" " * 6000 + b"}").status_code \
            == 400
        r = client.post("/v1/webhooks/stripe", content=iter([b" " * 3000] * 3))
        assert r.status_code == 413 and "8 KB" in r.json()["detail"]
        # The CSV import gets the import limit, not the JSON one.
        csv = ("title,company\n" + "Lead,Acme\n" * 5000).encode()  # ~50 KB
        r = client.post("/v1/leads/import", files={"file": ("l.csv", csv, "text/csv")},
                        headers=world.admin_a.headers)
        assert r.status_code == 200, r.text
        r = client.post("/v1/leads/import", files={"file": ("l.csv", csv * 3, "text/csv")},
                        headers=world.admin_a.headers)
        assert r.status_code == 413
        assert db[c.LEADS].count_documents({}) == 5000
        r = client.post("/v1/auth/login", content=b"{}",
                        headers={"Content-Length": "nope", "Content-Type": "application/json"})
        assert r.status_code == 400
