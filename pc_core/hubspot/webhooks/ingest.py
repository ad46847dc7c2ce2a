"""HubSpot webhook ingest: check the signature, store the batch in the inbox, answer.

The API does only what must happen before HubSpot's 5 s deadline: verify the v3
signature and insert every event into ``webhook_events``. Applying the changes is the
Dagster run's job (``webhook_apply``), which reads HubSpot's current state rather than
trusting the event values.

Inbox documents are keyed by the event's natural key (portal, subscription type,
object, event id, occurredAt: HubSpot's ``eventId`` alone is not unique), so a
redelivery is a duplicate-key no-op. They are inserted whole (no ``$set``, which the
embedded store would turn into strings), unordered, ≤ 100 per insert, and queried by
equality on ``partner_id`` + ``processed``.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from hubspot.exceptions import InvalidSignatureTimestampError
from hubspot.utils.signature import Signature
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from pc_core import collections as c
from pc_core.errors import BadRequest, Unauthorized
from pc_core.settings import Settings
from pc_core.store import wakeups
from pc_core.store.documents import DUPLICATE_KEY
from pc_core.store.queues import exact
from pc_core.timeutil import utcnow

log = logging.getLogger(__name__)

MAX_AGE_MS = Signature.MAX_ALLOWED_TIMESTAMP * 1000  # HubSpot's 5-minute window
INSERT_BATCH = 100
PORTAL_CACHE_S = 30.0
#: subscription type prefix → raw object type the run reads
OBJECT_TYPES = {"deal": "deals", "contact": "contacts"}

V3_HEADER = "x-hubspot-signature-v3"
V1_HEADER = "x-hubspot-signature"
TIMESTAMP_HEADER = "x-hubspot-request-timestamp"


# -- signature --------------------------------------------------------------------------


def verify_signature(settings: Settings, headers: dict[str, str], body: bytes,
                     uris: list[str], method: str = "POST") -> None:
    """Raise ``Unauthorized`` unless the request is signed with the app's secret.

    v3 (HMAC-SHA256 over method + URI + body + timestamp) within ±5 minutes, checked by
    the SDK against each candidate URI (the public one first: behind a proxy the URL
    HubSpot signed is not the one this process sees). A request carrying only the v1
    signature (SHA-256 of secret + body: no timestamp, so replayable) passes only when
    ``hubspot_accept_v1_signatures`` is set. ``headers`` has lower-case names.
    """
    secret = settings.hubspot_client_secret
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Unauthorized("invalid signature")  # HubSpot signs UTF-8 JSON
    v3 = headers.get(V3_HEADER)
    if v3:
        timestamp = headers.get(TIMESTAMP_HEADER)
        if not timestamp or not timestamp.isdigit():
            raise Unauthorized("missing or malformed X-HubSpot-Request-Timestamp")
        if abs(time.time() * 1000 - int(timestamp)) > MAX_AGE_MS:
            raise Unauthorized("stale X-HubSpot-Request-Timestamp")
        for uri in dict.fromkeys(uris):
            try:
                if Signature.is_valid(v3, secret, text, uri, method, "v3", timestamp):
                    return
            except InvalidSignatureTimestampError:
                raise Unauthorized("stale X-HubSpot-Request-Timestamp")
        raise Unauthorized("invalid signature")
    v1 = headers.get(V1_HEADER)
    if v1 and settings.hubspot_accept_v1_signatures:
        if Signature.is_valid(v1, secret, text, signature_version="v1"):
            return
        raise Unauthorized("invalid signature")
    raise Unauthorized("missing X-HubSpot-Signature-v3")


#: HubSpot's integer fields (ids and epoch milliseconds), and its string fields.
INT_FIELDS = ("eventId", "subscriptionId", "portalId", "appId", "occurredAt", "attemptNumber",
              "objectId", "primaryObjectId", "newObjectId", "fromObjectId", "toObjectId")
STR_FIELDS = ("subscriptionType", "propertyName", "changeSource", "associationType")
#: lists of ids (``*.merge``)
INT_LIST_FIELDS = ("mergedObjectIds",)
MAX_INT = 2**63 - 1  # what MongoDB stores as an integer


def _check_event(index: int, event: Any) -> None:
    """``BadRequest`` naming the first field of HubSpot's documented payload that has
    the wrong type. Missing fields are allowed (not every subscription type has an
    ``objectId``); such events are acknowledged and ignored by ``inbox_doc``."""
    if not isinstance(event, dict):
        raise BadRequest(f"event {index}: must be a JSON object")
    for name in INT_FIELDS:
        value = event.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
            raise BadRequest(f"event {index}: {name} must be a non-negative integer, "
                             f"not {orjson.dumps(value)[:40].decode(errors='replace')}")
    for name in STR_FIELDS:
        value = event.get(name)
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"event {index}: {name} must be a string")
    for name in INT_LIST_FIELDS:
        value = event.get(name)
        if value is not None and not (isinstance(value, list) and len(value) <= 1000 and all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_INT
                for v in value)):
            raise BadRequest(f"event {index}: {name} must be a list of non-negative integers")


def parse_batch(body: bytes) -> list[dict[str, Any]]:
    """The JSON array of events, each checked against HubSpot's field types; else
    ``BadRequest`` naming the problem (before anything is stored: a correctly
    signed but malformed delivery is answered 400, never 500, which HubSpot would
    retry for a day)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("body is not valid JSON")
    if not isinstance(data, list):
        raise BadRequest("body must be a JSON array of event objects")
    for index, event in enumerate(data):
        _check_event(index, event)
    return data


