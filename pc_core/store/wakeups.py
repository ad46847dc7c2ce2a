"""Wake-ups: "lane X has new work for partner P", published on Redis after the work
is stored, so a waiting worker starts at once instead of at its next poll.

Best effort by design: the work is already in MongoDB when the wake-up is sent, and
workers poll every ``worker_poll_seconds`` anyway, so a wake-up lost to a Redis
restart delays work by one poll and loses nothing. Publishing never raises.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable

import redis

from pc_core.db import redis_client
from pc_core.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "pc-worker-wake"
WEBHOOK = "webhook"
SALE = "sale"
ALERT = "alert"  # saved-search e-mails (pc_core.buyer_alerts.mail_queue)
PUSHBACK = "pushback"  # the platform's lead edits → the partner's HubSpot
RELAY = "relay"  # a buyer's deal move → the seller (cross-partner)
LANES = (WEBHOOK, SALE, ALERT, PUSHBACK, RELAY)


def announce(settings: Settings, lane: str, partner_ids: Iterable[str]) -> None:
    """Publish one wake-up per partner (nothing if none); errors are logged only."""
    ids = sorted(set(partner_ids))
    if not ids:
        return
    try:
        pipe = redis_client(settings).pipeline(transaction=False)
        for partner_id in ids:
            pipe.publish(CHANNEL, f"{lane}:{partner_id}")
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("worker wake-up not sent (%s); the workers' poll picks the work up",
                    exc)


class Listener:
    """The worker's side: ``wait(timeout)`` returns the lanes woken since the last
    call (empty on a timeout). Reconnects by itself after Redis comes back."""

    def __init__(self, settings: Settings) -> None:
        self._client = redis.Redis.from_url(settings.redis_url, decode_responses=True,
                                            socket_connect_timeout=1.5,
                                            health_check_interval=10)
        self._pubsub: redis.client.PubSub | None = None

    def _subscribed(self) -> redis.client.PubSub:
        if self._pubsub is None:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(CHANNEL)
            self._pubsub = pubsub
        return self._pubsub

    def wait(self, timeout: float) -> set[str]:
        deadline = time.monotonic() + timeout
        woken: set[str] = set()
        try:
            pubsub = self._subscribed()
            message = pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
            while message is not None:
                lane = str(message.get("data") or "").split(":", 1)[0]
                if lane in LANES:
                    woken.add(lane)
                message = pubsub.get_message(timeout=0)  # drain what is already here
        except (redis.RedisError, OSError) as exc:
            log.warning("wake-up channel unavailable (%s); polling", exc)
            self.close()
            time.sleep(max(0.0, deadline - time.monotonic()))
        return woken

    def close(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                self._pubsub.close()
            self._pubsub = None
