"""The one place that builds MongoDB and Redis clients from settings.

The same code serves real MongoDB (Atlas) and the embedded server a fresh machine
runs; ``pc_core.store`` is where the ways of writing that suit both are kept.
"""

from __future__ import annotations

import threading

import redis
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.monitoring import CommandListener

from pc_core.settings import Settings

_lock = threading.Lock()
_mongo_clients: dict[str, MongoClient] = {}
_redis_clients: dict[str, redis.Redis] = {}
_listeners: list[CommandListener] = []


def register_command_listener(listener: CommandListener) -> None:
    """Attach a pymongo command listener to clients built from now on.

    Used by the API's Server-Timing middleware to measure time spent in the database
    apart from the platform's own time.
    """
    _listeners.append(listener)


def mongo_client(settings: Settings) -> MongoClient:
    """A shared client per URI: pymongo clients are thread-safe and pool connections."""
    with _lock:
        client = _mongo_clients.get(settings.mongodb_uri)
        if client is None:
            client = MongoClient(
                settings.mongodb_uri,
                tz_aware=True,
                serverSelectionTimeoutMS=3000,
                connectTimeoutMS=3000,
                appname="partner-connector",
                event_listeners=list(_listeners),
            )
            _mongo_clients[settings.mongodb_uri] = client
        return client


def get_db(settings: Settings) -> Database:
    return mongo_client(settings)[settings.mongodb_db]


def redis_client(settings: Settings) -> redis.Redis:
    """A shared Redis client per URL, with short timeouts so /health answers promptly."""
    with _lock:
        client = _redis_clients.get(settings.redis_url)
        if client is None:
            client = redis.Redis.from_url(
                settings.redis_url,
                decode_responses=True,
                socket_connect_timeout=1.5,
                socket_timeout=1.5,
                health_check_interval=30,
            )
            _redis_clients[settings.redis_url] = client
        return client