# -- portal → partner ---------------------------------------------------------------------


class PortalDirectory:
    """portalId → partner id, cached for a few seconds (a batch has one portal, and
    HubSpot sends up to 10 at once; a freshly connected portal shows up within
    ``ttl_s``). Keyed by database so tests with their own databases stay apart."""

    def __init__(self, ttl_s: float = PORTAL_CACHE_S) -> None:
        self.ttl_s = ttl_s
        self._cache: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def partner_for(self, db: Database, portal_id: str) -> str | None:
        key = (db.name, portal_id)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        doc = db[c.PARTNERS].find_one(exact({"hubspot.portal_id": portal_id}),  # index-served
                                      {"_id": 1, "hubspot": 1})
        partner = doc["_id"] if doc and (doc.get("hubspot") or {}).get("portal_id") else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now, partner)
        return partner


PORTALS = PortalDirectory()


# -- the inbox ----------------------------------------------------------------------------


def event_key(event: dict[str, Any]) -> str:
    """The natural key: HubSpot's eventId is unique only with the rest."""
    subject = event.get("objectId")
    if subject is None and event.get("fromObjectId") is not None:  # association changes
        subject = f"{event.get('fromObjectId')}-{event.get('toObjectId')}"
    return ":".join(str(v) for v in (
        event.get("portalId"), event.get("subscriptionType"), subject, event.get("eventId"),
        event.get("occurredAt")))


def event_subject(event: dict[str, Any]) -> tuple[str | None, Any, list[str]]:
    """(raw object type, id, other ids of that type) the run must read for an event.

    Most events name their object in ``objectId``. A merge names the canonical record
    (``newObjectId``, else ``objectId`` / ``primaryObjectId``) and the merged-away ones
    (``mergedObjectIds``, which answer with the canonical record). An association
    change has no ``objectId`` but ``fromObjectId`` / ``toObjectId`` and an
    ``associationType`` such as ``DEAL_TO_CONTACT``: the deal's associations are what a
    lead uses, so the deal is read (either side of the pair).
    """
    stype = str(event.get("subscriptionType") or "")
    prefix, _, action = stype.partition(".")
    if action == "associationChange":
        kind = str(event.get("associationType") or "").upper()
        if kind == "DEAL_TO_CONTACT":
            return "deals", event.get("fromObjectId"), []
        if kind == "CONTACT_TO_DEAL":
            return "deals", event.get("toObjectId"), []
        return None, event.get("fromObjectId"), []
    otype = OBJECT_TYPES.get(prefix)
    if action == "merge":
        main = next((event.get(k) for k in ("newObjectId", "objectId", "primaryObjectId")
                     if event.get(k) is not None), None)
        others = [event.get("primaryObjectId"), *(event.get("mergedObjectIds") or [])]
        return otype, main, [str(i) for i in others if i is not None and i != main]
    return otype, event.get("objectId"), []


