"""Who is viewing a lead, kept in Redis so that every API replica sees the same
count: one hash per lead, one field per Socket.IO connection (sid → the viewer's
user id).

The count is of distinct viewers, not connections: a person with the lead open in
two tabs is one viewer, so "N others viewing" (the count minus the person asking)
never counts oneself. Only the number leaves the server: who the viewers are is
not told to anyone (a listed lead's room holds competing buyers).

Every change also moves a per-lead sequence number, sent with each count: counts
reach a client by two paths (the join's own answer, and room events relayed through
Redis, which can arrive later), so a client keeps the count with the highest ``seq``
and a late, older count never overwrites a newer one.

A replica that dies without cleaning up would leave its fields behind; each hash
expires ``TTL_SECONDS`` after its last join, so such leftovers do not last.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

KEY_PREFIX = "pc:rt:viewers:"
SEQ_PREFIX = "pc:rt:viewers-seq:"
TTL_SECONDS = 12 * 3600


def viewers_key(lead_id: str) -> str:
    return f"{KEY_PREFIX}{lead_id}"


def seq_key(lead_id: str) -> str:
    return f"{SEQ_PREFIX}{lead_id}"


@dataclass(frozen=True)
class Change:
    """What a join or leave did: whether this connection was added/removed, and the
    distinct viewers before and after."""

    changed: bool
    before: int
    viewers: int
    seq: int = 0

    @property
    def count_moved(self) -> bool:
        return self.viewers != self.before


def _distinct(values: list[str]) -> int:
    return len(set(values))


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

    async def join(self, lead_id: str, sid: str, viewer: str) -> Change:
        """Connection ``sid`` of ``viewer`` (a user id) views the lead."""
        key = viewers_key(lead_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hvals(key)
            pipe.hset(key, sid, viewer)
            pipe.expire(key, TTL_SECONDS)
            pipe.hvals(key)
            pipe.incr(seq_key(lead_id))
            pipe.expire(seq_key(lead_id), TTL_SECONDS)
            before, added, _, after, seq, _ = await pipe.execute()
        return Change(bool(added), _distinct(before), _distinct(after), int(seq))

    async def leave(self, lead_id: str, sid: str) -> Change:
        """Connection ``sid`` no longer views the lead."""
        key = viewers_key(lead_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hvals(key)
            pipe.hdel(key, sid)
            pipe.hvals(key)
            pipe.incr(seq_key(lead_id))
            before, removed, after, seq = await pipe.execute()
        return Change(bool(removed), _distinct(before), _distinct(after), int(seq))

    async def count(self, lead_id: str) -> int:
        """Distinct viewers of the lead."""
        return _distinct(await self.redis.hvals(viewers_key(lead_id)))

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
