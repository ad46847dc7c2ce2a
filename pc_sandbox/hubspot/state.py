"""The sandbox's data: portals with their CRM objects, associations and OAuth grants.

Everything a request touches is kept in structures that answer in O(page): records by id, a
sorted list of active ids (list paging) and a sorted ``(lastmodified, id)`` index (search).
Generated records keep ``props=None`` and compute their values from the portal seed on read
(see ``generator.base_props``), which is what makes a 200,000-record portal cheap to build.
The whole tree is picklable for ``persistence``.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from typing import Any

from . import persistence

#: Object types the stand-in serves, with HubSpot's numeric type ids as aliases.
OBJECT_TYPES: dict[str, str] = {
    "contacts": "contacts",
    "contact": "contacts",
    "0-1": "contacts",
    "deals": "deals",
    "deal": "deals",
    "0-3": "deals",
    "notes": "notes",
    "note": "notes",
    "0-46": "notes",
}

PropValue = str | None
#: One history entry: (value, timestamp ms, sourceType).
HistoryEntry = tuple[PropValue, int, str]


@dataclass(slots=True)
class Record:
    """One CRM object. ``props`` None means "the generated values", materialised on write."""

    id: int
    created: int
    updated: int
    archived_at: int | None = None
    props: dict[str, PropValue] | None = None
    history: dict[str, list[HistoryEntry]] | None = None


@dataclass
class ObjectStore:
    """The records of one object type in one portal, with the two indexes paging needs."""

    object_type: str
    next_id: int
    records: dict[int, Record] = field(default_factory=dict)
    active_ids: list[int] = field(default_factory=list)
    archived_ids: list[int] = field(default_factory=list)
    mod_index: list[tuple[int, int]] = field(default_factory=list)

    def load_bulk(self, records: list[Record]) -> None:
        """Add many fresh records at once (generation): one sort instead of N inserts."""
        for rec in records:
            self.records[rec.id] = rec
            self.next_id = max(self.next_id, rec.id + 1)
        self.active_ids = sorted(r.id for r in self.records.values() if r.archived_at is None)
        self.archived_ids = sorted(
            r.id for r in self.records.values() if r.archived_at is not None
        )
        self.mod_index = sorted(
            (r.updated, r.id) for r in self.records.values() if r.archived_at is None
        )

    def new_id(self) -> int:
        """Allocate the next id (ids only grow, so ``active_ids`` stays append-sorted)."""
        rid = self.next_id
        self.next_id += 1
        return rid

    def add(self, rec: Record) -> None:
        """Insert one active record."""
        self.records[rec.id] = rec
        if not self.active_ids or rec.id > self.active_ids[-1]:
            self.active_ids.append(rec.id)
        else:
            insort(self.active_ids, rec.id)
        insort(self.mod_index, (rec.updated, rec.id))
        self.next_id = max(self.next_id, rec.id + 1)

    def get(self, rid: int, archived: bool = False) -> Record | None:
        """The record if it exists in the requested state (active or archived)."""
        rec = self.records.get(rid)
        if rec is None or (rec.archived_at is not None) != archived:
            return None
        return rec

    def set_updated(self, rec: Record, ts: int) -> None:
        """Move an active record to a new modified time, keeping ``mod_index`` sorted."""
        if rec.archived_at is None:
            self._index_remove(rec)
            rec.updated = ts
            insort(self.mod_index, (rec.updated, rec.id))
        else:
            rec.updated = ts

    def archive(self, rec: Record, ts: int) -> None:
        """Archive (HubSpot's delete): leaves the active indexes, joins the archived list."""
        if rec.archived_at is not None:
            return
        self._index_remove(rec)
        pos = bisect_left(self.active_ids, rec.id)
        if pos < len(self.active_ids) and self.active_ids[pos] == rec.id:
            del self.active_ids[pos]
        rec.archived_at = ts
        rec.updated = ts
        insort(self.archived_ids, rec.id)

    def restore(self, rec: Record, ts: int) -> None:
        """Undo ``archive`` (HubSpot's restore from the recycle bin)."""
        if rec.archived_at is None:
            return
        pos = bisect_left(self.archived_ids, rec.id)
        if pos < len(self.archived_ids) and self.archived_ids[pos] == rec.id:
            del self.archived_ids[pos]
        rec.archived_at = None
        rec.updated = ts
        insort(self.active_ids, rec.id)
        insort(self.mod_index, (rec.updated, rec.id))

    def retire(self, rec: Record) -> None:
        """Take a merged-away record out of every index (it is neither active nor
        archived any more: its id now answers with the record it was merged into)."""
        self._index_remove(rec)
        pos = bisect_left(self.active_ids, rec.id)
        if pos < len(self.active_ids) and self.active_ids[pos] == rec.id:
            del self.active_ids[pos]
        self.records.pop(rec.id, None)

    def _index_remove(self, rec: Record) -> None:
        key = (rec.updated, rec.id)
        pos = bisect_left(self.mod_index, key)
        if pos < len(self.mod_index) and self.mod_index[pos] == key:
            del self.mod_index[pos]

    def page(self, after: int, limit: int, archived: bool) -> tuple[list[Record], int | None]:
        """Records with id >= ``after`` in id order, and the next cursor (None at the end)."""
        ids = self.archived_ids if archived else self.active_ids
        start = bisect_left(ids, after)
        chunk = ids[start : start + limit]
        nxt = chunk[-1] + 1 if chunk and start + limit < len(ids) else None
        return [self.records[i] for i in chunk], nxt

    def __getstate__(self) -> dict[str, Any]:
        """Pickle untouched generated records as a packed int array (10x smaller/faster)."""
        plain = array("q")
        rich: list[Record] = []
        for r in self.records.values():
            if r.props is None and r.history is None and r.archived_at is None:
                plain.extend((r.id, r.created, r.updated))
            else:
                rich.append(r)
        return {"object_type": self.object_type, "next_id": self.next_id,
                "plain": plain.tobytes(), "rich": rich}

    def __setstate__(self, st: dict[str, Any]) -> None:
        packed = array("q")
        packed.frombytes(st["plain"])
        recs = [Record(packed[i], packed[i + 1], packed[i + 2]) for i in range(0, len(packed), 3)]
        self.object_type = st["object_type"]
        self.next_id = st["next_id"]
        self.records = {}
        self.load_bulk(recs + st["rich"])

    def counts(self) -> dict[str, int]:
        """Active and archived counts for the admin listing."""
        return {"active": len(self.active_ids), "archived": len(self.archived_ids)}


@dataclass
class Associations:
    """Object links in both directions, keyed by (fromType, toType)."""

    links: dict[tuple[str, str], dict[int, list[int]]] = field(default_factory=dict)

    def add(self, from_type: str, from_id: int, to_type: str, to_id: int) -> None:
        """Link two objects (both directions); duplicates are ignored."""
        for a_type, a_id, b_type, b_id in (
            (from_type, from_id, to_type, to_id),
            (to_type, to_id, from_type, from_id),
        ):
            targets = self.links.setdefault((a_type, b_type), {}).setdefault(a_id, [])
            if b_id not in targets:
                targets.append(b_id)

    def get(self, from_type: str, from_id: int, to_type: str) -> list[int]:
        """Ids linked to one object (empty list if none)."""
        return self.links.get((from_type, to_type), {}).get(from_id, [])

    def links_of(self, obj_type: str, obj_id: int) -> list[tuple[str, int]]:
        """Every (type, id) one object is linked to."""
        return [(b_type, other) for (a_type, b_type), table in self.links.items()
                if a_type == obj_type for other in table.get(obj_id, [])]

    def remove_object(self, obj_type: str, obj_id: int) -> None:
        """Drop every link of an archived object."""
        for (a_type, b_type), table in self.links.items():
            if a_type != obj_type or obj_id not in table:
                continue
            for other in table.pop(obj_id):
                back = self.links.get((b_type, a_type), {}).get(other)
                if back and obj_id in back:
                    back.remove(obj_id)


@dataclass
class Portal:
    """One HubSpot account ("hub") with its objects, pipelines and custom properties."""

    id: int
    name: str
    seed: int
    created: int
    stores: dict[str, ObjectStore]
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    custom_properties: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    associations: Associations = field(default_factory=Associations)
    #: merged-away id → the id it now answers with, per object type
    merged: dict[str, dict[int, int]] = field(default_factory=dict)
    #: links an archived object had, given back by a restore
    archived_links: dict[tuple[str, int], list[tuple[str, int]]] = field(default_factory=dict)
    #: company pool size the generator draws contact companies from
    companies: int = 1
    contacts_generated: int = 0

    def store(self, object_type: str) -> ObjectStore:
        """The store of a canonical object type."""
        return self.stores[object_type]

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Portals saved before merges and restores existed load with empty tables."""
        state.setdefault("merged", {})
        state.setdefault("archived_links", {})
        self.__dict__.update(state)

    def resolve(self, object_type: str, rid: int) -> int:
        """The id a (possibly merged-away) id answers with now."""
        table = self.merged.get(object_type) or {}
        for _ in range(100):  # merges chain (A into B, then B into C)
            if rid not in table:
                return rid
            rid = table[rid]
        return rid

    def summary(self) -> dict[str, Any]:
        """The admin view: id, name, object counts."""
        return {
            "id": self.id,
            "name": self.name,
            "seed": self.seed,
            "contacts": len(self.stores["contacts"].active_ids),
            "deals": len(self.stores["deals"].active_ids),
            "notes": len(self.stores["notes"].active_ids),
            "archived": {t: len(s.archived_ids) for t, s in self.stores.items()},
            "pipelines": [p["id"] for p in self.pipelines],
        }


@dataclass(slots=True)
class AuthCode:
    """An authorization code from ``/oauth/authorize``; single use, 10 minutes."""

    code: str
    portal_id: int
    client_id: str
    redirect_uri: str
    scopes: list[str]
    expires_at: int
    used: bool = False


@dataclass(slots=True)
class RefreshToken:
    """A refresh token; lives until revoked, as at HubSpot."""

    token: str
    portal_id: int
    client_id: str
    scopes: list[str]
    user: str
    user_id: int
    revoked: bool = False


@dataclass(slots=True)
class AccessToken:
    """A bearer token, valid until ``expires_at`` (sandbox clock)."""

    token: str
    portal_id: int
    scopes: list[str]
    user: str
    user_id: int
    refresh_token: str
    expires_at: int


@dataclass
class OAuthStore:
    """Codes and tokens issued by the one sandbox app."""

    codes: dict[str, AuthCode] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)

    def connected_portals(self) -> set[int]:
        """Portals that installed the app (hold a live refresh token)."""
        return {r.portal_id for r in self.refresh.values() if not r.revoked}


@dataclass
class SandboxState:
    """Root of everything persisted."""

    portals: dict[int, Portal] = field(default_factory=dict)
    oauth: OAuthStore = field(default_factory=OAuthStore)
    next_portal_id: int = 20_000_001
    version: int = 1


_state: SandboxState | None = None


def get_state() -> SandboxState:
    """The live state, loaded from disk on first use when persistence is on."""
    global _state
    if _state is None:
        loaded = persistence.load()
        _state = loaded if isinstance(loaded, SandboxState) else SandboxState()
    return _state


def replace_state(new: SandboxState) -> None:
    """Swap the whole state (admin reset)."""
    global _state
    _state = new


def canonical_type(object_type: str) -> str | None:
    """``contacts``/``0-1``/... → canonical name, None if the stand-in does not serve it."""
    return OBJECT_TYPES.get(object_type.lower())
