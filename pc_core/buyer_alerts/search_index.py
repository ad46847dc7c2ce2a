"""The active saved searches, held in memory per process and kept fresh by change
announcements, so that matching a listing reads no database at all.

Why: matching used to be one indexed query per listing. It was cheap on an idle
store, but every listing's query queued behind the notices, e-mails and reservations
the other listings were writing, and the match time (bench/buyer_alerts_bench.py)
rose to hundreds of milliseconds under load. Here a listing looks up at most 2⁴ = 16
buckets (``criteria.listing_keys``) in a dict and applies ``criteria.accepts`` to the
few searches in them: microseconds, whatever the database is doing.

Freshness. Every write of a search (create, edit, delete, unsubscribe; and a bulk
write such as a seed) calls ``announce_change`` after it is stored: one small record
per changed search in ``saved_search_changes`` (``_id`` = time key + id), then a new
random *version token* in Redis. Before each match an index reads the token (one
Redis GET): unchanged, it matches from memory; changed, it re-reads the changes
recorded since its last look (less ``OVERLAP``, for writers' clocks and commit
order) and the searches they name, by ``_id``. So a search whose save was
acknowledged is matched by the next listing in any process. Without Redis (down,
or the token lost) the index re-reads the changes on every match, and in any case
at least every ``MAX_STALE_S``: slower, never stale. A change of ``"*"`` (bulk
writes) reloads the whole index, as does an index whose last look is older than the
changes kept (``KEEP_CHANGES``).

Limits: each process that lists leads (API, worker, a Dagster run) loads every
active search on its first match (10,000 searches: about a second on the embedded
store) and holds them (a few MB); a search written to the database without
``announce_change`` is seen within ``MAX_STALE_S`` only if a change record names it,
else at the next full reload.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import redis
from pymongo.database import Database

from pc_core import collections as c
from pc_core.db import redis_client
from pc_core.ids import new_id
from pc_core.marketplace.criteria import accepts, listing_keys
from pc_core.settings import Settings
from pc_core.store import sort_key, time_key
from pc_core.timeutil import utcnow

log = logging.getLogger(__name__)
Doc = dict[str, Any]

ALL = "*"  # a change naming every search: reload the whole index
OVERLAP = timedelta(seconds=30)
MAX_STALE_S = 5.0
KEEP_CHANGES = timedelta(days=1)
CACHED_DATABASES = 16
FIELDS = {"_id": 1, "user_id": 1, "partner_id": 1, "name": 1, "shared": 1, "email": 1,
          "active": 1, "criteria": 1, "match_key": 1, "price_max": 1}


def _version_key(db: Database) -> str:
    return f"pc:saved-searches:version:{db.name}"


def announce_change(db: Database, settings: Settings, search_ids: Iterable[str]) -> None:
    """Record that ``search_ids`` (or ``[ALL]``) changed, then tell every process's
    index through a new version token. Call it after the searches are written."""
    now = utcnow()
    ids = sorted(set(search_ids))
    if not ids:
        return
    changes = db[c.SAVED_SEARCH_CHANGES]
    changes.insert_many([{"_id": sort_key(now, new_id()), "search_id": sid} for sid in ids])
    # string ranges through an aggregation: the embedded store's ``find`` misses them
    old = [d["_id"] for d in changes.aggregate([
        {"$match": {"_id": {"$lt": time_key(now - KEEP_CHANGES)}}}, {"$limit": 1000},
        {"$project": {"_id": 1}}])]
    if old:
        changes.delete_many({"_id": {"$in": old}})
    try:
        redis_client(settings).set(_version_key(db), new_id())
    except redis.RedisError as exc:  # the indexes re-read the changes every match
        log.warning("saved-search change not announced on Redis (%s)", exc)


class SearchIndex:
    """One database's active searches by match key. Thread-safe: refreshes run under
    a lock and replace a bucket rather than change it, so a match in another thread
    reads a consistent bucket."""

    def __init__(self) -> None:
        self._buckets: dict[str, dict[str, Doc]] = {}
        self._key_of: dict[str, str] = {}
        self._since: datetime | None = None  # changes before this moment are applied
        self._applied: set[str] = set()  # change records of the overlap window, applied
        self._version: str | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._key_of)

    def match(self, db: Database, settings: Settings, listing: Doc) -> list[Doc]:
        """The active searches ``listing`` satisfies, never its own seller's."""
        self._fresh(db, settings)
        buckets = self._buckets
        seller, price = listing["seller_partner_id"], listing["price_cents"]
        return [doc for key in listing_keys(listing)
                for doc in (buckets.get(key) or {}).values()
                if doc["price_max"] >= price and doc["partner_id"] != seller
                and accepts(doc["criteria"], listing)]

    # -- freshness ------------------------------------------------------------------

    def _token(self, db: Database, settings: Settings) -> str | None:
        try:
            client = redis_client(settings)
            key = _version_key(db)
            token = client.get(key)
            if token is None:  # never announced (or Redis lost it): start a version
                client.set(key, new_id(), nx=True)
                token = client.get(key)
            return token
        except redis.RedisError:
            return None

    def _fresh(self, db: Database, settings: Settings) -> None:
        token = self._token(db, settings)
        if self._current(token):
            return
        with self._lock:
            if self._current(token):
                return
            checked = time.monotonic()
            since = self._since
            if since is None or utcnow() - since > KEEP_CHANGES - OVERLAP:
                self._load_all(db)
            else:
                self._apply_changes(db, since)
            self._version, self._checked = token, checked

    def _current(self, token: str | None) -> bool:
        return (self._since is not None and token is not None and token == self._version
                and time.monotonic() - self._checked < MAX_STALE_S)

    def _window(self, db: Database, since: datetime) -> list[Doc]:
        """The change records from ``since`` less the overlap on."""
        return list(db[c.SAVED_SEARCH_CHANGES].aggregate([
            {"$match": {"_id": {"$gt": time_key(since - OVERLAP)}}},
            {"$project": {"search_id": 1}}]))

    def _load_all(self, db: Database) -> None:
        started = utcnow()
        # read first: the searches read next include what these records announce
        self._applied = {d["_id"] for d in self._window(db, started)}
        buckets: dict[str, dict[str, Doc]] = {}
        key_of: dict[str, str] = {}
        for doc in db[c.SAVED_SEARCHES].find({"active": True}, FIELDS):
            buckets.setdefault(doc["match_key"], {})[doc["_id"]] = doc
            key_of[doc["_id"]] = doc["match_key"]
        self._buckets, self._key_of, self._since = buckets, key_of, started
        log.info("saved-search index of %s loaded: %d searches", db.name, len(key_of))

    def _apply_changes(self, db: Database, since: datetime) -> None:
        started = utcnow()
        window = self._window(db, since)
        changed = {d["search_id"] for d in window if d["_id"] not in self._applied}
        if ALL in changed:
            self._load_all(db)
            return
        if changed:
            current = {d["_id"]: d for d in db[c.SAVED_SEARCHES].find(
                {"_id": {"$in": sorted(changed)}}, FIELDS)}
            buckets = dict(self._buckets)
            for search_id in changed:
                old_key = self._key_of.pop(search_id, None)
                if old_key is not None:
                    bucket = {k: v for k, v in buckets[old_key].items() if k != search_id}
                    buckets[old_key] = bucket
                doc = current.get(search_id)
                if doc is not None and doc.get("active"):
                    buckets[doc["match_key"]] = {**buckets.get(doc["match_key"], {}),
                                                 search_id: doc}
                    self._key_of[search_id] = doc["match_key"]
            self._buckets = buckets
        self._applied = {d["_id"] for d in window}
        self._since = started


_indexes: OrderedDict[tuple[str, str], SearchIndex] = OrderedDict()
_registry_lock = threading.Lock()


def index_for(db: Database, settings: Settings) -> SearchIndex:
    """This process's index of ``db`` (a few databases are kept: tests use many)."""
    key = (settings.mongodb_uri, db.name)
    with _registry_lock:
        index = _indexes.get(key)
        if index is None:
            index = _indexes[key] = SearchIndex()
            while len(_indexes) > CACHED_DATABASES:
                _indexes.popitem(last=False)
        else:
            _indexes.move_to_end(key)
        return index
