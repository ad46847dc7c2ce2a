"""The one-click unsubscribe link of a search's e-mails: signed, no sign-in.

The token is a signed, long-lived claim naming the saved search (the same HS256
signing as every other signed value, ``pc_core.security.jwt_tokens``), so the link
needs no session and cannot be forged for another search. Using it turns the
search's e-mails off; its live notices go on.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from pymongo.database import Database

from pc_core import collections as c
from pc_core.buyer_alerts.search_index import announce_change
from pc_core.errors import NotFound
from pc_core.security.jwt_tokens import decode_signed, encode_signed
from pc_core.settings import Settings
from pc_core.store import update_with_retry
from pc_core.timeutil import utcnow

PURPOSE = "search-unsubscribe"
LIFETIME = timedelta(days=365)
PATH = "/v1/saved-searches/unsubscribe"


def token_for(settings: Settings, search_id: str) -> str:
    return encode_signed(settings, PURPOSE, {"sub": search_id}, LIFETIME)


def link_for(settings: Settings, search_id: str) -> str:
    query = urlencode({"token": token_for(settings, search_id)})
    return f"{settings.public_url.rstrip('/')}{PATH}?{query}"


def unsubscribe(db: Database, settings: Settings, token: str) -> dict:
    """Turn the search's e-mails off; 401 for a bad or expired token, 404 when the
    search is gone. Idempotent."""
    search_id = str(decode_signed(settings, token, PURPOSE)["sub"])
    if db[c.SAVED_SEARCHES].find_one({"_id": search_id}, {"_id": 1}) is None:
        raise NotFound("saved search not found")

    def off(current: dict) -> dict | None:
        return None if current["email"] == "off" else {"email": "off", "updated_at": utcnow()}

    doc = update_with_retry(db[c.SAVED_SEARCHES], search_id, off, what="saved search")
    announce_change(db, settings, [search_id])
    return doc
