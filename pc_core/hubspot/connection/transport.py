"""HubSpot CRM calls for pulls: the SDK's endpoints, our JSON parsing, retries, a count.

Every call goes through the SDK built by ``client.build_client`` (so base URL, auth and
urllib3's ``Retry`` come from one place), but with ``_preload_content=False`` and
``orjson``: the SDK's model deserialisation handles about 3,000 records/s, far below
what a pull must sustain.

Resilience, in layers:
- urllib3's ``Retry`` (from ``build_client``) sleeps ``Retry-After`` on 429 and backs
  off on 5xx, connection errors and read timeouts, for GET and POST alike;
- when those retries are exhausted the call is retried here a few more times, with a
  longer pause, before the pull gives up (its cursor lets the next run resume);
- a 401 triggers exactly one ``tokens.refresh()`` and one more try (HubSpot: a 401
  alone is not proof the token expired, so never more than one refresh per call);
- every answer's rate-limit headers feed the portal's ``quota.QuotaTracker``, which
  paces calls before the burst window or the daily budget runs out and stops them
  (``DailyReserveReached``) at the reserve left to the portal's other apps; a 429
  naming the ``DAILY`` policy is not retried.

``requests`` counts HTTP requests actually sent, urllib3's retries included, so a
pull's figures can be held against the vendor's rate limits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import urllib3
from hubspot.crm.associations.v4.exceptions import ApiException as AssocApiException
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.deals.exceptions import ApiException as DealsApiException
from hubspot.crm.objects.notes.exceptions import ApiException as NotesApiException
from hubspot.crm.pipelines.exceptions import ApiException as PipelinesApiException
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from urllib3.util.retry import Retry

from pc_core.hubspot.connection import quota
from pc_core.hubspot.connection.client import AccessTokenProvider, build_client
from pc_core.hubspot.connection.objects import ObjectType
from pc_core.observability.vendor_calls import MeteredRetry
from pc_core.settings import Settings

log = logging.getLogger(__name__)

#: Each SDK sub-package has its own exception class.
API_ERRORS: tuple[type[Exception], ...] = (
    ContactsApiException, DealsApiException, AssocApiException, PipelinesApiException,
    NotesApiException, PropertiesApiException,
)
#: Failures worth another try once urllib3's own retries are spent.
TRANSIENT_STATUSES = frozenset({0, 429, 500, 502, 503, 504})
#: HubSpot's limit of inputs per batch read (50 with ``propertiesWithHistory``).
BATCH_READ_MAX = 100
HISTORY_READ_MAX = 50


class HubSpotCallError(Exception):
    """A CRM call that failed for good (after retries, or a non-retryable status)."""

    def __init__(self, what: str, status: int | None, detail: str) -> None:
        super().__init__(f"{what}: HTTP {status if status is not None else '-'} {detail}")
        self.what = what
        self.status = status


@dataclass(frozen=True)
class CallPolicy:
    """Knobs of the layer above urllib3: timeouts, extra attempts and their pause."""

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    attempts: int = 3  # calls per request once urllib3 gave up (1 = no extra tries)
    pause_s: float = 2.0  # first pause between those; doubled each time
    token_recheck_s: float = 60.0  # how often tokens.get() is asked again


class _CountingRetry(MeteredRetry):
    """urllib3's ``Retry`` plus a callback per retry, so retried requests are counted.

    urllib3 copies the policy on every retry through ``new``; the callback rides along.
    """

    on_retry: Callable[[], None] | None = None

    def new(self, **kw: Any) -> Retry:
        fresh = super().new(**kw)
        fresh.on_retry = self.on_retry  # type: ignore[attr-defined]
        return fresh

    def increment(self, *args: Any, **kwargs: Any) -> Retry:
        fresh = super().increment(*args, **kwargs)  # raises when exhausted: not a retry
        if self.on_retry is not None:
            self.on_retry()
        return fresh


def counting(retry: Retry, on_retry: Callable[[], None]) -> Retry:
    """The same retry policy, counting each retry it makes."""
    clone = _CountingRetry.__new__(_CountingRetry)
    clone.__dict__.update(retry.__dict__)
    clone.on_retry = on_retry
    return clone


class HubSpotApi:
    """The CRM endpoints a pull uses, answering parsed JSON. Not thread-safe: one
    instance per thread (a pull's fetching thread owns it)."""

    def __init__(self, settings: Settings, tokens: AccessTokenProvider,
                 policy: CallPolicy | None = None,
                 on_incident: Callable[[str], None] | None = None,
                 retry: Retry | None = None,
                 tracker: quota.QuotaTracker | None = None) -> None:
        self.policy = policy or CallPolicy()
        # The portal's budget, shared by every HubSpotApi of the partner in this process.
        self.quota = tracker or quota.tracker_for(settings, getattr(tokens, "partner_id", None))
        self.tokens = tokens
        self.requests = 0
        self.on_incident = on_incident
        self._token = tokens.get()
        self._token_at = time.monotonic()
        client = build_client(settings, self._token)
        # ``retry``: another urllib3 policy (tests of "HubSpot is down" use a short one).
        client.config["retry"] = counting(retry or client.config["retry"], self._count_retry)
        crm = client.crm
        # Each SDK property access builds a new ApiClient and connection pool: take them once.
        self._basic = {"contacts": crm.contacts.basic_api, "deals": crm.deals.basic_api}
        self._search = {"contacts": crm.contacts.search_api, "deals": crm.deals.search_api}
        self._batch = {"contacts": crm.contacts.batch_api, "deals": crm.deals.batch_api}
        self._assoc = crm.associations.v4.batch_api
        self._pipelines = crm.pipelines.pipelines_api
        # Pushback and cross-partner sync: notes in batches, custom properties.
        self._batch["notes"] = crm.objects.notes.batch_api
        # The relay finds a note it may have written before a crash (cross_partner.py).
        self._search["notes"] = crm.objects.notes.search_api
        self._properties = crm.properties.core_api
        self._timeout = (self.policy.connect_timeout_s, self.policy.read_timeout_s)

    def reauth(self, tokens: AccessTokenProvider | None = None) -> None:
        """Read the current token again now (from ``tokens`` if given, which replaces
        the provider): what building a new client does, minus the SDK client
        (``api_pool`` reuses clients between a partner's batches). Resets
        ``requests``."""
        if tokens is not None:
            self.tokens = tokens
        self._token = self.tokens.get()
        self._token_at = time.monotonic()
        self.requests = 0

    # -- endpoints -------------------------------------------------------------------

    def list_page(self, object_type: ObjectType, *, after: str | None, properties: list[str],
                  archived: bool, associations: list[str] | None = None,
                  limit: int = 100) -> dict[str, Any]:
        """``GET /crm/v3/objects/{type}``: one page in id order."""
        api = self._basic[object_type]
        # One comma-separated value each (HubSpot's documented form; shorter URLs than the
        # SDK's repeated parameters), and booleans spelled as HubSpot documents them.
        return self._call(f"list {object_type}", api, lambda: api.get_page(
            limit=limit, after=after, properties=[",".join(properties)],
            archived="true" if archived else "false",
            associations=[",".join(associations)] if associations else None,
            _preload_content=False, _request_timeout=self._timeout))

    def search(self, object_type: ObjectType | Literal["notes"],
               body: dict[str, Any]) -> dict[str, Any]:
        """``POST /crm/v3/objects/{type}/search`` with a raw JSON body."""
        api = self._search[object_type]
        return self._call(f"search {object_type}", api, lambda: api.do_search(
            public_object_search_request=body, _preload_content=False,
            _request_timeout=self._timeout))

    def batch_read(self, object_type: ObjectType, ids: list[str], properties: list[str],
                   *, archived: bool = False) -> dict[str, Any]:
        """``POST /crm/v3/objects/{type}/batch/read`` (≤ 100 ids): the current state of
        known records. Ids HubSpot cannot find (deleted, or archived when
        ``archived=False``) come back as a 207 ``errors`` entry, which is not a failure."""
        if len(ids) > BATCH_READ_MAX:
            raise ValueError(f"batch read takes at most {BATCH_READ_MAX} ids, got {len(ids)}")
        api = self._batch[object_type]
        body = {"inputs": [{"id": i} for i in ids], "properties": properties}
        return self._call(f"batch read {object_type}", api, lambda: api.read(
            batch_read_input_simple_public_object_id=body,
            archived="true" if archived else "false",
            _preload_content=False, _request_timeout=self._timeout))

    def associations(self, from_type: str, to_type: str, ids: list[str],
                     afters: dict[str, str | None] | None = None) -> dict[str, Any]:
        """``POST /crm/v4/associations/{from}/{to}/batch/read`` (≤ 1,000 ids; ids without
        associations come back as 207 errors, which is not a failure). A result with
        more associations than one answer holds carries ``paging.next.after``, which
        goes back as that input's ``after`` (``afters``) for the next page."""
        api = self._assoc
        afters = afters or {}
        body = {"inputs": [{"id": i, "after": afters[i]} if afters.get(i) else {"id": i}
                           for i in ids]}
        return self._call(f"associations {from_type}->{to_type}", api, lambda: api.get_page(
            from_object_type=from_type, to_object_type=to_type,
            batch_input_public_fetch_associations_batch_request=body,
            _preload_content=False, _request_timeout=self._timeout))

    def pipelines(self, object_type: str) -> dict[str, Any]:
        """``GET /crm/v3/pipelines/{type}``."""
        api = self._pipelines
        return self._call(f"pipelines {object_type}", api, lambda: api.get_all(
            object_type=object_type, _preload_content=False, _request_timeout=self._timeout))

    def read_with_history(self, object_type: str, ids: list[str], properties: list[str],
                          history: list[str]) -> dict[str, Any]:
        """``POST /crm/v3/objects/{type}/batch/read`` with ``propertiesWithHistory`` (≤ 50
        ids): each property's change times, for "most recent change wins". Missing ids
        come back as a 207 with ``errors``, which is not a failure."""
        if len(ids) > HISTORY_READ_MAX:
            raise ValueError(f"a history read takes at most {HISTORY_READ_MAX} ids")
        api = self._batch[object_type]
        body = {"inputs": [{"id": i} for i in ids], "properties": properties,
                "propertiesWithHistory": history}
        return self._call(f"history read {object_type}", api, lambda: api.read(
            batch_read_input_simple_public_object_id=body, archived=False,
            _preload_content=False, _request_timeout=self._timeout))

    def batch_update(self, object_type: str, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        """``POST /crm/v3/objects/{type}/batch/update`` with ≤ 100 ``{id, properties}``."""
        api = self._batch[object_type]
        body = {"inputs": inputs}
        return self._call(f"batch update {object_type}", api, lambda: api.update(
            batch_input_simple_public_object_batch_input=body,
            _preload_content=False, _request_timeout=self._timeout))

    def batch_create(self, object_type: str, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        """``POST /crm/v3/objects/{type}/batch/create`` with ≤ 100 ``{properties,
        associations}`` (notes associated with deals, deals for a buyer)."""
        api = self._batch[object_type]
        body = {"inputs": inputs}
        return self._call(f"batch create {object_type}", api, lambda: api.create(
            batch_input_simple_public_object_batch_input_for_create=body,
            _preload_content=False, _request_timeout=self._timeout))

    def get_property(self, object_type: str, name: str) -> dict[str, Any] | None:
        """``GET /crm/v3/properties/{type}/{name}``; ``None`` when it does not exist."""
        api = self._properties
        try:
            return self._call(f"property {object_type}.{name}", api, lambda: api.get_by_name(
                object_type=object_type, property_name=name,
                _preload_content=False, _request_timeout=self._timeout))
        except HubSpotCallError as exc:
            if exc.status == 404:
                return None
            raise

    def create_property(self, object_type: str, definition: dict[str, Any]) -> dict[str, Any]:
        """``POST /crm/v3/properties/{type}`` (a custom property; 409 if it exists)."""
        api = self._properties
        return self._call(f"create property {object_type}", api, lambda: api.create(
            object_type=object_type, property_create=definition,
            _preload_content=False, _request_timeout=self._timeout))

    # -- machinery -------------------------------------------------------------------

    def _count_retry(self) -> None:
        self.requests += 1

    def _note(self, text: str) -> None:
        """A failure urllib3 could not absorb but another try here may: worth reporting."""
        log.warning("HubSpot %s", text)
        if self.on_incident is not None:
            self.on_incident(text)

    def _current_token(self) -> str:
        if time.monotonic() - self._token_at >= self.policy.token_recheck_s:
            self._token = self.tokens.get()
            self._token_at = time.monotonic()
        return self._token

    def _call(self, what: str, api: Any, send: Callable[[], Any]) -> dict[str, Any]:
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            api.api_client.configuration.access_token = self._current_token()
            try:
                self.quota.before_call()
            except quota.DailyReserveReached as exc:
                raise QuotaStop(what, str(exc)) from exc
            self.requests += 1
            try:
                response = send()
                try:
                    self.quota.observe(response.headers)
                    data = response.data
                finally:
                    response.release_conn()
                return orjson.loads(data) if data else {}
            except API_ERRORS as exc:
                status = int(getattr(exc, "status", 0) or 0)
                self.quota.observe(getattr(exc, "headers", None))
                if status == 429 and _policy(exc) == "DAILY":
                    self.quota.observe_daily_refusal()
                    raise QuotaStop(what, "HubSpot's daily limit for this portal is spent") \
                        from exc
                if status == 401 and not refreshed:
                    refreshed = True
                    attempt -= 1  # the refresh retry is not one of the transient attempts
                    log.info("HubSpot %s answered 401; refreshing the token once", what)
                    self._token = self.tokens.refresh()
                    self._token_at = time.monotonic()
                    continue
                if status not in TRANSIENT_STATUSES or attempt >= self.policy.attempts:
                    raise HubSpotCallError(what, status, _error_message(exc)) from exc
                self._note(f"{what}: HTTP {status} after urllib3 retries; try {attempt + 1}")
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if attempt >= self.policy.attempts:
                    raise HubSpotCallError(what, None, f"{type(exc).__name__}: {exc}") from exc
                self._note(f"{what}: {type(exc).__name__} after urllib3 retries; "
                            f"try {attempt + 1}")
            time.sleep(self.policy.pause_s * 2 ** (attempt - 1))


class QuotaStop(HubSpotCallError):
    """Stopped for the portal's daily budget (nothing failed: resume after the reset)."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(what, 429, detail)


def _policy(exc: Exception) -> str | None:
    """The ``policyName`` of a 429's body (``DAILY``, ``TEN_SECONDLY_ROLLING``...)."""
    body = getattr(exc, "body", None)
    try:
        parsed = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None
    return str(parsed.get("policyName")) if isinstance(parsed, dict) else None


def _error_message(exc: Exception) -> str:
    """HubSpot's ``message`` from an error body, else the reason phrase."""
    body = getattr(exc, "body", None)
    if body:
        try:
            parsed = orjson.loads(body)
            if isinstance(parsed, dict) and parsed.get("category") == "MISSING_SCOPES":
                # name the scopes: the partner must reconnect to grant them
                needed = [s for e in parsed.get("errors") or [] if isinstance(e, dict)
                          for s in (e.get("context") or {}).get("requiredGranularScopes") or []]
                return f"MISSING_SCOPES: the connection lacks {', '.join(needed) or 'a scope'}"
            if isinstance(parsed, dict) and parsed.get("message"):
                return str(parsed["message"])[:300]
        except orjson.JSONDecodeError:
            return str(body)[:300]
    return str(getattr(exc, "reason", "") or type(exc).__name__)
