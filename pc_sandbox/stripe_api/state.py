"""The sandbox's whole Stripe account in memory, behind one lock.

One lock keeps every request and the webhook thread consistent without any
per-object bookkeeping; a sandbox needs correctness, not throughput. With
``PC_SANDBOX_DATA_DIR`` set the state is pickled after each change so a restart
keeps it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .settings import SETTINGS

log = logging.getLogger(__name__)

STATE_FILE = "stripe_sandbox.pickle"


@dataclass
class SandboxConfig:
    """Admin switches that change how webhooks reach the app."""

    webhook_url: str | None = None
    deliver_twice: bool = False
    out_of_order: bool = False
    # With out_of_order on, a held batch goes out (reversed) once it has this
    # many events; 0 means only on POST /_sandbox/flush.
    out_of_order_batch: int = 0
    delay_ms: int = 0
    # Waits before re-trying a failed delivery, like Stripe's retry schedule but short.
    retry_delays_ms: list[int] = field(default_factory=lambda: [1000, 5000])
    timeout_s: float = 5.0

    def as_dict(self) -> dict[str, Any]:
        """JSON view for the admin API."""
        return asdict(self)


@dataclass
class IdempotencyRecord:
    """The first answer given for an Idempotency-Key."""

    fingerprint: str
    status: int
    body: bytes
    created: float


@dataclass
class StripeState:
    """Every object, event and delivery the sandbox knows about."""

    # kind ("payment_intent", "charge", ...) -> id -> Stripe JSON object
    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    # event id -> True once a delivery got a 2xx answer
    event_delivered: dict[str, bool] = field(default_factory=dict)
    idempotency: dict[str, IdempotencyRecord] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    held_events: list[str] = field(default_factory=list)
    config: SandboxConfig = field(default_factory=SandboxConfig)
    invoice_counter: int = 0

    def table(self, kind: str) -> dict[str, dict[str, Any]]:
        """The id -> object map for one kind, created on first use."""
        return self.objects.setdefault(kind, {})


_lock = threading.RLock()
_state = StripeState()


def _state_path() -> Path | None:
    return SETTINGS.data_dir / STATE_FILE if SETTINGS.data_dir else None


def _load() -> StripeState:
    path = _state_path()
    state = StripeState()
    if path and path.exists():
        try:
            with path.open("rb") as fh:
                state = pickle.load(fh)  # noqa: S301 - our own file in our data dir
        except Exception:
            log.exception("could not read %s, starting empty", path)
            state = StripeState()
    if SETTINGS.webhook_url:
        state.config.webhook_url = SETTINGS.webhook_url
    return state


def _save() -> None:
    path = _state_path()
    if not path:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump(_state, fh)
    os.replace(tmp, path)


@contextlib.contextmanager
def reading() -> Iterator[StripeState]:
    """Look at the state without changing it."""
    with _lock:
        yield _state


@contextlib.contextmanager
def changing() -> Iterator[StripeState]:
    """Change the state; it is persisted even if the change ends in a (card) error."""
    with _lock:
        try:
            yield _state
        finally:
            _save()


def reset() -> None:
    """Forget everything except the webhook settings (admin route, tests)."""
    global _state
    with _lock:
        config = _state.config
        _state = StripeState(config=config)
        _save()


_state = _load()
