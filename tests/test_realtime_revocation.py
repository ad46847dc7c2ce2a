"""A revoked session ends its live connections: sign out everywhere, a password
change or a deactivation disconnects the user's open Socket.IO connections on
every API replica within a second, and the revoked token can neither reconnect nor
join a room. Clients: the official JavaScript Socket.IO client (socket.io-client,
run by Node) against two real API processes."""

from __future__ import annotations

import asyncio
import json
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from pc_api.realtime.auth import Viewer, authenticate, current_principal
from pc_core.access import Role
from pc_core.errors import Unauthorized
from pc_core.identity import session_cache
from pc_core.identity.sessions import sign_out_everywhere
from pc_dev import devstack
from tests import test_realtime
from tests.conftest import PASSWORD, Account, install_js_socketio_client, make_account
from tests.test_realtime import Api, make_lead, publish, start_api

api = test_realtime.api  # the same fixture: one API process for this module too

#: What the issue asks: gone within a second of the change, on every replica.
DISCONNECT_WITHIN_S = 1.0

NODE_CLIENT = r"""
// Prints one JSON line per happening; stdin lines {"emit", "data"} are sent with an ack.
const { io } = require("socket.io-client");
const readline = require("readline");
const [url, token] = process.argv.slice(2);
const say = (o) => console.log(JSON.stringify({ ...o, at: Date.now() }));
const socket = io(url, { auth: { token }, reconnection: false, timeout: 10000 });
let reconnected = false;
socket.on("connect", () => say({ connected: true }));
socket.on("connect_error", (err) => say({ connect_error: err.message }));
socket.on("disconnect", (reason) => {
  say({ disconnect: reason });
  // What the web client does on a server disconnect: connect again (with its token).
  if (reason === "io server disconnect" && !reconnected) { reconnected = true; socket.connect(); }
});
socket.onAny((event, data) => say({ event, data }));
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const { emit, data } = JSON.parse(line);
  if (!socket.connected) {
    say({ ack: emit, data: { ok: false, error: "not connected" } });
    return;
  }
  socket.timeout(5000).emit(emit, data, (err, ack) =>
    say({ ack: emit, data: err ? { ok: false, error: String(err) } : ack }));
});
setTimeout(() => process.exit(3), 60000);
"""


@pytest.fixture(scope="module")
def node_client(tmp_path_factory) -> Path:
    return install_js_socketio_client(tmp_path_factory, "sio-js-revoke", NODE_CLIENT)


@pytest.fixture(scope="module")
def second_replica(api: Api, tmp_path_factory) -> Iterator[str]:
    group = devstack.ProcessGroup()
    try:
        yield start_api(group, api.env, tmp_path_factory.mktemp("rt-api-2") / "api.log")
    finally:
        group.stop_all()


