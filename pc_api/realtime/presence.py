"""Who is viewing a lead, kept in Redis so that every API replica sees the same
count: one hash per lead, one field per Socket.IO connection (sid → partner name).

A replica that dies without cleaning up would leave its fields behind; each hash
expires ``TTL_SECONDS`` after its last join, so such leftovers do not last.
"""

from __future__ import annotations

import redis.asyncio as aioredis

KEY_PREFIX = "pc:rt:viewers:"
TTL_SECONDS = 12 * 3600


def viewers_key(lead_id: str) -> str:
    return f"{KEY_PREFIX}{lead_id}"


class Presence:
    def __init__(self, redis_url: str) -> None:
        self._url = redis_url
        self._redis: aioredis.Redis | None = None

    @property
    def redis(self) -> aioredis.Redis:
        # Created on first use, inside the server's event loop.
        if self._redis is None:
            self._redis = aioredis.Redis.from_url(self._url, decode_responses=True)
        return self._redis

    async def join(self, lead_id: str, sid: str, partner_name: str) -> tuple[bool, int]:
        """(whether this connection was new to the lead, the viewer count)."""
        key = viewers_key(lead_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, sid, partner_name)
            pipe.expire(key, TTL_SECONDS)
            pipe.hlen(key)
            added, _, count = await pipe.execute()
        return bool(added), int(count)

    async def leave(self, lead_id: str, sid: str) -> tuple[bool, int]:
        """(whether this connection was viewing the lead, the viewer count left)."""
        key = viewers_key(lead_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(key, sid)
            pipe.hlen(key)
            removed, count = await pipe.execute()
        return bool(removed), int(count)

    async def count(self, lead_id: str) -> int:
        return int(await self.redis.hlen(viewers_key(lead_id)))

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
