"""Webhook delivery on a background thread, with the admin's misbehaviours.

Stripe delivers at least once and not in order, so the switches here let the
demo and the tests provoke duplicates (``deliver_twice``), reordering
(``out_of_order`` holds a batch and sends it reversed) and lateness
(``delay_ms``). One scheduler thread keeps delivery off the request path.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from dataclasses import dataclass, field

import httpx

from . import state
from .ids import new_id
from .settings import SETTINGS
from .signing import signature_header

log = logging.getLogger(__name__)

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    event_id: str = field(compare=False)
    attempt: int = field(compare=False, default=1)
    reason: str = field(compare=False, default="event")


class Deliverer:
    """Queue of due deliveries served by one daemon thread."""

    def __init__(self) -> None:
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    # -- scheduling (called with the state lock held or not; never blocks long)

    def event_created(self, st: state.StripeState, event_id: str) -> None:
        """A new event: hold it (out_of_order) or schedule it."""
        cfg = st.config
        if cfg.out_of_order:
            st.held_events.append(event_id)
            if cfg.out_of_order_batch and len(st.held_events) >= cfg.out_of_order_batch:
                self.flush(st)
            return
        self._schedule_copies(st, event_id, reason="event")

    def flush(self, st: state.StripeState) -> int:
        """Send every held event now, newest first."""
        held = list(reversed(st.held_events))
        st.held_events.clear()
        for event_id in held:
            self._schedule_copies(st, event_id, reason="flush")
        return len(held)

    def redeliver(self, st: state.StripeState, event_id: str) -> None:
        """Send one event again, now, whatever the switches say."""
        self._push(event_id, time.time(), reason="redeliver")

    def _schedule_copies(self, st: state.StripeState, event_id: str, reason: str) -> None:
        due = time.time() + st.config.delay_ms / 1000
        copies = 2 if st.config.deliver_twice else 1
        for copy in range(copies):
            self._push(event_id, due, reason=reason if copy == 0 else "duplicate")

    def _push(self, event_id: str, due: float, reason: str, attempt: int = 1) -> None:
        with self._cond:
            heapq.heappush(self._heap, _Job(due, next(self._seq), event_id, attempt, reason))
            self._ensure_thread()
            self._cond.notify()

    def pending(self) -> int:
        """How many deliveries are waiting (for tests and the admin view)."""
        with self._cond:
            return len(self._heap)

    # -- the worker

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="stripe-sandbox-webhooks", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0].due > time.time():
                    timeout = self._heap[0].due - time.time() if self._heap else None
                    self._cond.wait(timeout)
                job = heapq.heappop(self._heap)
            try:
                self._deliver(job)
            except Exception:
                log.exception("webhook delivery of %s crashed", job.event_id)

    def _deliver(self, job: _Job) -> None:
        with state.reading() as st:
            event = st.events.get(job.event_id)
            url = st.config.webhook_url
            timeout = st.config.timeout_s
            retry_delays = list(st.config.retry_delays_ms)
        if event is None or not url:
            return
        payload = json.dumps(event, indent=2)
        header = signature_header(payload, SETTINGS.webhook_secret)
        record: dict[str, object] = {
            "id": new_id("dlv"),
            "event_id": job.event_id,
            "event_type": event["type"],
            "url": url,
            "attempt": job.attempt,
            "reason": job.reason,
            "attempted_at": time.time(),
        }
        try:
            response = httpx.post(
                url,
                content=payload.encode("utf-8"),
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "User-Agent": USER_AGENT,
                    "Stripe-Signature": header,
                },
                timeout=timeout,
            )
            record.update(status_code=response.status_code, ok=response.is_success)
            record["error"] = None if response.is_success else response.text[:500]
        except httpx.HTTPError as exc:
            record.update(status_code=None, ok=False, error=f"{type(exc).__name__}: {exc}")
        with state.changing() as st:
            st.deliveries.append(record)
            if record["ok"]:
                st.event_delivered[job.event_id] = True
                st.events[job.event_id]["pending_webhooks"] = 0
        if not record["ok"] and job.attempt <= len(retry_delays):
            delay = retry_delays[job.attempt - 1] / 1000
            self._push(job.event_id, time.time() + delay, "retry", job.attempt + 1)


DELIVERER = Deliverer()
