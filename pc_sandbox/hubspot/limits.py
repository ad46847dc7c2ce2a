"""Per-portal rate limits, fault injection and request statistics.

HubSpot budgets OAuth apps per installing account: 110 requests per rolling 10 s for general
endpoints, and search separately at 5 per second. Faults draw from the config's seeded RNG
(two draws per request, always) so a seed replays the same fault pattern.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from typing import Any

from . import errors
from .config import RuntimeConfig

#: policy name → (max requests, window seconds)
POLICIES: dict[str, tuple[int, float]] = {
    "TEN_SECONDLY_ROLLING": (110, 10.0),
    "SECONDLY": (5, 1.0),
}


def policy_for(kind: str) -> str:
    """Search has its own budget; everything else shares the ten-secondly one."""
    return "SECONDLY" if kind == "search" else "TEN_SECONDLY_ROLLING"


class RateLimiter:
    """Sliding-window counters per (portal, policy), on the real monotonic clock."""

    def __init__(self) -> None:
        self.windows: dict[tuple[int, str], deque[float]] = {}

    def check(self, portal_id: int, policy: str) -> dict[str, str]:
        """Admit a request or raise the 429; returns HubSpot's rate-limit headers."""
        limit, window = POLICIES[policy]
        now = time.monotonic()
        q = self.windows.setdefault((portal_id, policy), deque())
        while q and q[0] <= now - window:
            q.popleft()
        if len(q) >= limit:
            retry = math.ceil(q[0] + window - now)
            raise errors.rate_limited(policy, retry, f"cus-oauth:{portal_id}")
        q.append(now)
        if policy == "SECONDLY":
            return {}  # search answers carry no rate-limit headers
        return {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(window * 1000)),
            "X-HubSpot-RateLimit-Max": str(limit),
            "X-HubSpot-RateLimit-Remaining": str(limit - len(q)),
        }

    def reset(self) -> None:
        """Forget all windows (tests)."""
        self.windows.clear()


def draw_fault(cfg: RuntimeConfig) -> tuple[str | None, bool]:
    """Decide this request's fate: ("500"|"429"|None, slow?)."""
    r_fail, r_slow = cfg.rng.random(), cfg.rng.random()
    fault = None
    if r_fail < cfg.fail_500:
        fault = "500"
    elif r_fail < cfg.fail_500 + cfg.fail_429:
        fault = "429"
    return fault, r_slow < cfg.slow_fraction and cfg.slow_ms > 0


def internal_error() -> errors.HubSpotError:
    """An injected 500 in HubSpot's shape."""
    return errors.api_error(500, "internal error", "INTERNAL_ERROR")


class Stats:
    """Request counts per endpoint kind, status and portal, so tests can count a pull's calls."""

    def __init__(self) -> None:
        self.total = 0
        self.by_kind: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.by_portal: dict[str, Counter[str]] = {}
        self.slowed = 0
        self.injected: Counter[str] = Counter()

    def record(self, kind: str, status: int, portal_id: int | None) -> None:
        """Count one finished request."""
        self.total += 1
        self.by_kind[kind] += 1
        self.by_status[str(status)] += 1
        if portal_id is not None:
            c = self.by_portal.setdefault(str(portal_id), Counter())
            c[kind] += 1
            c["total"] += 1

    def as_dict(self) -> dict[str, Any]:
        """JSON view for ``GET /_sandbox/stats``."""
        return {
            "total": self.total,
            "by_kind": dict(self.by_kind),
            "by_status": dict(self.by_status),
            "by_portal": {k: dict(v) for k, v in self.by_portal.items()},
            "injected": dict(self.injected),
            "slowed": self.slowed,
        }

    def reset(self) -> None:
        """Zero everything."""
        self.__init__()  # type: ignore[misc]


CONFIG = RuntimeConfig()
LIMITER = RateLimiter()
STATS = Stats()
