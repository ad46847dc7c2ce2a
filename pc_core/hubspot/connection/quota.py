"""HubSpot's rate limits, tracked per portal from the headers of its own answers.

HubSpot budgets requests per portal: a burst limit per app (``X-HubSpot-RateLimit-Max``
requests per ``-Interval-Milliseconds``, ``-Remaining`` left) and a daily limit that
every app installed in the portal spends (``X-HubSpot-RateLimit-Daily``,
``-Daily-Remaining``; a 429 past it names ``policyName: "DAILY"``). Search answers
carry none of these headers. Sources: docs/external-apis.md.

``QuotaTracker`` (one per partner's portal in this process, shared by its threads)
learns the figures from every answer and, before each call:

- paces calls when the burst window is nearly spent (one call per
  ``interval / max``), rather than running into 429s;
- slows down once the daily budget left falls to twice the reserve
  (``hubspot_daily_slowdown_pause_s`` per call);
- stops at the reserve (``hubspot_daily_reserve_fraction`` of the daily limit, left for
  the portal's other apps) with ``DailyReserveReached``; a pull stops cleanly there
  and its cursor resumes the next run (after HubSpot's midnight reset). Figures older
  than ``hubspot_daily_recheck_s`` near the reserve let one call through to learn
  whether the budget was reset.

The figures need no shared store: every HubSpot answer carries them again, so a fresh
process knows the budget after its first call.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from pc_core.settings import Settings

DAILY, DAILY_REMAINING = "X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining"
BURST_MAX, BURST_REMAINING = "X-HubSpot-RateLimit-Max", "X-HubSpot-RateLimit-Remaining"
BURST_INTERVAL = "X-HubSpot-RateLimit-Interval-Milliseconds"
#: Pace calls once this share of the burst window or less is left.
BURST_PACE_BELOW = 0.1


class DailyReserveReached(Exception):
    """The portal's daily budget is down to the reserve kept for its other apps."""


@dataclass
class QuotaSnapshot:
    """The latest figures HubSpot reported (``None``: not reported yet)."""

    daily_max: int | None = None
    daily_remaining: int | None = None
    burst_max: int | None = None
    burst_remaining: int | None = None
    interval_ms: int | None = None
    daily_exhausted: bool = False  # a 429 with policyName DAILY was seen
    daily_seen_at: float | None = None  # monotonic time of the last daily figures


def _int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class QuotaTracker:
    """One portal's budget as HubSpot reports it, and the pacing it implies."""

    def __init__(self, reserve_fraction: float, slowdown_pause_s: float,
                 recheck_s: float = 900.0, sleep=time.sleep) -> None:
        self.reserve_fraction = reserve_fraction
        self.slowdown_pause_s = slowdown_pause_s
        self.recheck_s = recheck_s
        self.snapshot = QuotaSnapshot()
        self.paused_s = 0.0  # time spent pacing, for the figures
        self._sleep = sleep
        self._lock = threading.Lock()

    def reserve(self) -> int | None:
        """Requests of the daily budget left to the portal's other apps."""
        if self.snapshot.daily_max is None:
            return None
        return math.ceil(self.snapshot.daily_max * self.reserve_fraction)

    def observe(self, headers: Mapping[str, str] | None) -> None:
        """Take the figures from an answer's headers (absent ones keep their value)."""
        if not headers:
            return
        with self._lock:
            s = self.snapshot
            for attr, name in (("daily_max", DAILY), ("daily_remaining", DAILY_REMAINING),
                               ("burst_max", BURST_MAX), ("burst_remaining", BURST_REMAINING),
                               ("interval_ms", BURST_INTERVAL)):
                value = _int(headers, name)
                if value is not None:
                    setattr(s, attr, value)
            if _int(headers, DAILY_REMAINING) is not None:
                s.daily_seen_at = time.monotonic()
                s.daily_exhausted = s.daily_remaining == 0

    def observe_daily_refusal(self) -> None:
        with self._lock:
            self.snapshot.daily_exhausted = True
            self.snapshot.daily_remaining = 0
            self.snapshot.daily_seen_at = time.monotonic()

    def before_call(self) -> None:
        """Wait or refuse as the budget requires; counts the call against the estimate."""
        pause = 0.0
        with self._lock:
            s = self.snapshot
            low = s.daily_exhausted or (s.daily_remaining is not None
                                        and s.daily_remaining <= 2 * (self.reserve() or 0))
            if (low and s.daily_seen_at is not None
                    and time.monotonic() - s.daily_seen_at >= self.recheck_s):
                # Figures this old may predate HubSpot's daily reset: let one call ask.
                s.daily_exhausted, s.daily_remaining, s.daily_seen_at = False, None, None
            reserve = self.reserve()
            if s.daily_exhausted:
                raise DailyReserveReached("HubSpot's daily limit for this portal is spent")
            if s.daily_remaining is not None and reserve is not None:
                if s.daily_remaining <= reserve:
                    raise DailyReserveReached(
                        f"HubSpot daily budget down to {s.daily_remaining} of {s.daily_max}"
                        f" requests: the last {reserve} are left to the portal's other apps")
                if s.daily_remaining <= 2 * reserve:
                    pause = self.slowdown_pause_s
                s.daily_remaining -= 1  # until the answer says better
            if (s.burst_max and s.interval_ms and s.burst_remaining is not None
                    and s.burst_remaining <= s.burst_max * BURST_PACE_BELOW):
                pause = max(pause, s.interval_ms / 1000 / s.burst_max)
                s.burst_remaining = max(0, s.burst_remaining - 1)
        if pause > 0:
            self.paused_s += pause
            self._sleep(pause)


_TRACKERS: dict[str, QuotaTracker] = {}
_TRACKERS_LOCK = threading.Lock()


def _new(settings: Settings) -> QuotaTracker:
    return QuotaTracker(settings.hubspot_daily_reserve_fraction,
                        settings.hubspot_daily_slowdown_pause_s,
                        settings.hubspot_daily_recheck_s)


def tracker_for(settings: Settings, key: str | None) -> QuotaTracker:
    """The process's tracker for a partner's portal (a fresh one for ``None``)."""
    if key is None:
        return _new(settings)
    with _TRACKERS_LOCK:
        tracker = _TRACKERS.get(key)
        if tracker is None:
            tracker = _TRACKERS[key] = _new(settings)
        return tracker


def forget(key: str) -> None:
    """Drop a portal's tracker (a reconnect to another portal, tests)."""
    with _TRACKERS_LOCK:
        _TRACKERS.pop(key, None)
