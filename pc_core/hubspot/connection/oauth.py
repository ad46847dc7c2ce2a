"""Connecting a partner's HubSpot portal: OAuth consent, token storage and refresh.

Tokens are encrypted at rest with ``PC_TOKEN_ENCRYPTION_KEY`` and never leave this
module in clear except to the SDK. The OAuth ``state`` is a signed, 10-minute token
bound to the partner and the user who started the flow, to the browser that started
it (a nonce cookie) and good for one callback (``pc_core.security.oauth_state``), so
a consent link passed to someone else, or a state replayed, attaches nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import redis
from hubspot.crm.objects.exceptions import ApiException as CrmApiException
from hubspot.oauth.exceptions import ApiException as OAuthApiException
from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.errors import BadRequest, Conflict, DomainError, NotFound, Unauthorized
from pc_core.hubspot.connection import reconnect, sync_health
from pc_core.hubspot.connection.client import build_client
from pc_core.security import oauth_state
from pc_core.security.encryption import decrypt_secret, encrypt_secret
from pc_core.settings import Settings
from pc_core.store import replace_if_unchanged, update_with_retry
from pc_core.sync import tasks as sync_tasks
from pc_core.timeutil import ensure_utc, utcnow

log = logging.getLogger(__name__)

STATE_PURPOSE = "hubspot-oauth"
STATE_TTL = timedelta(minutes=10)
# Refresh this long before expiry, so a page fetch never starts with a dying token.
REFRESH_MARGIN = timedelta(minutes=5)


def redirect_uri(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/v1/integrations/hubspot/callback"


@dataclass(frozen=True)
class Consent:
    url: str  # HubSpot's consent page, with the signed state
    nonce: str  # for the initiating browser's cookie; the callback needs it back


def authorize_url(settings: Settings, actor: Principal, partner_id: str | None) -> Consent:
    """The consent page URL with a signed state bound to partner, user and browser."""
    target = actor.acting_partner_id(partner_id)
    if target is None:
        raise BadRequest("partner_id is required")
    actor.require_write_on_partner(target, "partner")
    issued = oauth_state.issue(
        settings, STATE_PURPOSE, {"pid": target, "uid": actor.user_id}, STATE_TTL
    )
    query = urlencode(
        {
            "client_id": settings.hubspot_client_id,
            "redirect_uri": redirect_uri(settings),
            "scope": settings.hubspot_scopes,
            "state": issued.state,
        }
    )
    return Consent(url=f"{settings.hubspot_authorize_url}?{query}", nonce=issued.nonce)


class CallbackError(DomainError):
    """Ends the OAuth flow with ``?error=<code>`` on the settings page."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def complete_callback(db: Database, r: redis.Redis, settings: Settings, code: str, state: str,
                      nonce: str | None) -> str:
    """Exchange the code and store the tokens; returns the partner id.

    ``nonce`` is the initiating browser's cookie. Raises ``CallbackError`` (and
    stores nothing) for a bad, expired, foreign or already used state, a user who
    lost access, a failed exchange, or a portal already connected elsewhere.
    """
    try:
        claims = oauth_state.redeem(settings, r, STATE_PURPOSE, state, nonce, STATE_TTL)
    except oauth_state.StateRejected as exc:
        raise CallbackError(exc.code)
    partner_id, user_id = str(claims["pid"]), str(claims["uid"])
    user = db[c.USERS].find_one({"_id": user_id})
    if (
        user is None
        or not user.get("active", True)
        or (user["role"] != "owner" and user.get("partner_id") != partner_id)
        or user["role"] == "user"
    ):
        raise CallbackError("access_denied")
    if not code:
        raise CallbackError("missing_code")
    client = build_client(settings)
    try:
        tokens = client.oauth.tokens_api.create(
            grant_type="authorization_code",
            client_id=settings.hubspot_client_id,
            client_secret=settings.hubspot_client_secret,
            redirect_uri=redirect_uri(settings),
            code=code,
        )
        info = client.oauth.access_tokens_api.get(tokens.access_token)
    except OAuthApiException as exc:
        log.warning("HubSpot code exchange failed for partner %s: HTTP %s", partner_id, exc.status)
        raise CallbackError("exchange_failed")
    portal_id = str(info.hub_id)
    other = db[c.PARTNERS].find_one({"hubspot.portal_id": portal_id}, {"_id": 1})
    if other is not None and other["_id"] != partner_id:
        raise CallbackError("portal_already_connected")
    now = utcnow()
    previous = (db[c.PARTNERS].find_one({"_id": partner_id}, {"hubspot": 1}) or {}).get("hubspot")
    connection = {
        "portal_id": portal_id,
        "scopes": sorted(info.scopes or []),
        "access_token": encrypt_secret(settings.token_encryption_key, tokens.access_token),
        "refresh_token": encrypt_secret(settings.token_encryption_key, tokens.refresh_token),
        "expires_at": now + timedelta(seconds=int(tokens.expires_in)),
        "connected_at": now,
        "connected_by": user_id,
        "last_synced_at": None,
    }

    def attach(partner: dict[str, Any]) -> dict[str, Any]:
        return {"hubspot": connection, "updated_at": now}

    try:
        update_with_retry(db[c.PARTNERS], partner_id, attach, what="partner")
    except NotFound:
        raise CallbackError("partner_not_found")
    log.info("partner %s connected HubSpot portal %s", partner_id, portal_id)
    if reconnect.needs_reconnect(previous):
        # Back from a dead token: sync now, from the saved cursors (kept apart from
        # the connection), rather than at the next 15-minute tick.
        sync_tasks.create_task(db, partner_id, trigger="reconnect", requested_by=user_id)
    return partner_id


