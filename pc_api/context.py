"""What the app holds for its lifetime: settings, the database and Redis clients."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from pymongo.database import Database

from pc_core.settings import Settings
from pc_core.store.indexes import ensure_indexes


@dataclass
class AppContext:
    settings: Settings
    db: Database
    redis: redis.Redis
    indexes_ready: bool = False

    def ensure_indexes(self) -> None:
        """Create the indexes once per process, as soon as the database answers.

        The API starts even when MongoDB is down (so /health can say so); the
        indexes are then created by the first health check that reaches it.
        """
        if not self.indexes_ready:
            ensure_indexes(self.db)
            self.indexes_ready = True
