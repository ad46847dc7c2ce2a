"""A buyer's saved searches: the marketplace filters under a name, per user, shared
with the partner's other users when asked.

Who may do what: any signed-in user of a partner saves searches for itself (a
search changes nothing of the partner's, so read-only users may too); the partner's
users see its shared ones; only the user who saved a search changes or deletes it.
Anyone else's search is "not found". A user keeps at most ``MAX_PER_USER``.
Every write is announced (``search_index.announce_change``) once stored, so every
process's in-memory index matches it from the next listing on.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.buyer_alerts.search_index import announce_change
from pc_core.errors import BadRequest, Conflict, NotFound
from pc_core.ids import new_id
from pc_core.marketplace.criteria import stored_fields
from pc_core.models.buyer_alerts import (
    SavedSearchIn,
    SavedSearchList,
    SavedSearchOut,
    SavedSearchUpdate,
    SearchNoticePage,
)
from pc_core.settings import Settings
from pc_core.store import sort_key, update_with_retry
from pc_core.store.pagination import MAX_LIMIT, add_key_range, fetch_merged_page
from pc_core.timeutil import utcnow

Doc = dict[str, Any]
MAX_PER_USER = 50


def _buyer(actor: Principal) -> str:
    if actor.partner_id is None:
        raise BadRequest("searches are saved for a partner: sign in as one of its users")
    return actor.partner_id


def create_search(db: Database, settings: Settings, actor: Principal,
                  body: SavedSearchIn) -> SavedSearchOut:
    partner_id = _buyer(actor)
    mine = db[c.SAVED_SEARCHES].find({"user_id": actor.user_id, "partner_id": partner_id},
                                      {"_id": 1}).limit(MAX_PER_USER + 1)
    if len(list(mine)) >= MAX_PER_USER:
        raise Conflict(f"you already have {MAX_PER_USER} saved searches; delete one first")
    now = utcnow()
    search_id = new_id()
    doc: Doc = {
        "_id": search_id, "user_id": actor.user_id, "partner_id": partner_id,
        "name": body.name, "shared": body.shared, "email": body.email, "active": True,
        **stored_fields(body.criteria),
        "created_at": now, "updated_at": now, "sort_key": sort_key(now, search_id), "rev": 1,
    }
    db[c.SAVED_SEARCHES].insert_one(doc)
    announce_change(db, settings, [search_id])
    return SavedSearchOut.from_doc(doc, actor.user_id)


def _visible(doc: Doc | None, actor: Principal) -> bool:
    return doc is not None and doc["partner_id"] == actor.partner_id and (
        doc["user_id"] == actor.user_id or bool(doc["shared"]))


def list_searches(db: Database, actor: Principal) -> SavedSearchList:
    """The caller's own searches and its partner's shared ones, newest first."""
    partner_id = _buyer(actor)
    docs, _ = fetch_merged_page(db[c.SAVED_SEARCHES], [
        {"partner_id": partner_id, "user_id": actor.user_id},
        {"partner_id": partner_id, "shared": True}], MAX_LIMIT)
    return SavedSearchList(items=[SavedSearchOut.from_doc(d, actor.user_id)
                                  for d in docs if _visible(d, actor)])


def _own(db: Database, actor: Principal, search_id: str) -> Doc:
    doc = db[c.SAVED_SEARCHES].find_one({"_id": search_id})
    if not _visible(doc, actor):
        raise NotFound("saved search not found")
    assert doc is not None
    if doc["user_id"] != actor.user_id:
        raise NotFound("saved search not found")  # a colleague's shared search: read-only
    return doc


def update_search(db: Database, settings: Settings, actor: Principal, search_id: str,
                  body: SavedSearchUpdate) -> SavedSearchOut:
    _own(db, actor, search_id)
    wanted = body.model_dump(exclude_unset=True, exclude_none=True)

    def change(current: Doc) -> Doc | None:
        diff = {k: v for k, v in wanted.items() if current.get(k) != v}
        return {**diff, "updated_at": utcnow()} if diff else None

    doc = update_with_retry(db[c.SAVED_SEARCHES], search_id, change, what="saved search")
    announce_change(db, settings, [search_id])
    return SavedSearchOut.from_doc(doc, actor.user_id)


def delete_search(db: Database, settings: Settings, actor: Principal,
                  search_id: str) -> None:
    _own(db, actor, search_id)
    db[c.SAVED_SEARCHES].delete_one({"_id": search_id})
    announce_change(db, settings, [search_id])


def list_notices(db: Database, actor: Principal, *, limit: int = 50,
                 cursor: str | None = None) -> SearchNoticePage:
    """The matches the caller was told of: its own searches' and its partner's shared
    ones', newest first."""
    partner_id = _buyer(actor)
    matches = [{"partner_id": partner_id, "user_id": actor.user_id},
               {"partner_id": partner_id, "shared": True}]
    for match in matches:
        add_key_range(match, cursor, None, None)
    docs, next_cursor = fetch_merged_page(db[c.SEARCH_NOTICES], matches, limit)
    return SearchNoticePage.model_validate({
        "items": [{"id": d["_id"], "search_id": d["search_id"],
                   "search_name": d["search_name"], "listing": {**d["listing"], "own": False},
                   "created_at": d["created_at"]} for d in docs],
        "next_cursor": next_cursor})