def connection_status(db: Database, actor: Principal, partner_id: str | None) -> dict[str, Any]:
    target = actor.acting_partner_id(partner_id)
    actor.require_partner_visible(target, "partner")
    partner = db[c.PARTNERS].find_one({"_id": target})
    if partner is None:
        raise NotFound("partner not found")
    hub = partner.get("hubspot") or {}
    return {
        "connected": bool(hub.get("portal_id")),
        "portal_id": hub.get("portal_id"),
        "scopes": hub.get("scopes", []),
        "last_synced_at": hub.get("last_synced_at"),
        **sync_health.health_fields(hub),
    }


def disconnect(db: Database, actor: Principal, partner_id: str | None) -> None:
    target = actor.acting_partner_id(partner_id)
    actor.require_write_on_partner(target, "partner")

    def detach(partner: dict[str, Any]) -> dict[str, Any] | None:
        if not partner.get("hubspot"):
            return None
        return {"hubspot": None, "updated_at": utcnow()}

    update_with_retry(db[c.PARTNERS], str(target), detach, what="partner")


#: A stamp this recent, with the health already clear, is not written again: the hot
#: path applies a partner's batches seconds apart, and "last synced" is read by people.
STAMP_FRESH = timedelta(seconds=5)


def mark_synced(db: Database, partner_id: str, *,
                current: dict[str, Any] | None = None) -> None:
    """A sync succeeded: stamp ``last_synced_at`` and clear the sync health.
    ``current``: the partner document as the caller read it (``PartnerTokens.seen``),
    which saves the read, and the write too while its stamp is fresh and its health
    clear (a failure recorded since that read is cleared by the next stamp)."""
    def stamp(partner: dict[str, Any]) -> dict[str, Any] | None:
        hub = partner.get("hubspot")
        if not hub:
            return None
        return {"hubspot": {**hub, "last_synced_at": utcnow(), **sync_health.CLEARED}}

    if current is not None:
        hub = current.get("hubspot") or {}
        last = hub.get("last_synced_at")
        if (isinstance(last, datetime) and utcnow() - ensure_utc(last) < STAMP_FRESH
                and all(hub.get(k) == v for k, v in sync_health.CLEARED.items())):
            return
        changes = stamp(current)
        if changes is None or replace_if_unchanged(db[c.PARTNERS], current,
                                                   changes) is not None:
            return
    update_with_retry(db[c.PARTNERS], partner_id, stamp, what="partner")


def linked_partner_ids(db: Database) -> list[str]:
    """Partners with a HubSpot portal, whether or not its token still works (their
    Dagster partitions stay). Filtered here rather than with ``$ne: null`` on the
    nested field, which the embedded store also matches when the field is absent;
    partners are few."""
    return sorted(
        d["_id"] for d in db[c.PARTNERS].find({}, {"_id": 1, "hubspot": 1})
        if (d.get("hubspot") or {}).get("portal_id")
    )


