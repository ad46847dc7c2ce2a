"""HubSpot API clients kept between one partner's batches, instead of one built per batch.

Building a ``HubSpotApi`` builds the SDK's ``HubSpot`` client and its API objects (the
SDK looks its own package version up about ten times per client): ~a third of a small
webhook batch's CPU (issue 22). The hot-path worker applies many small batches per
partner, so the partner's client is borrowed from this pool and given back after.

A borrowed client is the borrower's alone (it is out of the pool until returned:
``HubSpotApi`` is not thread-safe), and its token is read again from the store on
every borrow (``HubSpotApi.reauth``: the same one read a new client makes), so a
refreshed or reconnected partner's client never sends an old token. Clients are kept
per database name, HubSpot host and partner, the least recently used dropped beyond
``MAX_KEPT``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.database import Database

from pc_core.hubspot.connection.oauth import PartnerTokens
from pc_core.hubspot.connection.transport import HubSpotApi
from pc_core.settings import Settings

MAX_KEPT = 1_000  # clients kept (one per partner): ~50 kB each (measured), ~50 MB in all

_Key = tuple[str, str, str]


class ApiPool:
    """Idle ``HubSpotApi`` clients by (database, HubSpot host, partner)."""

    def __init__(self, max_kept: int = MAX_KEPT) -> None:
        self.max_kept = max_kept
        self._idle: OrderedDict[_Key, HubSpotApi] = OrderedDict()
        self._lock = threading.Lock()
        self.built = 0  # clients built (a test and the profile read it)

    @contextmanager
    def borrow(self, db: Database, settings: Settings, partner_id: str) -> Iterator[HubSpotApi]:
        """The partner's client, with its current token, for the block's length. A
        block that raises drops the client (it may hold a half-used connection)."""
        key = (db.name, settings.hubspot_base_url, partner_id)
        tokens = PartnerTokens(db, settings, partner_id)
        with self._lock:
            api = self._idle.pop(key, None)
        if api is None:
            api = HubSpotApi(settings, tokens)
            self.built += 1
        else:
            api.reauth(tokens)
        yield api
        with self._lock:
            self._idle[key] = api
            self._idle.move_to_end(key)
            while len(self._idle) > self.max_kept:
                self._idle.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._idle.clear()


POOL = ApiPool()
