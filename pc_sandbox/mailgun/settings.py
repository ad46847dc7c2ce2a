"""Environment-driven settings of the Mailgun stand-in."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_API_KEY = "key-pc-sandbox"


@dataclass(frozen=True)
class Settings:
    """The API key clients must present and where to persist messages."""

    api_key: str
    data_dir: Path | None


def load_settings() -> Settings:
    """Read ``PC_MAILGUN_API_KEY`` and ``PC_SANDBOX_DATA_DIR``."""
    data_dir = os.environ.get("PC_SANDBOX_DATA_DIR")
    return Settings(
        api_key=os.environ.get("PC_MAILGUN_API_KEY") or DEFAULT_API_KEY,
        data_dir=Path(data_dir) if data_dir else None,
    )


SETTINGS = load_settings()