def reconnect_waiting_ids(db: Database) -> set[str]:
    """Partners whose refresh token HubSpot refused, waiting for a reconnect."""
    return {d["_id"] for d in db[c.PARTNERS].find({}, {"_id": 1, "hubspot": 1})
            if reconnect.needs_reconnect(d.get("hubspot"))}


def connected_partner_ids(db: Database) -> list[str]:
    """Partners whose HubSpot connection can sync: active, linked, and not waiting for
    a reconnect after a dead refresh token (``reconnect``). Every schedule, sensor and
    fan-out run works from this list, so a dead connection is not retried and a
    deactivated partner's syncs pause (and resume when it is reactivated)."""
    return sorted(
        d["_id"] for d in db[c.PARTNERS].find({}, {"_id": 1, "hubspot": 1, "active": 1})
        if (d.get("hubspot") or {}).get("portal_id") and d.get("active", True)
        and not reconnect.needs_reconnect(d.get("hubspot"))
    )


def connected_among(db: Database, partner_ids: list[str]) -> set[str]:
    """Those of ``partner_ids`` whose HubSpot connection can sync (linked, not waiting
    for a reconnect): a batch read by ``_id``, so a worker's pass does not read every
    partner."""
    found: set[str] = set()
    for start in range(0, len(partner_ids), 100):
        found.update(d["_id"] for d in db[c.PARTNERS].find(
            {"_id": {"$in": partner_ids[start:start + 100]}}, {"_id": 1, "hubspot": 1})
            if (d.get("hubspot") or {}).get("portal_id")
            and not reconnect.needs_reconnect(d.get("hubspot")))
    return found


@dataclass
class PartnerTokens:
    """``AccessTokenProvider`` over a partner's stored, encrypted tokens."""

    db: Database
    settings: Settings
    partner_id: str
    #: the partner document as last read (``mark_synced`` can use it: one read less)
    seen: dict[str, Any] | None = field(default=None, repr=False)

    def _connection(self) -> dict[str, Any]:
        partner = self.db[c.PARTNERS].find_one({"_id": self.partner_id})
        self.seen = partner
        hub = (partner or {}).get("hubspot")
        if not hub:
            raise Conflict(f"partner {self.partner_id} has no HubSpot connection")
        if reconnect.needs_reconnect(hub):
            # No call with a token HubSpot already refused: wait for the reconnect.
            raise reconnect.RefreshTokenDead(
                f"partner {self.partner_id}'s HubSpot connection needs a reconnect")
        return hub

    def get(self) -> str:
        hub = self._connection()
        if ensure_utc(hub["expires_at"]) - utcnow() <= REFRESH_MARGIN:
            return self.refresh()
        return decrypt_secret(self.settings.token_encryption_key, hub["access_token"])

    def refresh(self) -> str:
        hub = self._connection()
        key = self.settings.token_encryption_key
        try:
            tokens = build_client(self.settings).oauth.tokens_api.create(
                grant_type="refresh_token",
                client_id=self.settings.hubspot_client_id,
                client_secret=self.settings.hubspot_client_secret,
                redirect_uri=redirect_uri(self.settings),
                refresh_token=decrypt_secret(key, hub["refresh_token"]),
            )
        except (OAuthApiException, CrmApiException) as exc:
            log.warning("HubSpot token refresh failed for partner %s: HTTP %s",
                        self.partner_id, exc.status)
            if reconnect.is_dead_refresh_answer(exc.status, exc.body):
                reconnect.mark_needs_reconnect(
                    self.db, self.settings, self.partner_id,
                    "HubSpot refused the refresh token (app uninstalled or access "
                    "revoked); reconnect HubSpot")
                raise reconnect.RefreshTokenDead(
                    "HubSpot refused the refresh token; reconnect HubSpot")
            raise Unauthorized("HubSpot refused the refresh token; reconnect HubSpot")
        now = utcnow()

        def store(partner: dict[str, Any]) -> dict[str, Any]:
            current = partner.get("hubspot") or hub
            return {
                "hubspot": {
                    **current,
                    "access_token": encrypt_secret(key, tokens.access_token),
                    "refresh_token": encrypt_secret(key, tokens.refresh_token or
                                                    decrypt_secret(key, hub["refresh_token"])),
                    "expires_at": now + timedelta(seconds=int(tokens.expires_in)),
                }
            }

        update_with_retry(self.db[c.PARTNERS], self.partner_id, store, what="partner")
        return tokens.access_token
