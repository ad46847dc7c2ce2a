"""Run keys for sensors that launch "whatever is pending" runs.

Dagster launches a run key once. A sensor keys each run by what it covers (a digest of
the pending work), so the same pending set is launched once and new work launches
again. But if that run fails before changing anything, the same set stays pending
under the same key and would never run again: ``RetryingKeys`` hands out the key once,
then, while the same set is still pending ``retry_after_s`` later, the key with a
``:retryN`` suffix. State lives in the sensor's cursor (JSON text), one entry per scope
(e.g. a partner). Schedules key each run by its tick (``scheduled_run_key``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from dagster import ScheduleEvaluationContext


def digest(items: Iterable[str]) -> str:
    """A short, order-independent fingerprint of the pending work."""
    return hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()[:20]


class RetryingKeys:
    def __init__(self, cursor: str | None, retry_after_s: float) -> None:
        self.last: dict[str, dict] = json.loads(cursor) if cursor else {}
        self.retry_after_s = retry_after_s

    def key_for(self, scope: str, base: str, now: float) -> str | None:
        """The run key to request for ``base`` in ``scope`` now, or ``None`` while a
        run for the same pending set was requested less than ``retry_after_s`` ago."""
        seen = self.last.get(scope) or {}
        attempt = 0
        if seen.get("key") == base:
            if now - float(seen.get("at", 0)) < self.retry_after_s:
                return None
            attempt = int(seen.get("n", 0)) + 1
        self.last[scope] = {"key": base, "n": attempt, "at": now}
        return base if attempt == 0 else f"{base}:retry{attempt}"

    def keep_only(self, scopes: Iterable[str]) -> None:
        """Forget scopes with nothing pending, so the cursor stays small."""
        wanted = set(scopes)
        self.last = {k: v for k, v in self.last.items() if k in wanted}

    def cursor(self) -> str:
        return json.dumps(self.last, sort_keys=True)


def scheduled_run_key(context: ScheduleEvaluationContext, name: str) -> str:
    """``name:<tick time>``: one run per schedule tick, so a daemon evaluating the same
    tick twice (a restart) launches nothing new; a manual evaluation has no tick time."""
    when = context.scheduled_execution_time
    return f"{name}:{when.isoformat() if when else 'manual'}"
