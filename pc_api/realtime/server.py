"""The Socket.IO server: authentication on connect, rooms, lead presence.

Rooms (api.md): every connection joins ``partner:{own partner}`` and ``marketplace``;
``join-lead`` adds ``lead:{id}`` for a lead the caller may see, or any listed lead
(``pc_core.leads.rooms``: a buyer looking at a listing; the room carries anonymised
events only); the owner may also ``join-partner`` any partner. Events emitted anywhere
through ``pc_core.events`` arrive through the Redis manager on ``events.CHANNEL``.

Client events and their acks (``{"ok": bool, ...}``; on failure ``error``):

- ``join-lead`` {lead_id} → {ok, lead_id, viewers, others}; emits ``viewer-joined``
- ``leave-lead`` {lead_id} → {ok, lead_id, viewers}; emits ``viewer-left``

``viewers`` counts distinct people (a user's tabs are one viewer), ``others`` the
viewers besides the caller; ``viewer-joined``/``viewer-left`` {lead_id, viewers} go
to the lead's room when that number changes, and never say who the viewers are.
- ``join-partner`` / ``leave-partner`` {partner_id} → {ok, partner_id}

Who may connect and join is decided by the one session rule HTTP requests follow
(``pc_core.identity.session_cache.caller``, with the session version). A connection lasts no
longer than its session: when the user's sign-in state changes (sign out
everywhere, a password change, a deactivation or deletion, a new role or partner)
every replica disconnects that user's connections the rule now refuses, or whose
rooms no longer fit (``pc_api.realtime.revocation``); and at the access token's
expiry the server disconnects it; the client refreshes its token and
connects again (socket.io-client: ``auth`` as a callback returning the current token,
then ``socket.connect()`` on an "io server disconnect").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import redis
import socketio
from pymongo.database import Database
from pymongo.errors import PyMongoError

from pc_api.realtime.auth import Viewer, authenticate, current_principal, token_from
from pc_api.realtime.origins import origin_checker
from pc_api.realtime.presence import Presence
from pc_api.realtime.resubscribe import ResubscribingRedisManager
from pc_api.realtime.revocation import ConnectionsByUser, StateListener
from pc_core import collections as c
from pc_core import events
from pc_core.errors import NotFound, Unauthorized
from pc_core.identity import session_cache
from pc_core.leads.rooms import require_followable
from pc_core.models.live_events import ViewerJoined, ViewerLeft
from pc_core.observability.metrics import SOCKETIO_CONNECTIONS
from pc_core.settings import Settings

log = logging.getLogger(__name__)

#: How long each shutdown step may take before it is left behind.
STOP_STEP_SECONDS = 5.0

JOIN_LEAD = "join-lead"
LEAVE_LEAD = "leave-lead"
JOIN_PARTNER = "join-partner"
LEAVE_PARTNER = "leave-partner"

MAX_LEADS_PER_CONNECTION = 50


def _error(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message}


def _id_from(data: Any, field: str) -> str | None:
    value = data.get(field) if isinstance(data, dict) else data
    if isinstance(value, str) and 0 < len(value) <= 200:
        return value
    return None


class Realtime:
    """The server and what it needs; ``start``/``stop`` run in the app's lifespan."""

    def __init__(self, settings: Settings, db: Database, r: redis.Redis) -> None:
        self.settings = settings
        self.db = db
        self.redis = r
        self.presence = Presence(settings.redis_url)
        self.connections = ConnectionsByUser()
        self.states = StateListener(settings.redis_url, self.recheck)
        self._expiring: set[asyncio.Future] = set()
        self.manager = ResubscribingRedisManager(settings.redis_url, channel=events.CHANNEL,
                                                 on_resubscribed=self.drop_local)
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=self.manager,
            cors_allowed_origins=origin_checker(settings),
            logger=False,
            engineio_logger=False,
        )
        self._register()

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe to the Redis channel now rather than at the first connection,
        so a client never connects before its server listens."""
        if not self.sio.manager_initialized:
            self.sio.manager_initialized = True
            self.manager.initialize()
        self.states.start()

    async def stop(self) -> None:
        """Stop listening and close connections, each step bounded in time: a Redis
        listener stuck in a reconnect must not hold the process (or a test) at shutdown."""
        task = getattr(self.manager, "thread", None)
        if isinstance(task, asyncio.Task) and not task.done():
            task.cancel()
            await _bounded(task)
        await _bounded(asyncio.ensure_future(self.states.stop()))
        await _bounded(asyncio.ensure_future(self.sio.shutdown()))
        await _bounded(asyncio.ensure_future(self.presence.close()))

    # -- handlers ------------------------------------------------------------------

    def _register(self) -> None:
        sio = self.sio
        sio.on("connect", self.on_connect)
        sio.on("disconnect", self.on_disconnect)
        sio.on(JOIN_LEAD, self.on_join_lead)
        sio.on(LEAVE_LEAD, self.on_leave_lead)
        sio.on(JOIN_PARTNER, self.on_join_partner)
        sio.on(LEAVE_PARTNER, self.on_leave_partner)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            viewer = await authenticate(self.db, self.redis, self.settings,
                                        token_from(environ, auth))
        except Unauthorized:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        except PyMongoError:
            log.exception("socket.io connect: database unavailable")
            raise socketio.exceptions.ConnectionRefusedError("service unavailable")
        expiry = asyncio.get_running_loop().call_later(
            max(0.0, viewer.expires_at - time.time()), self._expire, sid
        )
        await self.sio.save_session(sid, {"viewer": viewer, "leads": set(), "expiry": expiry})
        self.connections.add(viewer.user_id, sid)
        if viewer.partner_id is not None:
            await self.sio.enter_room(sid, events.partner_room(viewer.partner_id))
        await self.sio.enter_room(sid, events.user_room(viewer.user_id))
        await self.sio.enter_room(sid, events.marketplace_room())
        SOCKETIO_CONNECTIONS.inc()

    async def drop_local(self) -> None:
        """Cut this server's connections at the transport, without Socket.IO's
        disconnect packet, so each client reconnects by itself ("transport close") and
        refetches what it missed while the Redis subscription was down."""
        dropped = 0
        for uid in self.connections.users():
            for sid in self.connections.of(uid):
                eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
                socket = self.sio.eio.sockets.get(eio_sid) if eio_sid else None
                if socket is not None:
                    # abort: no close packet (python-socketio's client would take it
                    # as final); the None ends the writer, which closes the WebSocket
                    await socket.close(wait=False, abort=True)
                    await socket.queue.put(None)
                    dropped += 1
        log.warning("socket.io: Redis subscription restored; %d connections dropped so "
                    "their clients refetch what they missed", dropped)

    def _expire(self, sid: str) -> None:
        task = asyncio.ensure_future(self.sio.disconnect(sid))
        self._expiring.add(task)
        task.add_done_callback(self._expiring.discard)

    async def recheck(self, user_id: str | None) -> None:
        """Disconnect the connections of ``user_id`` (of every user when ``None``)
        that the session rule now refuses or whose rooms no longer fit."""
        for uid in [user_id] if user_id is not None else self.connections.users():
            for sid in self.connections.of(uid):
                try:
                    viewer: Viewer = (await self.sio.get_session(sid))["viewer"]
                except KeyError:
                    continue
                if not await self._still_fits(viewer):
                    await self.sio.disconnect(sid)

    async def _still_fits(self, viewer: Viewer) -> bool:
        try:
            principal = await asyncio.to_thread(
                session_cache.caller_after_change, self.db, self.redis,
                viewer.user_id, viewer.version,
            )
        except Unauthorized:
            return False
        except PyMongoError:
            log.exception("socket.io re-check: database unavailable; connection kept")
            return True
        return (principal.partner_id, principal.is_owner) == (viewer.partner_id,
                                                               viewer.is_owner)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        try:
            session = await self.sio.get_session(sid)
        except KeyError:
            return
        SOCKETIO_CONNECTIONS.dec()
        session["expiry"].cancel()
        self.connections.discard(session["viewer"].user_id, sid)
        for lead_id in list(session["leads"]):
            try:
                await self._leave_lead(sid, lead_id)
            except Exception:  # noqa: BLE001 - clean up the other leads regardless
                log.exception("socket.io disconnect: could not clear presence on %s", lead_id)
        session["leads"].clear()

    async def on_join_lead(self, sid: str, data: Any = None) -> dict[str, Any]:
        lead_id = _id_from(data, "lead_id")
        if lead_id is None:
            return _error("lead_id is required")
        session = await self.sio.get_session(sid)
        viewer: Viewer = session["viewer"]
        if lead_id not in session["leads"] and len(session["leads"]) >= MAX_LEADS_PER_CONNECTION:
            return _error("too many leads joined on this connection")
        try:
            principal = await current_principal(self.db, self.redis, viewer)
            await asyncio.to_thread(require_followable, self.db, principal, lead_id)
        except (NotFound, Unauthorized):
            return _error("lead not found")
        except PyMongoError:
            log.exception("socket.io join-lead: database unavailable")
            return _error("service unavailable")
        room = events.lead_room(lead_id)
        await self.sio.enter_room(sid, room)
        session["leads"].add(lead_id)
        change = await self.presence.join(lead_id, sid, viewer.user_id)
        if change.count_moved:
            counted = ViewerJoined(lead_id=lead_id, viewers=change.viewers, seq=change.seq)
            await self.sio.emit(counted.name, counted.payload(), room=room)
        return {"ok": True, "lead_id": lead_id, "viewers": change.viewers,
                "others": max(0, change.viewers - 1), "seq": change.seq}

    async def on_leave_lead(self, sid: str, data: Any = None) -> dict[str, Any]:
        lead_id = _id_from(data, "lead_id")
        if lead_id is None:
            return _error("lead_id is required")
        session = await self.sio.get_session(sid)
        if lead_id not in session["leads"]:
            return {"ok": True, "lead_id": lead_id, "viewers": await self.presence.count(lead_id)}
        session["leads"].discard(lead_id)
        count = await self._leave_lead(sid, lead_id)
        return {"ok": True, "lead_id": lead_id, "viewers": count}

    async def _leave_lead(self, sid: str, lead_id: str) -> int:
        room = events.lead_room(lead_id)
        with contextlib.suppress(KeyError, ValueError):
            await self.sio.leave_room(sid, room)
        change = await self.presence.leave(lead_id, sid)
        if change.count_moved:
            counted = ViewerLeft(lead_id=lead_id, viewers=change.viewers, seq=change.seq)
            await self.sio.emit(counted.name, counted.payload(), room=room)
        return change.viewers

    async def on_join_partner(self, sid: str, data: Any = None) -> dict[str, Any]:
        partner_id = _id_from(data, "partner_id")
        if partner_id is None:
            return _error("partner_id is required")
        viewer: Viewer = (await self.sio.get_session(sid))["viewer"]
        try:
            principal = await current_principal(self.db, self.redis, viewer)
            if not principal.can_see_partner(partner_id):
                return _error("partner not found")
            exists = await asyncio.to_thread(
                self.db[c.PARTNERS].find_one, {"_id": partner_id}, {"_id": 1}
            )
        except Unauthorized:
            return _error("partner not found")
        except PyMongoError:
            log.exception("socket.io join-partner: database unavailable")
            return _error("service unavailable")
        if exists is None:
            return _error("partner not found")
        await self.sio.enter_room(sid, events.partner_room(partner_id))
        return {"ok": True, "partner_id": partner_id}

    async def on_leave_partner(self, sid: str, data: Any = None) -> dict[str, Any]:
        partner_id = _id_from(data, "partner_id")
        if partner_id is None:
            return _error("partner_id is required")
        with contextlib.suppress(KeyError, ValueError):
            await self.sio.leave_room(sid, events.partner_room(partner_id))
        return {"ok": True, "partner_id": partner_id}


def build_server(settings: Settings, db: Database, r: redis.Redis) -> Realtime:
    return Realtime(settings, db, r)


async def _bounded(task: asyncio.Future[Any], seconds: float = STOP_STEP_SECONDS) -> None:
    """Wait for ``task`` at most ``seconds``; whatever it raised is logged, not raised."""
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        log.warning("realtime shutdown step still running after %.0f s; left behind", seconds)
        return
    with contextlib.suppress(asyncio.CancelledError):
        exc = task.exception()
        if exc is not None:
            log.warning("realtime shutdown step failed: %s", exc)
