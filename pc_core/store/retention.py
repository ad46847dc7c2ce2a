"""Delete processed webhook events and finished sync tasks past their retention.

The webhook inbox grows by every event HubSpot sends (docs/capacity.md "MongoDB
tier"); once applied, an event is kept ``webhook_event_retention_days`` (default 7)
for audits and redelivery checks, then deleted. A sync task (the history behind
``GET /v1/sync/tasks``) is kept ``sync_task_retention_days`` (default 90) after it
finished. Unprocessed events and running or queued tasks are never deleted, whatever
their age: they are work, not history.

Both reads are equalities on indexed fields plus a range on a field both stores
compare correctly (the ``processed_key`` time key; the ``finished_at`` date), in
batches of ``BATCH`` ids deleted by ``_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo.collection import Collection
from pymongo.database import Database

from pc_core import collections as c
from pc_core.settings import Settings
from pc_core.store.documents import BATCH, Doc
from pc_core.store.keys import time_key
from pc_core.timeutil import utcnow

FINISHED = ("succeeded", "failed", "cancelled")
READ = 1_000  # ids read per query


@dataclass
class Pruned:
    webhook_events: int = 0
    sync_tasks: int = 0


@dataclass(frozen=True)
class Cutoffs:
    webhook_events: datetime
    sync_tasks: datetime

    @classmethod
    def of(cls, settings: Settings, now: datetime | None = None) -> Cutoffs:
        now = now or utcnow()
        return cls(now - timedelta(days=settings.webhook_event_retention_days),
                   now - timedelta(days=settings.sync_task_retention_days))


def _old_events(cutoffs: Cutoffs) -> Doc:
    return {"processed": True, "processed_key": {"$lte": time_key(cutoffs.webhook_events)}}


def _old_tasks(status: str, cutoffs: Cutoffs) -> Doc:
    return {"status": status, "finished_at": {"$lt": cutoffs.sync_tasks}}


def _delete_matching(collection: Collection, match: Doc) -> int:
    deleted = 0
    while True:
        ids = [d["_id"] for d in collection.find(match, {"_id": 1}).limit(READ)]
        if not ids:
            return deleted
        for start in range(0, len(ids), BATCH):
            deleted += collection.delete_many({"_id": {"$in": ids[start:start + BATCH]}}
                                              ).deleted_count


def prune(db: Database, settings: Settings, now: datetime | None = None) -> Pruned:
    """Delete what is past retention; returns how many of each."""
    cutoffs = Cutoffs.of(settings, now)
    result = Pruned()
    result.webhook_events = _delete_matching(db[c.WEBHOOK_EVENTS], _old_events(cutoffs))
    for status in FINISHED:
        result.sync_tasks += _delete_matching(db[c.SYNC_TASKS], _old_tasks(status, cutoffs))
    return result


def overdue(db: Database, settings: Settings, now: datetime | None = None) -> Pruned:
    """What is past retention and still stored (up to ``READ`` of each): the check
    that pruning keeps up, zero right after a prune."""
    cutoffs = Cutoffs.of(settings, now)
    found = Pruned()
    found.webhook_events = len(list(db[c.WEBHOOK_EVENTS].find(
        _old_events(cutoffs), {"_id": 1}).limit(READ)))
    found.sync_tasks = sum(len(list(db[c.SYNC_TASKS].find(
        _old_tasks(status, cutoffs), {"_id": 1}).limit(READ))) for status in FINISHED)
    return found
