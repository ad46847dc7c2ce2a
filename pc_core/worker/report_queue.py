"""The worker's batch reports, sent from a thread of their own.

Reporting a batch to Dagster (a runless materialisation: a row in the instance's
event log, with its indexes and a commit) takes a few milliseconds per batch, and a
webhook pass over 100 partners reports 100 batches. Made by the pass itself, those
reports held back the next pass: nothing was applied while they were written. Here
the pass only queues them; one thread sends them in the order they came, so the
Dagster history of a partner keeps its batches in order.

A report is about leads already written: losing one (the process killed before its
turn came) loses a line of history, never a change, as a report that fails does
(logged). ``close`` sends what is queued before the process stops.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
_STOP = object()


class ReportQueue(Generic[T]):
    """``send(batch)`` for each batch put, in order, on a daemon thread."""

    def __init__(self, send: Callable[[T], None], *, name: str = "reports") -> None:
        self._send = send
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def __call__(self, batch: T) -> None:
        """Queue ``batch``; returns at once."""
        self._queue.put(batch)

    def _run(self) -> None:
        while (batch := self._queue.get()) is not _STOP:
            try:
                self._send(batch)  # type: ignore[arg-type]
            except Exception:  # noqa: BLE001 - the leads are written; only the report is lost
                log.warning("could not report a batch", exc_info=True)

    def close(self, timeout: float = 30.0) -> None:
        """Send what is queued (waiting at most ``timeout`` seconds), then stop."""
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("reports still queued after %.0f s: left unsent", timeout)
