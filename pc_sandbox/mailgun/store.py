"""Sent messages, in memory, optionally pickled to ``PC_SANDBOX_DATA_DIR``.

Kept apart from the routes so the API, the JSON listing and the HTML mailbox
all read one list.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
from pathlib import Path
from typing import Any

from .settings import SETTINGS

log = logging.getLogger(__name__)

STATE_FILE = "mailgun_sandbox.pickle"

Message = dict[str, Any]

_lock = threading.Lock()


def _path() -> Path | None:
    return SETTINGS.data_dir / STATE_FILE if SETTINGS.data_dir else None


def _load() -> list[Message]:
    path = _path()
    if not path or not path.exists():
        return []
    try:
        with path.open("rb") as fh:
            return list(pickle.load(fh))  # noqa: S301 - our own file in our data dir
    except Exception:
        log.exception("could not read %s, starting empty", path)
        return []


def _save() -> None:
    path = _path()
    if not path:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump(_messages, fh)
    os.replace(tmp, path)


_messages: list[Message] = _load()


def add(message: Message) -> None:
    """Store one accepted message."""
    with _lock:
        _messages.append(message)
        _save()


def matches(message: Message, to: str | None) -> bool:
    """Whether ``to`` (case-insensitive, substring) is among the recipients."""
    if not to:
        return True
    needle = to.lower()
    return any(needle in r.lower() for r in message["to"] + message["cc"] + message["bcc"])


def newest_first(to: str | None = None, limit: int | None = None) -> list[Message]:
    """Messages for ``to`` (all if None), newest first."""
    with _lock:
        rows = [dict(m) for m in reversed(_messages) if matches(m, to)]
    return rows[:limit] if limit else rows


def clear() -> int:
    """Forget all messages; returns how many there were."""
    with _lock:
        count = len(_messages)
        _messages.clear()
        _save()
    return count
