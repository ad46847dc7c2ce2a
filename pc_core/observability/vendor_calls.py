"""Counting third-party API calls at the HTTP client, not at each call site.

- HubSpot: the SDK sends through urllib3 with the ``Retry`` from
  ``pc_core.hubspot.connection.client.default_retry``; ``MeteredRetry`` is that policy plus a
  count of every response urllib3 sees (``is_retry`` is asked once per response,
  retried or final) and of every connection/read failure (``increment``).
- Stripe: the SDK's requests-based HTTP client with a count per response
  (``MeteredStripeHTTPClient``), handed to ``StripeClient(http_client=...)``.

Each response counts once in ``pc_vendor_requests_total{vendor,outcome}`` of this
process. Dagster runs live in short-lived pods Prometheus cannot scrape, so the
same figures are also kept in a per-process tally that ``flush_to`` adds to the
``vendor_calls`` collection (processes that called ``flush_into``, i.e. Dagster's,
flush every half minute and at exit);
the API's platform collector exports those totals as
``pc_dagster_vendor_requests_total``.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing.util
import threading
import time
from collections import Counter as Tally
from typing import Any

import stripe
from pymongo.database import Database
from pymongo.errors import PyMongoError
from urllib3.util.retry import Retry

from pc_core.observability.metrics import VENDOR_REQUESTS

log = logging.getLogger(__name__)

VENDOR_CALLS = "vendor_calls"
OUTCOMES = ("ok", "rate_limited", "client_error", "server_error", "network_error")

FLUSH_EVERY_S = 30.0
EXIT_FLUSH_TIMEOUT_S = 2.0

_lock = threading.Lock()
_tally: Tally[tuple[str, str]] = Tally()
_target: Database | None = None
_last_flush = time.monotonic()


def outcome_of(status: int | None) -> str:
    if status is None or status <= 0:
        return "network_error"
    if status == 429:
        return "rate_limited"
    if status < 400:
        return "ok"
    return "client_error" if status < 500 else "server_error"


def record(vendor: str, status: int | None) -> None:
    """One response (``status``) or failed attempt (``None``) from ``vendor``."""
    global _last_flush
    outcome = outcome_of(status)
    VENDOR_REQUESTS.labels(vendor, outcome).inc()
    with _lock:
        _tally[(vendor, outcome)] += 1
        due = _target is not None and time.monotonic() - _last_flush >= FLUSH_EVERY_S
        if due:
            _last_flush = time.monotonic()
    if due:
        _flush_target()


def flush_into(db: Database) -> None:
    """Have this process's figures added to ``db`` every ``FLUSH_EVERY_S`` and when
    the process ends (interpreter exit, and the exit of a multiprocessing child such
    as a Dagster step process, which skips ``atexit``)."""
    global _target
    with _lock:
        first = _target is None
        _target = db
    if first:
        atexit.register(_flush_at_exit)
        multiprocessing.util.Finalize(None, _flush_at_exit, exitpriority=10)


def _flush_target() -> None:
    target = _target
    if target is not None:
        flush_to(target)


def _flush_at_exit() -> None:
    """The last flush, once, given at most ``EXIT_FLUSH_TIMEOUT_S`` (a process that
    outlives its database must not hang on the way out)."""
    global _target
    with _lock:
        target, _target = _target, None
    if target is None or not _tally:
        return
    worker = threading.Thread(target=flush_to, args=(target,), kwargs={"quiet": True},
                              daemon=True)
    worker.start()
    worker.join(EXIT_FLUSH_TIMEOUT_S)


def take_tally() -> dict[tuple[str, str], int]:
    """The calls counted since the last take, and reset."""
    with _lock:
        taken = dict(_tally)
        _tally.clear()
    return taken


def flush_to(db: Database, *, quiet: bool = False) -> int:
    """Add this process's calls since the last flush to ``vendor_calls`` (one
    ``$inc`` per vendor and outcome). On failure the figures are put back for the
    next flush. Returns the number of calls written."""
    taken = take_tally()
    written = 0
    try:
        for (vendor, outcome), n in taken.items():
            db[VENDOR_CALLS].update_one(
                {"_id": f"{vendor}:{outcome}"},
                {"$inc": {"n": n}, "$set": {"vendor": vendor, "outcome": outcome}},
                upsert=True,
            )
            written += n
            taken[(vendor, outcome)] = 0
    except PyMongoError as exc:
        log.log(logging.DEBUG if quiet else logging.WARNING,
                "vendor call figures not flushed (%s); kept for the next flush", exc)
        with _lock:
            _tally.update({k: v for k, v in taken.items() if v})
    return written


def totals(db: Database) -> dict[tuple[str, str], int]:
    """Cluster-wide flushed totals by (vendor, outcome)."""
    return {(d["vendor"], d["outcome"]): int(d.get("n") or 0)
            for d in db[VENDOR_CALLS].find({}, {"vendor": 1, "outcome": 1, "n": 1})
            if d.get("vendor") and d.get("outcome")}


class MeteredRetry(Retry):
    """urllib3's ``Retry`` that also counts each response and failed attempt.

    ``Retry.new`` rebuilds with ``type(self)``, so the count survives every retry."""

    vendor = "hubspot"

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        record(self.vendor, status_code)
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method: str | None = None, url: str | None = None,
                  response: Any = None, error: Exception | None = None,
                  _pool: Any = None, _stacktrace: Any = None) -> Retry:
        if response is None and error is not None:
            record(self.vendor, None)
        return super().increment(method, url, response, error, _pool, _stacktrace)


class MeteredStripeHTTPClient(stripe.RequestsClient):
    """Stripe's requests-based client, counting each attempt's outcome."""

    def request(self, method: str, url: str, headers: Any, post_data: Any = None
                ) -> tuple[bytes, int, Any]:
        try:
            content, status, response_headers = super().request(method, url, headers, post_data)
        except stripe.APIConnectionError:
            record("stripe", None)
            raise
        record("stripe", status)
        return content, status, response_headers
