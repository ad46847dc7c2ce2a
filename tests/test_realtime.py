"""Real-time over a real server: the API under uvicorn in its own process, clients
connecting with python-socketio (and Socket.IO 4.x for JavaScript, through Node),
events published from yet another process through ``pc_core.events``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import socketio
from pymongo.database import Database

from pc_api.realtime.presence import viewers_key
from pc_core import events
from pc_core.access import Role
from pc_core.db import get_db
from pc_core.identity.partners import create_partner
from pc_core.leads.inventory import create_lead
from pc_core.models.leads import LeadCreate
from pc_core.security.jwt_tokens import create_access_token
from pc_core.settings import Settings
from pc_core.store.indexes import ensure_indexes
from pc_dev import devstack
from tests.conftest import (
    SYSTEM,
    Account,
    Stores,
    enable_payouts,
    install_js_socketio_client,
    make_account,
)

ROOT = Path(__file__).resolve().parents[1]
WAIT = 10.0


@dataclass
class Api:
    url: str
    settings: Settings
    db: Database
    env: dict[str, str]
    partner_a: str
    partner_b: str
    owner: Account
    admin_a: Account
    user_a: Account
    admin_b: Account

    def token(self, account: Account) -> str:
        return account.headers["Authorization"].removeprefix("Bearer ")


def start_api(group: devstack.ProcessGroup, env: dict[str, str], log_path: Path) -> str:
    """One more API process (uvicorn, one worker); its URL once it listens."""
    r = redis.Redis.from_url(env["REDIS_URL"])
    before = dict(r.pubsub_numsub(events.CHANNEL)).get(events.CHANNEL.encode(), 0)
    port = devstack.free_port()
    proc = group.start(
        "api",
        [devstack.venv_bin("uvicorn"), "--factory", "pc_api.main:app_factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--timeout-graceful-shutdown", "2"],
        env=env, log_path=log_path, cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    devstack.wait_until(lambda: devstack.http_answers(url + "/health"), 60, "API", proc)
    # The server subscribes to the event channel in its lifespan.
    devstack.wait_until(
        lambda: dict(r.pubsub_numsub(events.CHANNEL)).get(events.CHANNEL.encode(), 0) > before,
        20, "Socket.IO subscription", proc,
    )
    r.close()
    return url


@pytest.fixture(scope="module")
def api(stores: Stores, tmp_path_factory) -> Iterator[Api]:
    """One API process for the module, over a database of its own."""
    settings = Settings(
        env="development", mongodb_uri=stores.mongo_uri, redis_url=stores.redis_url,
        mongodb_db=f"rt_{uuid.uuid4().hex[:12]}",
    )
    db = get_db(settings)
    ensure_indexes(db)
    operator = create_partner(db, SYSTEM, name="Operator", is_operator=True).id
    a = create_partner(db, SYSTEM, name="Agency A").id
    b = create_partner(db, SYSTEM, name="Agency B").id
    enable_payouts(db, a, b)
    env = {"MONGODB_URI": settings.mongodb_uri, "REDIS_URL": settings.redis_url,
           "MONGODB_DB": settings.mongodb_db, "PC_ENV": "development"}
    group = devstack.ProcessGroup()
    try:
        url = start_api(group, env, tmp_path_factory.mktemp("rt-api") / "api.log")
        yield Api(
            url, settings, db, env, a, b,
            owner=make_account(db, settings, Role.OWNER, operator),
            admin_a=make_account(db, settings, Role.ADMIN, a),
            user_a=make_account(db, settings, Role.USER, a),
            admin_b=make_account(db, settings, Role.ADMIN, b),
        )
    finally:
        group.stop_all()
        db.client.drop_database(settings.mongodb_db)


class Recorder:
    """A python-socketio client that records every event it receives.

    Long-polling: the sync client's WebSocket transport needs ``websocket-client``,
    which is not a dependency here; the WebSocket transport is exercised by the
    JavaScript client below and by ``bench/realtime_fanout_bench.py``.
    """

    def __init__(self) -> None:
        self.client = socketio.Client(reconnection=False)
        self.events: list[tuple[str, object]] = []
        self._cond = threading.Condition()
        self.client.on("*", self._record)

    def _record(self, event: str, data: object = None) -> None:
        with self._cond:
            self.events.append((event, data))
            self._cond.notify_all()

    def connect(self, url: str, *, token: str | None = None,
                headers: dict[str, str] | None = None) -> Recorder:
        self.client.connect(
            url, auth={"token": token} if token is not None else None, headers=headers or {},
            transports=["polling"], wait_timeout=WAIT,
        )
        return self

    def wait_for(self, match: Callable[[str, object], bool], timeout: float = WAIT):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event, data in self.events:
                    if match(event, data):
                        return event, data
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching event; got {self.events!r}")
                self._cond.wait(left)

    def received(self, match: Callable[[str, object], bool]) -> bool:
        with self._cond:
            return any(match(e, d) for e, d in self.events)

    def call(self, event: str, data: dict) -> dict:
        return self.client.call(event, data, timeout=WAIT)

    def close(self) -> None:
        """Send the disconnect now; don't wait for the client's pending long-poll,
        which the server only answers at its next ping (up to 25 s)."""
        if self.client.connected:
            threading.Thread(target=self.client.disconnect, daemon=True).start()


@pytest.fixture
def connect(api: Api) -> Iterator[Callable[..., Recorder]]:
    opened: list[Recorder] = []

    def _connect(account: Account | None = None, **kwargs) -> Recorder:
        rec = Recorder()
        opened.append(rec)
        token = api.token(account) if account is not None else kwargs.pop("token", None)
        return rec.connect(api.url, token=token, **kwargs)

    yield _connect
    for rec in opened:
        rec.close()


def publish(api: Api, code: str) -> None:
    """Run ``code`` in a separate Python process with ``s`` = the API's settings."""
    script = ("from pc_core import events\nfrom pc_core.models import live_events as le\n"
              "from pc_core.models.marketplace import ListingOut\n"
              "from pc_core.settings import Settings\ns = Settings()\n")
    proc = subprocess.run(
        [sys.executable, "-c", script + code], env={**os.environ, **api.env}, cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


def _listing(lead_id: str, seller: str, price_cents: int) -> dict:
    """A listing as ``ListingOut`` JSON, what ``LeadListed.of_listing`` takes."""
    return {"id": lead_id, "own": False, "seller_partner_id": seller, "seller_name": "B",
            "seller_rating": None, "company_size": None, "industry": None, "location": None,
            "budget_cents": None, "stage": "new", "age_days": 0,
            "created_at": "2026-01-01T00:00:00Z", "price_cents": price_cents,
            "commission_cents": price_cents // 10, "buyer_total_cents": price_cents,
            "currency": "usd"}


def is_event(name: str, **fields) -> Callable[[str, object], bool]:
    def match(event: str, data: object) -> bool:
        return event == name and isinstance(data, dict) and all(
            data.get(k) == v for k, v in fields.items()
        )
    return match


def make_lead(api: Api, partner_id: str) -> str:
    return create_lead(api.db, SYSTEM, LeadCreate(title="Rt lead", partner_id=partner_id)).id


# -- authentication ---------------------------------------------------------------


def test_valid_token_or_cookie_connects(api, connect):
    assert connect(api.admin_a).client.connected
    cookie = {"Cookie": f"theme=dark; pc_access={api.token(api.user_a)}"}
    assert connect(headers=cookie).client.connected
    assert connect(api.admin_a, headers={"Origin": api.url}).client.connected


def test_bad_or_missing_tokens_and_foreign_origins_are_refused(api):
    ghost, _ = create_access_token(api.settings, "no-such-user")  # well-formed, no user
    attempts = {
        "garbage token": {"auth": {"token": "not-a-token"}},
        "no token": {},
        "empty token": {"auth": {"token": ""}},
        "token of no user": {"auth": {"token": ghost}},
        "forged cookie": {"headers": {"Cookie": "pc_access=forged"}},
        # The cookie rides along cross-site: a foreign page must not connect with it.
        "foreign origin": {"auth": {"token": api.token(api.admin_a)},
                           "headers": {"Origin": "https://evil.example"}},
    }

    # Over WebSocket, as a browser ends up connected, and, for the origin check, over
    # long-polling too (the transport a browser's client opens with). A polling client
    # whose Socket.IO CONNECT is refused waits for its last long-poll to end (the
    # server's next ping, 25 s) before connect() raises, so the refused tokens are
    # tried over WebSocket; a foreign origin is refused at the polling handshake.
    tries = [(name, "websocket", kwargs) for name, kwargs in attempts.items()]
    tries.append(("foreign origin", "polling", attempts["foreign origin"]))

    def attempt(transport: str, kwargs: dict) -> str:
        client = socketio.Client(reconnection=False)
        try:
            client.connect(api.url, transports=[transport], wait_timeout=WAIT, **kwargs)
        except socketio.exceptions.ConnectionError as exc:
            return f"refused: {exc}"
        threading.Thread(target=client.disconnect, daemon=True).start()
        return "connected"

    with ThreadPoolExecutor(len(tries)) as pool:
        outcomes = dict(zip([(name, transport) for name, transport, _ in tries],
                            pool.map(lambda t: attempt(t[1], t[2]), tries), strict=True))
    assert all(o.startswith("refused") for o in outcomes.values()), outcomes
    # the same client and transports do connect with a good token from our origin
    good = {"auth": {"token": api.token(api.admin_a)}}
    assert attempt("websocket", good) == attempt("polling", good) == "connected"


def test_other_paths_still_reach_fastapi(api):
    import httpx

    assert httpx.get(api.url + "/health", timeout=5).status_code == 200
    me = httpx.get(api.url + "/v1/auth/me", headers=api.admin_a.headers, timeout=5)
    assert me.status_code in (200, 404)  # the route is FastAPI's, whatever its answer


def test_a_connection_ends_when_its_token_expires(api, connect):
    import jwt

    from pc_core.timeutil import utcnow

    now = utcnow()
    short = jwt.encode(
        {"sub": api.admin_a.id, "typ": "access", "iat": now,
         "exp": now + timedelta(seconds=2), "jti": uuid.uuid4().hex},
        api.settings.secret_key, algorithm="HS256",
    )
    rec = connect(token=short)
    assert rec.client.connected
    devstack.wait_until(lambda: not rec.client.connected, 10, "disconnect at token expiry")


# -- events from another process ----------------------------------------------------


def test_events_from_another_process_reach_the_right_rooms(api, connect):
    a = connect(api.admin_a)
    b = connect(api.admin_b)
    marker = uuid.uuid4().hex
    publish(api, (
        f"events.emit(s, le.LeadListed.of_listing(ListingOut.model_validate("
        f"{_listing(f'L-{marker}', api.partner_b, 12345)})))\n"
        f"events.publish(s, events.LEAD_SOLD, {{'lead_id': 'S-{marker}'}},"
        f" [events.partner_room('{api.partner_b}')])\n"
        f"events.publish(s, 'probe', {{'marker': '{marker}'}}, [events.marketplace_room()])\n"
    ))
    for rec in (a, b):
        _, data = rec.wait_for(is_event(events.LEAD_LISTED, lead_id=f"L-{marker}"))
        assert data["price_cents"] == 12345 and data["partner_id"] == api.partner_b
    b.wait_for(is_event(events.LEAD_SOLD, lead_id=f"S-{marker}"))
    # Same channel, same order: once the probe is in, a partner:B event would be too.
    a.wait_for(is_event("probe", marker=marker))
    assert not a.received(is_event(events.LEAD_SOLD, lead_id=f"S-{marker}"))


def test_a_sale_published_elsewhere_reaches_seller_and_buyer(api, connect):
    seller, buyer, owner = connect(api.admin_a), connect(api.admin_b), connect(api.owner)
    lead = f"sold-{uuid.uuid4().hex}"
    publish(api, f"events.emit(s, le.LeadSold(lead_id='{lead}', seller_partner_id="
                 f"'{api.partner_a}', buyer_partner_id='{api.partner_b}'))\n")
    for rec in (seller, buyer, owner):
        _, data = rec.wait_for(is_event(events.LEAD_SOLD, lead_id=lead))
        assert data["seller_partner_id"] == api.partner_a
        assert data["buyer_partner_id"] == api.partner_b


def test_owner_may_join_any_partner_room_others_may_not(api, connect):
    owner = connect(api.owner)
    user_a = connect(api.user_a)
    assert owner.call("join-partner", {"partner_id": api.partner_b}) == {
        "ok": True, "partner_id": api.partner_b}
    refused = user_a.call("join-partner", {"partner_id": api.partner_b})
    assert refused["ok"] is False
    assert owner.call("join-partner", {"partner_id": "nope"})["ok"] is False
    marker = uuid.uuid4().hex
    publish(api, (
        f"events.publish(s, 'probe', {{'marker': '{marker}'}},"
        f" [events.partner_room('{api.partner_b}')])\n"
        f"events.publish(s, 'probe', {{'marker': 'end-{marker}'}}, [events.marketplace_room()])\n"
    ))
    owner.wait_for(is_event("probe", marker=marker))
    user_a.wait_for(is_event("probe", marker=f"end-{marker}"))
    assert not user_a.received(is_event("probe", marker=marker))


# -- lead rooms and presence --------------------------------------------------------


def test_viewers_join_and_leave_a_lead(api, connect):
    lead = make_lead(api, api.partner_a)
    first = connect(api.admin_a)
    second = connect(api.user_a)
    r = redis.Redis.from_url(api.settings.redis_url)

    joined = first.call("join-lead", {"lead_id": lead})
    assert joined == {"ok": True, "lead_id": lead, "viewers": 1, "others": 0,
                      "seq": joined["seq"]}
    first.wait_for(is_event(events.VIEWER_JOINED, lead_id=lead, viewers=1))
    second_join = second.call("join-lead", {"lead_id": lead})
    assert second_join["viewers"] == 2
    # Counts are ordered: the later change carries the higher sequence number, so a
    # client can drop a count relayed late through Redis.
    assert second_join["seq"] > joined["seq"]
    for rec in (first, second):
        _, data = rec.wait_for(is_event(events.VIEWER_JOINED, lead_id=lead, viewers=2))
        # a number, never who
        assert data == {"lead_id": lead, "viewers": 2, "seq": second_join["seq"]}
    # Joining again changes nothing.
    assert second.call("join-lead", {"lead_id": lead})["viewers"] == 2
    assert r.hlen(viewers_key(lead)) == 2

    assert second.call("leave-lead", {"lead_id": lead})["viewers"] == 1
    _, data = first.wait_for(is_event(events.VIEWER_LEFT, lead_id=lead, viewers=1))
    assert data["viewers"] == 1 and set(data) == {"lead_id", "viewers", "seq"}
    assert data["seq"] > second_join["seq"]

    # Events to the lead room reach the viewer still in it, not the one who left.
    publish(api, f"events.emit(s, le.StageUpdated(lead_id='{lead}', partner_id="
                 f"'{api.partner_a}', from_='new', to='won'))\n")
    first.wait_for(is_event(events.STAGE_UPDATED, lead_id=lead, to="won"))

    # A disconnect clears the presence.
    second.call("join-lead", {"lead_id": lead})
    first.wait_for(is_event(events.VIEWER_JOINED, lead_id=lead, viewers=2))
    second.close()
    first.wait_for(is_event(events.VIEWER_LEFT, lead_id=lead, viewers=1))
    first.close()
    devstack.wait_until(lambda: r.hlen(viewers_key(lead)) == 0, 5, "presence cleanup")
    r.close()


def test_presence_is_shared_by_api_replicas(api, tmp_path):
    group = devstack.ProcessGroup()
    try:
        other_url = start_api(group, api.env, tmp_path / "api-2.log")
        lead = make_lead(api, api.partner_a)
        here = Recorder().connect(api.url, token=api.token(api.admin_a))
        there = Recorder().connect(other_url, token=api.token(api.user_a))
        try:
            assert here.call("join-lead", {"lead_id": lead})["viewers"] == 1
            assert there.call("join-lead", {"lead_id": lead})["viewers"] == 2
            here.wait_for(is_event(events.VIEWER_JOINED, lead_id=lead, viewers=2))
            assert there.call("leave-lead", {"lead_id": lead})["viewers"] == 1
            here.wait_for(is_event(events.VIEWER_LEFT, lead_id=lead, viewers=1))
        finally:
            here.close()
            there.close()
    finally:
        group.stop_all()


def test_another_partners_lead_cannot_be_joined(api, connect):
    lead = make_lead(api, api.partner_a)
    viewer_a = connect(api.admin_a)
    intruder = connect(api.admin_b)
    refused = intruder.call("join-lead", {"lead_id": lead})
    assert refused == {"ok": False, "error": "lead not found"}
    assert intruder.call("join-lead", {"lead_id": "no-such-lead"})["ok"] is False
    assert intruder.call("join-lead", {})["ok"] is False
    # The owner sees every lead.
    owner = connect(api.owner)
    owner_ack = owner.call("join-lead", {"lead_id": lead})
    assert owner_ack == {"ok": True, "lead_id": lead, "viewers": 1, "others": 0,
                         "seq": owner_ack["seq"]}

    marker = uuid.uuid4().hex
    publish(api, (
        f"events.publish(s, 'probe', {{'marker': '{marker}'}}, [events.lead_room('{lead}')])\n"
        f"events.publish(s, 'probe', {{'marker': 'end'}}, [events.marketplace_room()])\n"
    ))
    owner.wait_for(is_event("probe", marker=marker))
    intruder.wait_for(is_event("probe", marker="end"))
    assert not intruder.received(is_event("probe", marker=marker))
    assert not viewer_a.received(is_event("probe", marker=marker))  # never joined
    assert not intruder.received(is_event(events.VIEWER_JOINED, lead_id=lead))


# -- a JavaScript Socket.IO 4.x client ------------------------------------------------

NODE_CLIENT = r"""
const { io } = require("socket.io-client");
const [url, token] = process.argv.slice(2);
const socket = io(url, { auth: { token }, reconnection: false, timeout: 10000 });
socket.on("connect", () => console.log(JSON.stringify({ connected: true })));
socket.on("connect_error", (err) => {
  console.log(JSON.stringify({ connect_error: err.message }));
  process.exit(2);
});
socket.on("lead-listed", (data) => {
  console.log(JSON.stringify({ event: "lead-listed", data }));
  socket.close();
  process.exit(0);
});
setTimeout(() => { console.log(JSON.stringify({ timeout: true })); process.exit(3); }, 30000);
"""


@pytest.fixture(scope="module")
def node_client(tmp_path_factory) -> Path:
    return install_js_socketio_client(tmp_path_factory, "sio-js", NODE_CLIENT)


def _node_lines(proc: subprocess.Popen) -> Iterator[dict]:
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.strip()
        if line.startswith("{"):
            yield json.loads(line)


def test_a_javascript_socketio_4_client_connects_and_receives(api, node_client):
    def run(token: str) -> tuple[subprocess.Popen, Iterator[dict]]:
        proc = subprocess.Popen(
            ["node", str(node_client), api.url, token], cwd=node_client.parent,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        return proc, _node_lines(proc)

    bad, bad_lines = run("forged")
    try:
        assert next(bad_lines) == {"connect_error": "unauthorized"}
    finally:
        bad.wait(10)

    proc, lines = run(api.token(api.admin_a))
    try:
        assert next(lines) == {"connected": True}
        marker = uuid.uuid4().hex
        publish(api, "events.emit(s, le.LeadListed.of_listing(ListingOut.model_validate("
                     f"{_listing(f'JS-{marker}', 'p', 100)})))\n")
        got = next(lines)
        assert got["event"] == "lead-listed" and got["data"]["lead_id"] == f"JS-{marker}"
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
