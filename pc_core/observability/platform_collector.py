"""Figures read from MongoDB at scrape time: the platform's state, not one process's.

- ``pc_webhook_inbox_pending``, ``pc_webhook_inbox_oldest_age_seconds``: HubSpot
  webhook events stored but not yet applied (the age comes from the event's inbox
  sequence, which is its arrival time in microseconds);
- ``pc_hubspot_sync_lag_seconds{partner_id}``: time since the partner's last
  successful pull (connected partners; never synced counts from the connection);
- ``pc_hubspot_sync_failed{partner_id}``: 1 while the partner's last HubSpot run failed;
- ``pc_reservations{status}``, ``pc_purchases{status}``: documents by status;
- ``pc_dagster_job_last_run_success{job}``, ``pc_dagster_job_last_run_timestamp_seconds``,
  ``pc_dagster_job_runs_total{job,outcome}``: Dagster outcomes (``job_outcomes``);
- ``pc_dagster_vendor_requests_total{vendor,outcome}``: HubSpot/Stripe calls made by
  Dagster runs (``vendor_calls.flush_to``);
- ``pc_platform_metrics_up``: 0 when the database could not be read.

Every API replica exports the same values (use ``max by (...)`` in queries). The
queries are served by indexes (partner + processed, status) and run at most once per
``interval`` seconds per process, whatever the scrape rate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from pymongo.database import Database

from pc_core import collections as c
from pc_core.observability import job_outcomes, vendor_calls
from pc_core.store.counts import count_by
from pc_core.timeutil import ensure_utc

log = logging.getLogger(__name__)

RESERVATION_STATUSES = ("active", "released", "expired", "converted")
PURCHASE_STATUSES = ("pending", "completed", "failed", "refunded")


def _epoch(value: Any) -> float | None:
    if isinstance(value, datetime):
        return ensure_utc(value).timestamp()
    if isinstance(value, str) and value:
        try:
            return ensure_utc(datetime.fromisoformat(value.replace("Z", "+00:00"))).timestamp()
        except ValueError:
            return None
    return None


class PlatformCollector:
    """A prometheus-client collector over the platform database."""

    def __init__(self, db: Database, interval: float = 15.0) -> None:
        self.db = db
        self.interval = interval
        self._lock = threading.Lock()
        self._at = 0.0
        self._cached: list[Metric] = []

    def describe(self) -> list[Metric]:
        return []  # computed at collect time; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() - self._at >= self.interval or not self._cached:
                self._cached = self._read()
                self._at = time.monotonic()
            yield from self._cached

    # -- reading -----------------------------------------------------------------------

    def _read(self) -> list[Metric]:
        started = time.perf_counter()
        up = GaugeMetricFamily("pc_platform_metrics_up",
                               "1 when the platform database could be read for /metrics.")
        try:
            metrics = [*self._partners_and_inbox(), *self._marketplace(), *self._dagster()]
            up.add_metric([], 1)
        except Exception as exc:  # noqa: BLE001 - a scrape must answer, saying it failed
            log.warning("platform metrics unavailable: %s", exc)
            metrics = []
            up.add_metric([], 0)
        took = GaugeMetricFamily("pc_platform_metrics_read_seconds",
                                 "Time the platform figures took to read.")
        took.add_metric([], time.perf_counter() - started)
        return [*metrics, up, took]

    def _partners_and_inbox(self) -> list[Metric]:
        now = time.time()
        lag = GaugeMetricFamily("pc_hubspot_sync_lag_seconds",
                                "Seconds since the partner's last successful HubSpot pull.",
                                labels=["partner_id"])
        failed = GaugeMetricFamily("pc_hubspot_sync_failed",
                                   "1 while the partner's last HubSpot run failed.",
                                   labels=["partner_id"])
        connected: list[str] = []
        for partner in self.db[c.PARTNERS].find({}, {"hubspot": 1}):
            hub = partner.get("hubspot") or {}
            if not hub.get("portal_id"):
                continue
            partner_id = str(partner["_id"])
            connected.append(partner_id)
            since = _epoch(hub.get("last_synced_at")) or _epoch(hub.get("connected_at"))
            if since is not None:
                lag.add_metric([partner_id], max(0.0, now - since))
            failed.add_metric([partner_id], 1 if hub.get("sync_status") == "failed" else 0)
        pending = GaugeMetricFamily("pc_webhook_inbox_pending",
                                    "HubSpot webhook events stored and not yet applied.")
        oldest = GaugeMetricFamily("pc_webhook_inbox_oldest_age_seconds",
                                   "Age of the oldest unapplied HubSpot webhook event "
                                   "(0 when none).")
        count, first_seq = 0, None
        if connected:
            rows = self.db[c.WEBHOOK_EVENTS].aggregate([
                {"$match": {"partner_id": {"$in": connected}, "processed": False}},
                {"$group": {"_id": None, "n": {"$sum": 1}, "first": {"$min": "$seq"}}},
            ])
            for row in rows:
                count, first_seq = int(row.get("n") or 0), row.get("first")
        pending.add_metric([], count)
        age = max(0.0, now - int(first_seq) / 1e6) if count and first_seq else 0.0
        oldest.add_metric([], age)
        return [lag, failed, pending, oldest]

    def _marketplace(self) -> list[Metric]:
        reservations = GaugeMetricFamily("pc_reservations", "Reservations by status.",
                                         labels=["status"])
        # one aggregation per collection (count_documents would scan once per status)
        held = count_by(self.db[c.RESERVATIONS], {}, "status")
        for status in RESERVATION_STATUSES:
            reservations.add_metric([status], held.get(status, 0))
        purchases = GaugeMetricFamily("pc_purchases", "Purchases by status.", labels=["status"])
        bought = count_by(self.db[c.PURCHASES], {}, "status")
        for status in PURCHASE_STATUSES:
            purchases.add_metric([status], bought.get(status, 0))
        return [reservations, purchases]

    def _dagster(self) -> list[Metric]:
        success = GaugeMetricFamily("pc_dagster_job_last_run_success",
                                    "1 if the job's last finished run succeeded, 0 if it failed.",
                                    labels=["job"])
        stamp = GaugeMetricFamily("pc_dagster_job_last_run_timestamp_seconds",
                                  "When the job's last run finished (epoch seconds).",
                                  labels=["job"])
        runs = CounterMetricFamily("pc_dagster_job_runs", "Finished Dagster runs by outcome.",
                                   labels=["job", "outcome"])
        for doc in job_outcomes.outcomes(self.db):
            job = str(doc.get("job") or doc["_id"])
            success.add_metric([job], 1 if doc.get("last_status") == job_outcomes.SUCCESS else 0)
            stamp.add_metric([job], float(doc.get("last_finished_ts") or 0))
            for outcome in (job_outcomes.SUCCESS, job_outcomes.FAILURE):
                runs.add_metric([job, outcome], int(doc.get(f"{outcome}_total") or 0))
        calls = CounterMetricFamily("pc_dagster_vendor_requests",
                                    "HubSpot/Stripe responses seen by Dagster runs, by outcome.",
                                    labels=["vendor", "outcome"])
        for (vendor, outcome), n in sorted(vendor_calls.totals(self.db).items()):
            calls.add_metric([vendor, outcome], n)
        return [success, stamp, runs, calls]


def platform_registry(db: Database, interval: float = 15.0) -> CollectorRegistry:
    """A registry holding only the platform collector (added to an exposition)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PlatformCollector(db, interval))
    return registry
