"""Settings of the HubSpot stand-in: app credentials from env, fault/limit switches at run time.

The env values are read when used (not at import) so tests and the demo can point a fresh
process at other credentials without touching code.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

DEFAULT_CLIENT_ID = "pc-sandbox-client"
DEFAULT_CLIENT_SECRET = "pc-sandbox-secret"
DEFAULT_APP_ID = 1_000_001

#: Every scope the stand-in knows; HubSpot refuses an authorize request for other scopes.
KNOWN_SCOPES: tuple[str, ...] = (
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.schemas.deals.read",
    "crm.schemas.deals.write",
    "oauth",
)


def client_id() -> str:
    """The one OAuth app's client id (``PC_HUBSPOT_CLIENT_ID``)."""
    return os.environ.get("PC_HUBSPOT_CLIENT_ID") or DEFAULT_CLIENT_ID


def client_secret() -> str:
    """The app's client secret (``PC_HUBSPOT_CLIENT_SECRET``); also signs webhooks."""
    return os.environ.get("PC_HUBSPOT_CLIENT_SECRET") or DEFAULT_CLIENT_SECRET


def app_id() -> int:
    """The numeric app id HubSpot puts in token info and webhook events."""
    raw = os.environ.get("PC_HUBSPOT_APP_ID")
    return int(raw) if raw else DEFAULT_APP_ID


def data_dir() -> str | None:
    """Where state is persisted (``PC_SANDBOX_DATA_DIR``); None keeps it in memory only."""
    return os.environ.get("PC_SANDBOX_DATA_DIR") or None


def webhook_url() -> str | None:
    """Default target of simulated webhook deliveries (``PC_SANDBOX_HUBSPOT_WEBHOOK_URL``)."""
    return os.environ.get("PC_SANDBOX_HUBSPOT_WEBHOOK_URL") or None


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() not in ("0", "false", "no", "off")


@dataclass
class RuntimeConfig:
    """Switches changed at run time through ``PUT /_sandbox/config``.

    Fault decisions draw from one RNG so a given seed replays the same sequence of faults.
    """

    rate_limits: bool = field(
        default_factory=lambda: _env_flag("PC_SANDBOX_HUBSPOT_RATE_LIMITS", True)
    )
    fail_500: float = 0.0
    fail_429: float = 0.0
    slow_fraction: float = 0.0
    slow_ms: int = 0
    # Search sees a change only this long after it (HubSpot's index is eventually
    # consistent): records modified more recently are left out of search answers.
    search_lag_ms: int = 0
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def as_dict(self) -> dict[str, object]:
        """The switches as JSON (without the RNG)."""
        return {
            "rate_limits": self.rate_limits,
            "fail_500": self.fail_500,
            "fail_429": self.fail_429,
            "slow_fraction": self.slow_fraction,
            "slow_ms": self.slow_ms,
            "search_lag_ms": self.search_lag_ms,
            "seed": self.seed,
        }

    def update(self, changes: dict[str, object]) -> None:
        """Apply a partial update; unknown keys raise ValueError so typos do not pass silently."""
        allowed = {"rate_limits", "fail_500", "fail_429", "slow_fraction", "slow_ms",
                   "search_lag_ms", "seed"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        if "rate_limits" in changes:
            self.rate_limits = bool(changes["rate_limits"])
        for key in ("fail_500", "fail_429", "slow_fraction"):
            if key in changes:
                value = float(changes[key])  # type: ignore[arg-type]
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{key} must be within 0..1")
                setattr(self, key, value)
        if "slow_ms" in changes:
            self.slow_ms = max(0, int(changes["slow_ms"]))  # type: ignore[arg-type]
        if "search_lag_ms" in changes:
            self.search_lag_ms = max(0, int(changes["search_lag_ms"]))  # type: ignore[arg-type]
        if "seed" in changes:
            seed = changes["seed"]
            self.seed = None if seed is None else int(seed)  # type: ignore[arg-type]
            self.rng = random.Random(self.seed)

    def reset(self) -> None:
        """Back to the defaults (used between tests)."""
        fresh = RuntimeConfig()
        self.__dict__.update(fresh.__dict__)