_seq_lock = threading.Lock()
_seq_counter = itertools.count()


def _next_seqs(n: int) -> list[int]:
    """Increasing numbers per process (microseconds + a counter): run keys and the
    run's ordering use them; uniqueness across replicas is not needed."""
    with _seq_lock:
        base = time.time_ns() // 1000 * 1000
        return [base + next(_seq_counter) % 1000 for _ in range(n)]


def seq_time(seq: int) -> float:
    """When the event with this inbox sequence was received (epoch seconds): the
    sequence is the receipt time in nanoseconds, with a counter in the last digits."""
    return seq / 1e9


def seq_of(moment: float) -> int:
    """The inbox sequence of an event received at ``moment`` (epoch seconds)."""
    return int(moment * 1e9)


def inbox_doc(event: dict[str, Any], partner_id: str, seq: int,
              received_at: Any) -> dict[str, Any] | None:
    """The inbox document, or ``None`` for an event without the fields we key on."""
    stype = str(event.get("subscriptionType") or "")
    object_type, object_id, related = event_subject(event)
    if not stype or object_id is None or event.get("eventId") is None:
        return None
    return {
        "_id": event_key(event),
        "partner_id": partner_id,
        "portal_id": str(event.get("portalId")),
        "subscription_type": stype,
        "object_type": object_type,
        "object_id": str(object_id),
        "related_ids": related,
        "event_id": str(event.get("eventId")),
        "occurred_at_ms": event.get("occurredAt") or 0,
        "property_name": event.get("propertyName"),
        "change_source": event.get("changeSource"),
        "attempt": event.get("attemptNumber") or 0,
        # As received, for audits; never applied as such. JSON text, so any key or
        # number HubSpot adds is stored whatever MongoDB makes of keys and integers.
        "event": orjson.dumps(event).decode(),
        "received_at": received_at,
        "seq": seq,
        "processed": False,
    }


@dataclass
class IngestResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    ignored: int = 0  # unknown portal or unusable event
    partners: set[str] = field(default_factory=set)  # partners with events stored


def store_events(db: Database, events: list[dict[str, Any]],
                 portals: PortalDirectory = PORTALS) -> IngestResult:
    """Insert the events of one delivery into the inbox; redeliveries are no-ops."""
    result = IngestResult(received=len(events))
    seqs = _next_seqs(len(events))
    now = utcnow()
    docs: list[dict[str, Any]] = []
    unknown: set[str] = set()
    for event, seq in zip(events, seqs, strict=True):
        portal = str(event.get("portalId"))
        partner = portals.partner_for(db, portal)
        doc = inbox_doc(event, partner, seq, now) if partner else None
        if doc is None:
            result.ignored += 1
            if partner is None:
                unknown.add(portal)
            continue
        docs.append(doc)
    if unknown:
        log.warning("HubSpot webhook events for unknown portal(s) %s ignored",
                    ", ".join(sorted(unknown)))
    for start in range(0, len(docs), INSERT_BATCH):
        chunk = docs[start:start + INSERT_BATCH]
        try:
            inserted = len(db[c.WEBHOOK_EVENTS].insert_many(chunk, ordered=False).inserted_ids)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors") or []
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            result.duplicates += len(errors)
            inserted = int(exc.details.get("nInserted", len(chunk) - len(errors)))
        result.stored += inserted
        result.partners.update(d["partner_id"] for d in chunk)
    return result


def handle_delivery(db: Database, settings: Settings, headers: dict[str, str], body: bytes,
                    uris: list[str]) -> IngestResult:
    """Verify, parse and store one webhook request (the route's whole job), then wake
    the hot-path workers for the partners concerned (best effort: they poll too)."""
    verify_signature(settings, headers, body, uris)
    result = store_events(db, parse_batch(body))
    wakeups.announce(settings, wakeups.WEBHOOK, result.partners)
    return result
