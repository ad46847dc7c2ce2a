"""Each API process's copy of the sign-in states it used, so most requests ask
Redis nothing either; and the one rule for who is calling (``caller``), used by
every HTTP request and every Socket.IO connection and room join alike.

A state published to Redis (``session_state.publish``) is also announced on the
``CHANNEL``; every process listens there and drops its copy of that user at once,
and the publishing process drops its own before the write returns. A copy is kept
at most ``LOCAL_TTL_S``, and only while the process is subscribed: one that lost
its subscription (Redis restarted, network) forgets everything and reads Redis
until it is back. A state read from Redis while a change was announced is not
kept (``remember`` compares the user's generation from before the read).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import redis
from pymongo.database import Database

from pc_core.access import Principal
from pc_core.identity import session_state
from pc_core.identity.session_state import CHANNEL, UserState

log = logging.getLogger(__name__)

LOCAL_TTL_S = 10.0
_RETRY_S = 1.0


class LocalStates:
    def __init__(self, r: redis.Redis) -> None:
        self._r = r
        self._lock = threading.Lock()
        self._states: dict[str, tuple[UserState, float]] = {}
        self._generations: dict[str, int] = {}
        self._epoch = 0  # bumped when everything is forgotten
        self.live = False
        self._thread = threading.Thread(target=self._listen, name="pc-session-cache",
                                        daemon=True)
        self._thread.start()

    def get(self, user_id: str) -> tuple[UserState | None, tuple[int, int]]:
        """The kept state (or ``None``) and the token ``remember`` needs."""
        with self._lock:
            since = (self._epoch, self._generations.get(user_id, 0))
            hit = self._states.get(user_id) if self.live else None
        if hit is not None and hit[1] > time.monotonic():
            return hit[0], since
        return None, since

    def remember(self, state: UserState, since: tuple[int, int]) -> None:
        """Keep ``state``, read after ``get`` gave ``since``, unless a change of that
        user was announced (or the subscription lost) meanwhile."""
        with self._lock:
            now = (self._epoch, self._generations.get(state.user_id, 0))
            if self.live and now == since:
                self._states[state.user_id] = (state, time.monotonic() + LOCAL_TTL_S)

    def drop(self, user_id: str) -> None:
        with self._lock:
            self._states.pop(user_id, None)
            self._generations[user_id] = self._generations.get(user_id, 0) + 1

    def forget_all(self, *, live: bool) -> None:
        with self._lock:
            self._states.clear()
            self._generations.clear()
            self._epoch += 1
            self.live = live

    def _listen(self) -> None:
        while True:
            pubsub = self._r.pubsub()
            try:
                pubsub.subscribe(CHANNEL)
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self.forget_all(live=True)
                    elif message["type"] == "message":
                        self.drop(str(message["data"]))
            except Exception:  # noqa: BLE001 - any trouble: forget, retry, read Redis meanwhile
                if self.live:  # said once per outage
                    log.warning("sign-in state channel lost; reading Redis until it is back")
                self.forget_all(live=False)
                time.sleep(_RETRY_S)
            finally:
                with contextlib.suppress(Exception):
                    pubsub.close()


# By Redis client (shared clients live as long as the process; each copy keeps its own).
_by_client: dict[int, LocalStates] = {}
_create = threading.Lock()


def of(r: redis.Redis) -> LocalStates:
    """The process's copy for the Redis behind ``r`` (listening from the first call)."""
    local = _by_client.get(id(r))
    if local is None:
        with _create:
            local = _by_client.get(id(r))
            if local is None:
                local = _by_client[id(r)] = LocalStates(r)
    return local


def _dropped_here(r: redis.Redis, user_id: str) -> None:
    local = _by_client.get(id(r))
    if local is not None:
        local.drop(user_id)


session_state.on_publish(_dropped_here)


# -- who is calling: the one rule for HTTP requests and Socket.IO connections --------

def caller_if_known(r: redis.Redis, user_id: str, version: int) -> Principal | None:
    """The caller of an access token for ``user_id`` issued at session ``version``,
    from this process's copy or Redis; ``None`` when the state must be read from the
    database (then ``caller``). ``Unauthorized`` when the user is inactive or gone,
    or its sessions were revoked since (``UserState.principal``)."""
    local = of(r)
    state, since = local.get(user_id)
    if state is None:
        state = session_state.cached(r, user_id)
        if state is None:
            return None
        local.remember(state, since)
    return state.principal(version)


def caller(db: Database, r: redis.Redis, user_id: str, version: int) -> Principal:
    """``caller_if_known``, reading the user when no state is published. Blocking
    (pymongo): async callers try ``caller_if_known`` first and run this in a thread."""
    known = caller_if_known(r, user_id, version)
    if known is not None:
        return known
    local = of(r)
    _, since = local.get(user_id)
    state = session_state.load(db, r, user_id)
    local.remember(state, since)
    return state.principal(version)


def caller_after_change(db: Database, r: redis.Redis, user_id: str, version: int) -> Principal:
    """``caller`` once a change of the user was announced: this process's copy may
    not have heard of it yet, so it is dropped first and the rule reads Redis."""
    of(r).drop(user_id)
    return caller(db, r, user_id, version)
