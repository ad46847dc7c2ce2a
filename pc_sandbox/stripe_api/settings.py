"""Environment-driven settings of the Stripe stand-in.

Read once per process so the sandbox behaves the same for every request; the
tests start a fresh process with their own environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import stripe

DEFAULT_SECRET_KEY = "sk_test_pc_sandbox"
DEFAULT_WEBHOOK_SECRET = "whsec_pc_sandbox"
DEFAULT_PUBLISHABLE_KEY = "pk_test_pc_sandbox"


@dataclass(frozen=True)
class Settings:
    """What the operator can choose through environment variables."""

    secret_key: str
    publishable_key: str
    webhook_secret: str
    webhook_url: str | None
    data_dir: Path | None
    api_version: str
    # Browser origins that may call the publishable-key routes ("*": any).
    cors_origins: tuple[str, ...] = ("*",)


def load_settings() -> Settings:
    """Build settings from ``PC_*`` environment variables with sandbox defaults."""
    data_dir = os.environ.get("PC_SANDBOX_DATA_DIR")
    return Settings(
        secret_key=os.environ.get("PC_STRIPE_SECRET_KEY") or DEFAULT_SECRET_KEY,
        publishable_key=os.environ.get("PC_STRIPE_PUBLISHABLE_KEY") or DEFAULT_PUBLISHABLE_KEY,
        webhook_secret=os.environ.get("PC_STRIPE_WEBHOOK_SECRET") or DEFAULT_WEBHOOK_SECRET,
        webhook_url=os.environ.get("PC_SANDBOX_STRIPE_WEBHOOK_URL") or None,
        data_dir=Path(data_dir) if data_dir else None,
        # Events carry the API version the installed SDK speaks, so the SDK's
        # own event parsing sees what it expects.
        api_version=os.environ.get("PC_STRIPE_API_VERSION") or str(stripe.api_version),
        cors_origins=tuple(
            o.strip().rstrip("/") for o in
            (os.environ.get("PC_SANDBOX_STRIPE_CORS_ORIGINS") or "*").split(",") if o.strip()
        ),
    )


SETTINGS = load_settings()
