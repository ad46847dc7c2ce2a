"""Fixtures: a real sandbox process, a webhook receiver, and SDK/HTTP clients.

The sandbox runs as ``uvicorn pc_sandbox.app:app`` on a free port, exactly as in
the demo, so the tests exercise the same HTTP surface the app uses.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import stripe

from pc_dev import devstack
from tests.conftest import start_sandbox, stop_sandbox

STRIPE_KEY = "sk_test_pc_sandbox"
WEBHOOK_SECRET = "whsec_pc_sandbox"
MAILGUN_KEY = "key-pc-sandbox"


@contextlib.contextmanager
def run_sandbox(extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """A sandbox of its own (e.g. with persistence or other keys), stopped afterwards."""
    proc, url = start_sandbox(extra_env)
    try:
        yield url
    finally:
        stop_sandbox(proc)


@pytest.fixture(scope="session")
def payments_sandbox_url() -> Iterator[str]:
    """Base URL of a sandbox process shared by the session (no persistence)."""
    with run_sandbox() as url:
        yield url


@dataclass
class Received:
    """One webhook POST as the receiver saw it."""

    body: bytes
    headers: dict[str, str]
    at: float


@dataclass
class WebhookReceiver:
    """A tiny HTTP server that records POSTs and answers ``status``."""

    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    cond: threading.Condition = field(default_factory=threading.Condition)

    def clear(self) -> None:
        with self.cond:
            self.requests.clear()
            self.status = 200

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until at least ``count`` requests arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"got {len(self.requests)} webhooks, wanted {count}")
                self.cond.wait(left)
            return list(self.requests)


@pytest.fixture(scope="session")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """Session-wide local webhook endpoint at ``<url>/webhooks/stripe``."""
    port = devstack.free_port()
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{port}/webhooks/stripe")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.cond:
                receiver.requests.append(Received(body, dict(self.headers.items()), time.time()))
                status = receiver.status
                receiver.cond.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def stripe_admin(payments_sandbox_url: str) -> Iterator[httpx.Client]:
    """HTTP client on ``/stripe/_sandbox`` with state reset and default switches."""
    with httpx.Client(base_url=payments_sandbox_url + "/stripe/_sandbox", timeout=10) as client:
        client.put(
            "/config",
            json={
                "webhook_url": None,
                "deliver_twice": False,
                "out_of_order": False,
                "out_of_order_batch": 0,
                "delay_ms": 0,
                "retry_delays_ms": [200],
            },
        ).raise_for_status()
        client.post("/reset").raise_for_status()
        yield client


@pytest.fixture
def webhooks(stripe_admin: httpx.Client, webhook_receiver: WebhookReceiver) -> WebhookReceiver:
    """The receiver, emptied and set as the sandbox's webhook URL."""
    webhook_receiver.clear()
    stripe_admin.put("/config", json={"webhook_url": webhook_receiver.url}).raise_for_status()
    return webhook_receiver


@pytest.fixture
def stripe_client(payments_sandbox_url: str, stripe_admin: httpx.Client) -> stripe.StripeClient:
    """The official SDK, unchanged, pointed at the sandbox."""
    return stripe.StripeClient(STRIPE_KEY, base_addresses={"api": payments_sandbox_url + "/stripe"})


@pytest.fixture
def mailgun(payments_sandbox_url: str) -> Iterator[httpx.Client]:
    """httpx client on ``/mailgun`` with the right basic auth and an empty mailbox."""
    with httpx.Client(
        base_url=payments_sandbox_url + "/mailgun", auth=("api", MAILGUN_KEY), timeout=10
    ) as client:
        client.delete("/_sandbox/messages").raise_for_status()
        yield client
