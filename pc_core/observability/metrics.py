"""Prometheus metrics of one process, and their exposition.

Metrics counted where things happen (this module's objects):

- ``pc_http_request_duration_seconds{method,route,status}``: histogram per route
  *template* (``/v1/leads/{lead_id}``, never the raw path), so cardinality is the
  number of routes; unmatched paths are ``route="<unmatched>"``.
- ``pc_http_requests_in_flight``
- ``pc_vendor_requests_total{vendor,outcome}``: every HTTP response from HubSpot and
  Stripe (urllib3/Stripe client hooks in ``vendor_calls``), ``outcome`` one of ``ok``,
  ``rate_limited`` (429), ``client_error``, ``server_error``, ``network_error``;
  retried attempts count one each.
- ``pc_socketio_connections``: open Socket.IO connections.

Figures read from the database at scrape time (``platform_collector``) are added by
whoever serves the exposition.

Several uvicorn workers in one pod: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty,
writable directory *before* the workers start (prometheus-client reads it at
import); every worker then writes its samples there and any worker's exposition
sums them (gauges: live processes only). Without it each process exposes its own.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_DURATION = Histogram(
    "pc_http_request_duration_seconds",
    "API request latency by route template, method and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_IN_FLIGHT = Gauge(
    "pc_http_requests_in_flight", "API requests being served.", multiprocess_mode="livesum",
)
VENDOR_REQUESTS = Counter(
    "pc_vendor_requests",
    "HTTP responses from third-party APIs (HubSpot, Stripe) by outcome; 429s are "
    "outcome=rate_limited, connection failures outcome=network_error.",
    ["vendor", "outcome"],
)
SOCKETIO_CONNECTIONS = Gauge(
    "pc_socketio_connections", "Open Socket.IO connections.", multiprocess_mode="livesum",
)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def process_registry() -> CollectorRegistry:
    """This process's counted metrics: the default registry, or in multi-process mode
    the sum over every worker's files."""
    if not multiprocess_mode():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


class _Union:
    """Collects from several registries as one (for the metrics port's server)."""

    def __init__(self, registries: Iterable[CollectorRegistry]) -> None:
        self.registries = list(registries)

    def collect(self) -> Iterator[Any]:
        for registry in self.registries:
            yield from registry.collect()


def exposition_registry(extra: CollectorRegistry | None = None) -> CollectorRegistry:
    """One registry with this process's metrics and ``extra`` (database figures)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Union([process_registry(), *([extra] if extra else [])]))
    return registry


def render(extra: CollectorRegistry | None = None) -> bytes:
    """The text exposition (Prometheus format 0.0.4)."""
    return generate_latest(exposition_registry(extra))


_server_lock = threading.Lock()


def serve(host: str, port: int, extra: CollectorRegistry | None = None) -> Any | None:
    """Serve ``/metrics`` on its own port (not behind the ingress). With several
    workers only the first binds it; the others find the port taken and leave it
    (any worker's exposition covers all of them in multi-process mode). Returns the
    server (``shutdown()`` it), or ``None`` when another process has the port."""
    with _server_lock:
        try:
            server, _thread = start_http_server(port, addr=host,
                                                registry=exposition_registry(extra))
        except OSError as exc:
            log.info("metrics port %s:%s not bound here (%s); another worker serves it",
                     host, port, exc)
            return None
    log.info("metrics served on %s:%s/metrics", host, server.server_port)
    return server


def mark_process_dead() -> None:
    """Multi-process mode: drop this process's live gauges (call at shutdown)."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())
