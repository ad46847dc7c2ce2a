"""Read the option labels of a partner's HubSpot enumeration properties (the deal's
``industry``: ``HOSPITAL_HEALTH_CARE`` → "Hospital & Health Care") and store them for
the answers that show such values (``pc_core.sync.value_labels``).

``GET /crm/v3/properties/deals/{name}`` through the SDK (scope
``crm.schemas.deals.read``, which the app already asks for). Called by the sync's
first step; the labels change seldom, so HubSpot is asked only when the stored ones
are older than ``hubspot_labels_max_age_hours`` (or never read), not on every sync
and never on a request. A failed read keeps the labels stored before: the sync goes
on and the client falls back to a readable form of the value.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo.database import Database

from pc_core.hubspot.connection.client import AccessTokenProvider
from pc_core.hubspot.connection.transport import HubSpotApi, HubSpotCallError
from pc_core.settings import Settings
from pc_core.sync import value_labels
from pc_core.timeutil import ensure_utc, utcnow

log = logging.getLogger(__name__)

#: lead field → the HubSpot properties (object type, name) whose options label it, the
#: first that labels a value wins. The contact's ``industry`` is free text at HubSpot.
SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    "industry": (("deals", "industry"),),
}


@dataclass(frozen=True)
class LabelRefresh:
    """What a refresh did: ``read`` False when the stored labels were fresh enough
    (no HubSpot call); ``labels`` the number stored; ``error`` why the read failed."""

    read: bool
    labels: int = 0
    error: str | None = None


def refresh_due(db: Database, settings: Settings, partner_id: str,
                now: datetime | None = None) -> bool:
    """Never read, or read longer ago than the settings allow."""
    last = value_labels.fetched_at(db, partner_id)
    if last is None:
        return True
    age = (now or utcnow()) - ensure_utc(last)
    return age >= timedelta(hours=settings.hubspot_labels_max_age_hours)


def refresh_value_labels(db: Database, settings: Settings, partner_id: str,
                         tokens: AccessTokenProvider, *, force: bool = False) -> LabelRefresh:
    """Read and store the partner's option labels if due (or ``force``)."""
    now = utcnow()
    if not force and not refresh_due(db, settings, partner_id, now):
        return LabelRefresh(read=False)
    api = HubSpotApi(settings, tokens)
    options: dict[str, dict[str, str]] = {}
    try:
        for field, sources in SOURCES.items():
            found: dict[str, str] = {}
            for object_type, name in sources:
                definition = api.get_property(object_type, name)  # None: no such property
                # Hidden options too: records may still carry a value hidden since.
                for option in (definition or {}).get("options") or []:
                    value, text = option.get("value"), option.get("label")
                    if value and text:
                        found.setdefault(str(value), str(text))
            options[field] = found
    except HubSpotCallError as exc:
        log.warning("HubSpot option labels of partner %s not read: %s", partner_id, exc)
        return LabelRefresh(read=True, error=str(exc))
    value_labels.store_labels(db, partner_id, options, now)
    return LabelRefresh(read=True, labels=sum(len(v) for v in options.values()))
