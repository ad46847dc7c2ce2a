"""A dead refresh token: the connection needs the partner to reconnect HubSpot.

HubSpot answers a refresh with HTTP 400 ``BAD_REFRESH_TOKEN`` (the OAuth v3 API and
other clients name it ``invalid_grant``) once the app was uninstalled, the installing
user lost access or the token was revoked. Retrying cannot help, so the first such
answer:

- marks the partner's connection ``sync_status: "needs_reconnect"`` (kept by later
  run failures, cleared only by a new OAuth connection);
- takes it out of ``connected_partner_ids``, so schedules, sensors and fan-out runs
  skip it (no retry loop; its webhook events wait in the inbox);
- emails the partner's admins and the operator, once per connection (the email key
  carries the connection's ``connected_at``).

Reconnecting (``oauth.complete_callback``) writes a fresh connection without the
mark; the pull cursors live apart from the connection, so the next sync resumes
where the last one stopped.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from pymongo.database import Database

from pc_core import collections as c
from pc_core.errors import Unauthorized
from pc_core.hubspot.connection import sync_health
from pc_core.mail.mailer import send_email
from pc_core.marketplace.notifications import partner_recipients
from pc_core.observability import operator_alerts
from pc_core.settings import Settings
from pc_core.store import update_with_retry
from pc_core.timeutil import utcnow

log = logging.getLogger(__name__)

#: The error codes of a refresh token HubSpot will never accept again.
DEAD_TOKEN_CODES = frozenset({"BAD_REFRESH_TOKEN", "invalid_grant"})


class RefreshTokenDead(Unauthorized):
    """HubSpot refused the refresh token for good: the partner must reconnect."""


def is_dead_refresh_answer(status: int | None, body: str | bytes | None) -> bool:
    """Whether a token endpoint's error answer means the refresh token is dead (a 400
    with ``BAD_REFRESH_TOKEN`` / ``invalid_grant``), as opposed to our own bad client
    id or secret, or HubSpot being down (5xx), which a later try may survive."""
    if status != 400 or not body:
        return False
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(parsed, dict):
        return False
    codes = {str(parsed.get(k)) for k in ("status", "error", "subCategory") if parsed.get(k)}
    return bool(codes & DEAD_TOKEN_CODES)


def needs_reconnect(hub: dict[str, Any] | None) -> bool:
    return bool(hub) and (hub or {}).get("sync_status") == sync_health.NEEDS_RECONNECT


def mark_needs_reconnect(db: Database, settings: Settings, partner_id: str,
                         reason: str) -> bool:
    """Mark the connection dead and tell the partner's admins and the operator (once
    per connection); ``True`` when this call marked it."""
    marked: dict[str, Any] = {}

    def mark(partner: dict[str, Any]) -> dict[str, Any] | None:
        hub = partner.get("hubspot")
        if not hub or needs_reconnect(hub):
            return None
        marked.update(hub)
        return {"hubspot": {**hub, "sync_status": sync_health.NEEDS_RECONNECT,
                            "needs_reconnect_since": utcnow(), "last_sync_error": reason}}

    if db[c.PARTNERS].find_one({"_id": partner_id}, {"_id": 1}) is None:
        return False
    update_with_retry(db[c.PARTNERS], partner_id, mark, what="partner")
    if not marked:
        return False
    log.warning("HubSpot refresh token of partner %s is dead; syncs stop until it "
                "reconnects", partner_id)
    partner = db[c.PARTNERS].find_one({"_id": partner_id}, {"name": 1}) or {}
    name = partner.get("name") or partner_id
    connected_at = marked.get("connected_at")
    stamp = connected_at.isoformat() if connected_at else "-"
    send_email(db, settings, key=f"hubspot-reconnect:{partner_id}:{stamp}",
               template="hubspot_reconnect", to=partner_recipients(db, partner_id),
               context={"partner_name": name, "portal_id": marked.get("portal_id") or "-",
                        "app_url": f"{settings.app_url.rstrip('/')}/settings/hubspot"})
    operator_alerts.notify_reconnect_needed(
        db, settings, partner_id=partner_id, partner_name=name,
        portal_id=str(marked.get("portal_id") or "-"), key_suffix=stamp)
    return True
