"""Per-portal daily budgets and 429 storms, switched on per portal by tests and the soak.

HubSpot gives every portal a daily request budget shared by all its installed apps
(reset at midnight in the portal's time zone) and reports it on each response as
``X-HubSpot-RateLimit-Daily`` / ``-Daily-Remaining``; past it, requests answer 429 with
``policyName: "DAILY"``. A "storm" makes the next N requests of a portal answer the
ten-secondly 429 (what a burst of other apps in the portal looks like from here).
Everything is off until set through ``POST /_sandbox/portals/{id}/quota``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import errors


@dataclass
class PortalQuota:
    daily_limit: int | None = None  # None: no daily budget (and no daily headers)
    used_today: int = 0
    storm_left: int = 0  # the next this-many requests answer 429
    storm_sent: int = 0
    daily_refused: int = 0


class Quotas:
    """The portals' quotas (in memory; a sandbox restart forgets them)."""

    def __init__(self) -> None:
        self.portals: dict[int, PortalQuota] = {}

    def configure(self, portal_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """``{daily_limit?: int|null, used_today?: int, storm_429?: int}`` → the state."""
        unknown = set(body) - {"daily_limit", "used_today", "storm_429"}
        if unknown:
            raise errors.validation_error(f"unknown quota keys: {sorted(unknown)}")
        q = self.portals.setdefault(portal_id, PortalQuota())
        if "daily_limit" in body:
            limit = body["daily_limit"]
            q.daily_limit = None if limit is None else max(0, int(limit))
        if "used_today" in body:
            q.used_today = max(0, int(body["used_today"]))
        if "storm_429" in body:
            q.storm_left = max(0, int(body["storm_429"]))
        return self.view(portal_id)

    def view(self, portal_id: int) -> dict[str, Any]:
        q = self.portals.get(portal_id) or PortalQuota()
        return {"daily_limit": q.daily_limit, "used_today": q.used_today,
                "daily_remaining": (None if q.daily_limit is None
                                    else max(0, q.daily_limit - q.used_today)),
                "storm_left": q.storm_left, "storm_sent": q.storm_sent,
                "daily_refused": q.daily_refused}

    def check(self, portal_id: int, *, with_headers: bool) -> dict[str, str]:
        """Admit one request of the portal or raise its 429; the daily headers."""
        q = self.portals.get(portal_id)
        if q is None:
            return {}
        if q.storm_left > 0:
            q.storm_left -= 1
            q.storm_sent += 1
            raise errors.rate_limited("TEN_SECONDLY_ROLLING", 1, f"cus-oauth:{portal_id}")
        if q.daily_limit is None:
            return {}
        if q.used_today >= q.daily_limit:
            q.daily_refused += 1
            refused = errors.rate_limited("DAILY", 0, f"cus-oauth:{portal_id}")
            refused.headers = {}  # no Retry-After: waiting seconds does not help
            raise refused
        q.used_today += 1
        if not with_headers:
            return {}
        return {"X-HubSpot-RateLimit-Daily": str(q.daily_limit),
                "X-HubSpot-RateLimit-Daily-Remaining": str(q.daily_limit - q.used_today)}

    def reset(self) -> None:
        self.portals.clear()


QUOTAS = Quotas()
