"""Ending the connections of a user whose sign-in state changed.

Every change of a user's sign-in state (a revoked session, a password change, a
deactivation, a deletion, a role or partner change) is published by
``pc_core.identity.session_state`` and announced, with the user's id, on its Redis channel
(``session_state.CHANNEL``), which every API replica shares. Each replica listens
there and re-applies the session rule to that user's connections: the ones it
refuses, and the ones whose rooms no longer fit the user (a new partner or role),
are disconnected at once, well within a second. A client whose session is still
good reconnects and joins the rooms that fit it now.

When the subscription is (re)established, announcements may have been missed, so
every connected user is re-checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from pc_core.identity.session_state import CHANNEL

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0

#: Called with the user id of an announcement, or ``None``: re-check everyone.
Recheck = Callable[[str | None], Awaitable[None]]


class ConnectionsByUser:
    """Which Socket.IO connections (sids) each user has open on this replica."""

    def __init__(self) -> None:
        self._sids: dict[str, set[str]] = {}

    def add(self, user_id: str, sid: str) -> None:
        self._sids.setdefault(user_id, set()).add(sid)

    def discard(self, user_id: str, sid: str) -> None:
        sids = self._sids.get(user_id)
        if sids is not None:
            sids.discard(sid)
            if not sids:
                del self._sids[user_id]

    def of(self, user_id: str) -> list[str]:
        return list(self._sids.get(user_id, ()))

    def users(self) -> list[str]:
        return list(self._sids)


class StateListener:
    """Listens on the sign-in state channel and calls ``recheck`` for each
    announcement, in the server's event loop."""

    def __init__(self, redis_url: str, recheck: Recheck) -> None:
        self._url = redis_url
        self._recheck = recheck
        self._task: asyncio.Task | None = None
        self.subscribed = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="pc-realtime-revocation")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _listen(self) -> None:
        while True:
            client = aioredis.Redis.from_url(self._url, decode_responses=True)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self.subscribed.set()
                        await self._call(None)
                    elif message["type"] == "message":
                        await self._call(str(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - any trouble: retry; the resubscription re-checks all
                if self.subscribed.is_set():
                    log.warning("sign-in state channel lost; open connections are re-checked "
                                "when it is back")
                self.subscribed.clear()
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _call(self, user_id: str | None) -> None:
        try:
            await self._recheck(user_id)
        except Exception:  # noqa: BLE001 - one failed check must not stop the listener
            log.exception("re-checking the connections of user %s failed", user_id)
