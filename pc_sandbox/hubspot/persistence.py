"""Optional persistence: pickle the whole state into ``$PC_SANDBOX_DATA_DIR/hubspot.pickle``.

The demo keeps connected partners across restarts, so portals, tokens and codes survive a
restart when the env var is set. Saves are debounced (``mark_dirty`` + a background flusher)
because pickling a 200,000-record portal takes a moment; shutdown always flushes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import tempfile

from . import config

log = logging.getLogger(__name__)
FILE_NAME = "hubspot.pickle"
FLUSH_INTERVAL_S = 2.0

_dirty = False


def path() -> str | None:
    """The state file, or None when persistence is off."""
    directory = config.data_dir()
    return os.path.join(directory, FILE_NAME) if directory else None


def load() -> object | None:
    """The saved state, or None (no file, persistence off, or an unreadable file).

    Typed ``object``: this module sits below ``state`` (which calls it), so it
    pickles whatever it is given and ``state`` checks what comes back."""
    target = path()
    if not target or not os.path.exists(target):
        return None
    try:
        with open(target, "rb") as fh:
            # The file is written only by this process family in a local data dir.
            return pickle.load(fh)  # noqa: S301
    except Exception:  # a corrupt file must not stop the sandbox from starting
        log.exception("could not load HubSpot sandbox state from %s; starting empty", target)
        return None


def save(state: object) -> str | None:
    """Write the state atomically (temp file + rename); returns the path or None if off."""
    global _dirty
    target = path()
    if not target:
        _dirty = False
        return None
    os.makedirs(os.path.dirname(target), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".hubspot-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _dirty = False
    return target


def mark_dirty() -> None:
    """Note that state changed; the flusher saves it within ``FLUSH_INTERVAL_S``."""
    global _dirty
    _dirty = True


async def flusher(get_state: object) -> None:
    """Background task: save when dirty, every couple of seconds, until cancelled."""
    while True:
        await asyncio.sleep(FLUSH_INTERVAL_S)
        if _dirty and path():
            try:
                save(get_state())  # type: ignore[operator]
            except Exception:
                log.exception("saving HubSpot sandbox state failed")