class JsClient:
    """One socket.io-client connection in its own Node process."""

    def __init__(self, script: Path, url: str, token: str) -> None:
        self.proc = subprocess.Popen(
            ["node", str(script), url, token], cwd=script.parent, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.lines.put(json.loads(line))

    def next(self, match: Callable[[dict], bool], timeout: float = 10.0) -> dict:
        """The first line from now on that matches (earlier ones are dropped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(0.01, left))
            except queue.Empty:
                raise AssertionError("the JavaScript client said nothing matching") from None
            if match(line):
                return line

    def call(self, event: str, data: dict) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"emit": event, "data": data}) + "\n")
        self.proc.stdin.flush()
        return self.next(lambda line: line.get("ack") == event)["data"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)


def revoke_by_signing_out_everywhere(api: Api, account: Account) -> None:
    answer = httpx.post(f"{api.url}/v1/auth/logout-all", headers=account.headers)
    assert answer.status_code == 204, answer.text


def revoke_by_password_change(api: Api, account: Account) -> None:
    answer = httpx.patch(f"{api.url}/v1/users/{account.id}", headers=api.admin_a.headers,
                         json={"password": PASSWORD + "-new"})
    assert answer.status_code == 200, answer.text


def revoke_by_deactivation(api: Api, account: Account) -> None:
    answer = httpx.patch(f"{api.url}/v1/users/{account.id}", headers=api.admin_a.headers,
                         json={"active": False})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("revoke", [revoke_by_signing_out_everywhere,
                                    revoke_by_password_change, revoke_by_deactivation])
def test_revocation_disconnects_open_sockets_on_every_replica(
    api: Api, second_replica: str, node_client: Path, revoke,
) -> None:
    account = make_account(api.db, api.settings, Role.USER, api.partner_a)
    token = api.token(account)
    lead = make_lead(api, api.partner_a)
    here = JsClient(node_client, api.url, token)
    there = JsClient(node_client, second_replica, token)
    try:
        for client in (here, there):
            client.next(lambda line: line.get("connected") is True)
            assert client.call("join-lead", {"lead_id": lead})["ok"] is True
        marker = uuid.uuid4().hex
        publish(api, f"events.publish(s, 'probe', {{'m': '{marker}'}}, "
                     f"[events.partner_room('{api.partner_a}')])\n")
        for client in (here, there):  # live before the revocation
            client.next(lambda line: line.get("event") == "probe"
                        and line["data"]["m"] == marker)

        revoke(api, account)
        revoked_at = time.time() * 1000
        for client in (here, there):
            gone = client.next(lambda line: "disconnect" in line)
            assert gone["disconnect"] == "io server disconnect"
            assert gone["at"] - revoked_at < DISCONNECT_WITHIN_S * 1000, gone
            # It connects again, as the web client does, with its revoked token: refused.
            again = client.next(lambda line: "connect_error" in line or "connected" in line)
            assert again.get("connect_error") == "unauthorized", again

        marker = uuid.uuid4().hex
        publish(api, f"events.publish(s, 'probe', {{'m': '{marker}'}}, "
                     f"[events.partner_room('{api.partner_a}'), events.lead_room('{lead}')])\n")
        time.sleep(0.5)
        for client in (here, there):
            heard = [line for line in list(client.lines.queue) if line.get("event") == "probe"]
            assert heard == []
            assert client.call("join-lead", {"lead_id": lead})["ok"] is False
    finally:
        here.close()
        there.close()


def test_an_unaffected_user_keeps_its_socket(api: Api, node_client: Path) -> None:
    """Another user's revocation, or the user's own sign-in elsewhere, ends nothing."""
    stays = make_account(api.db, api.settings, Role.USER, api.partner_a)
    other = make_account(api.db, api.settings, Role.USER, api.partner_a)
    client = JsClient(node_client, api.url, api.token(stays))
    try:
        client.next(lambda line: line.get("connected") is True)
        revoke_by_signing_out_everywhere(api, other)
        login = httpx.post(f"{api.url}/v1/auth/login",
                           json={"email": stays.email, "password": PASSWORD})
        assert login.status_code == 200, login.text  # publishes the user's state again
        time.sleep(DISCONNECT_WITHIN_S)
        lead = make_lead(api, api.partner_a)
        assert client.call("join-lead", {"lead_id": lead})["ok"] is True
        assert not [line for line in list(client.lines.queue) if "disconnect" in line]
    finally:
        client.close()


def test_room_joins_follow_the_session_rule(api: Api) -> None:
    """A join is checked by the same rule as an HTTP request, session version
    included: a connection whose session was revoked is refused even before (or
    without) the disconnect reaching it."""
    r = redis.Redis.from_url(api.settings.redis_url)
    account = make_account(api.db, api.settings, Role.USER, api.partner_a)

    async def viewer_then_principal() -> tuple[Viewer, Callable]:
        viewer = await authenticate(api.db, r, api.settings, api.token(account))
        return viewer, lambda: current_principal(api.db, r, viewer)

    try:
        viewer, principal = asyncio.run(viewer_then_principal())
        assert asyncio.run(principal()).user_id == account.id
        sign_out_everywhere(api.db, r, account.id)
        with pytest.raises(Unauthorized, match="revoked"):
            asyncio.run(principal())
        with pytest.raises(Unauthorized, match="revoked"):
            session_cache.caller(api.db, r, account.id, viewer.version)
        with pytest.raises(Unauthorized):
            asyncio.run(authenticate(api.db, r, api.settings, api.token(account)))
    finally:
        r.close()


def test_a_user_moved_to_another_partner_is_reconnected_into_its_new_rooms(
    api: Api, node_client: Path,
) -> None:
    """A move does not revoke the session, but the connection sits in the old
    partner's room: it is disconnected, and its reconnection joins the new one."""
    account = make_account(api.db, api.settings, Role.USER, api.partner_a)
    client = JsClient(node_client, api.url, api.token(account))
    try:
        client.next(lambda line: line.get("connected") is True)
        answer = httpx.patch(f"{api.url}/v1/users/{account.id}", headers=api.owner.headers,
                             json={"partner_id": api.partner_b})
        assert answer.status_code == 200, answer.text
        assert client.next(lambda line: "disconnect" in line)["disconnect"] \
            == "io server disconnect"
        client.next(lambda line: line.get("connected") is True)
        marker = uuid.uuid4().hex
        publish(api, f"events.publish(s, 'probe', {{'m': 'old-{marker}'}}, "
                     f"[events.partner_room('{api.partner_a}')])\n"
                     f"events.publish(s, 'probe', {{'m': 'new-{marker}'}}, "
                     f"[events.partner_room('{api.partner_b}')])\n")
        got = client.next(lambda line: line.get("event") == "probe")
        assert got["data"]["m"] == f"new-{marker}"
    finally:
        client.close()
