"""Where each partner's pull of each object type stands, in ``sync_cursors``.

One document per partner and object type (``_id`` = ``"{partner_id}:{object_type}"``),
replaced whole after every stored batch, so a pull that dies halfway (exception,
killed process) resumes where its last stored batch ended, and nothing is read twice
beyond that batch.

Meaning of the fields:
- ``phase`` ``"full"``: a full pull is under way (or about to start). ``full_stage``
  says which list pass (``"active"``, then ``"archived"``) and ``full_after`` is the
  list cursor (``paging.next.after``) of the next page to read; ``None`` = from the
  start of that pass.
- ``since_ms`` (epoch ms of the last-modified property): every record whose
  last-modified time is before ``since_ms`` is stored. During a full pull it holds the
  newest last-modified time HubSpot reported when the pull began, which is where the
  first incremental pull starts (a record changed while the full pull ran has a later
  time, so it is read again).
- ``tie_after_id``: set while draining records that all share ``since_ms`` (more of
  them than a search page holds): those at ``since_ms`` with ids up to it are stored.
- ``recheck_from_ms``: where the previous incremental pull started. The look-back
  against HubSpot's search-index lag re-reads the moments just before ``since_ms`` once,
  not on every pull: it never reaches below this.
- ``archived_seen``: archived records counted by the last archived list pass; decides
  whether incremental pulls can afford that pass too.
- ``fresh``: the partner had no documents of this type when the full pull began, so its
  pages are inserted without reading the stored documents first (the embedded store's
  costliest step after the insert itself); a record that exists after all is compared.

Times are kept as integers (not BSON dates) because they are compared with HubSpot's
millisecond values; ``updated_at`` is informative only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from pymongo.database import Database

from pc_core.hubspot.connection.objects import ObjectType
from pc_core.timeutil import utcnow

SYNC_CURSORS = "sync_cursors"

Phase = Literal["full", "incremental"]
FullStage = Literal["active", "archived"]


def cursor_id(partner_id: str, object_type: str) -> str:
    return f"{partner_id}:{object_type}"


@dataclass(frozen=True)
class SyncCursor:
    partner_id: str
    object_type: ObjectType
    phase: Phase = "full"
    full_stage: FullStage = "active"
    full_after: str | None = None
    since_ms: int | None = None
    tie_after_id: str | None = None
    recheck_from_ms: int | None = None
    archived_seen: int | None = None
    fresh: bool = False
    full_pulls: int = 0
    incremental_pulls: int = 0
    updated_at: datetime = field(default_factory=utcnow)

    def moved(self, **changes: Any) -> SyncCursor:
        """A copy with the given fields changed (positions come from the page readers)."""
        return replace(self, **changes)


def load_cursor(db: Database, partner_id: str, object_type: ObjectType) -> SyncCursor | None:
    doc = db[SYNC_CURSORS].find_one({"_id": cursor_id(partner_id, object_type)})
    if doc is None:
        return None
    known = SyncCursor.__dataclass_fields__
    return SyncCursor(**{k: v for k, v in doc.items() if k in known})


def save_cursor(db: Database, cursor: SyncCursor) -> SyncCursor:
    """Replace the whole document (dates stay dates on the embedded store)."""
    saved = cursor.moved(updated_at=utcnow())
    doc = {"_id": cursor_id(saved.partner_id, saved.object_type), **asdict(saved)}
    db[SYNC_CURSORS].replace_one({"_id": doc["_id"]}, doc, upsert=True)
    return saved
