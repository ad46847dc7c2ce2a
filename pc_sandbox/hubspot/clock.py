"""An overridable clock: token expiry and record timestamps read it, tests move it forward.

Only HubSpot-visible time goes through here; rate-limit windows use the real monotonic clock
so that advancing the clock for a token test does not also reset the limiter.
"""

from __future__ import annotations

import time

_offset_ms = 0


def now_ms() -> int:
    """Current sandbox time in epoch milliseconds (real time plus the test offset)."""
    return int(time.time() * 1000) + _offset_ms


def advance(seconds: float) -> int:
    """Move sandbox time forward by ``seconds`` and return the new offset in ms."""
    global _offset_ms
    _offset_ms += int(seconds * 1000)
    return _offset_ms


def offset_ms() -> int:
    """The current offset, for the admin API."""
    return _offset_ms


def set_offset_ms(value: int) -> None:
    """Set the offset outright (0 resets to real time)."""
    global _offset_ms
    _offset_ms = int(value)


def iso(ms: int) -> str:
    """HubSpot's timestamp format: ISO 8601 UTC with milliseconds and a Z."""
    secs, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{millis:03d}Z"
