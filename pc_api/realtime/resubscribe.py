"""The Redis manager of the Socket.IO server, which tells its clients when they may
have missed events.

Events reach the server through a Redis pub/sub channel, which keeps nothing: what
is published while Redis is down, or after it is back but before this server has
subscribed again, is gone. python-socketio's manager re-subscribes by itself and
says nothing, so a client that stayed connected would go on showing a stale page
(found by the fault soak, ``bench/fault_soak.py``: Redis restarted under load).

So after every re-subscription this manager calls ``on_resubscribed``, which closes
the transport of this server's connections (``Realtime.drop_local``): a Socket.IO
client then reconnects by itself ("transport close") and refetches on reconnect, as
it does after any drop. The close comes after the subscription is in place, so
nothing published after the refetch is missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

log = logging.getLogger(__name__)

MAX_RETRY_SLEEP_S = 60


class ResubscribingRedisManager(socketio.AsyncRedisManager):
    """``AsyncRedisManager`` whose listener reports each re-subscription."""

    def __init__(self, url: str, *, channel: str,
                 on_resubscribed: Callable[[], Awaitable[None]]) -> None:
        super().__init__(url, channel=channel)
        self.on_resubscribed = on_resubscribed
        self.resubscriptions = 0

    async def _redis_listen_with_retries(self) -> Any:  # the library's loop, plus the call
        retry_sleep = 1
        subscribed, first = False, True
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed, retry_sleep = True, 1
                    if not first:
                        self.resubscriptions += 1
                        await self._report()
                    first = False
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:  # noqa: BLE001 - any Redis failure: retry
                log.warning("socket.io: lost the Redis subscription (%s); retrying in %s s",
                            exc, retry_sleep)
                subscribed = False
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, MAX_RETRY_SLEEP_S)

    async def _report(self) -> None:
        try:
            await self.on_resubscribed()
        except Exception:  # noqa: BLE001 - never stop listening over it
            log.exception("socket.io: after re-subscribing, could not drop the clients")
