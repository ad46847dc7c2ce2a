"""Domain errors. Services raise these; the API maps each to its status code.

Keeping HTTP out of ``pc_core`` lets the Dagster runs call the same services.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(DomainError):
    status_code = 400


class Unauthorized(DomainError):
    status_code = 401


class Forbidden(DomainError):
    status_code = 403


class NotFound(DomainError):
    """Also what another partner's object looks like, so ids cannot be probed."""

    status_code = 404


class Conflict(DomainError):
    status_code = 409


class PreconditionFailed(DomainError):
    """A conditional write whose condition (the revision the caller last read) no
    longer holds: nothing was written. ``current`` is what is stored now, as the
    caller may see it, and ``revision`` its revision, so the caller can show the
    newer version and decide again."""

    status_code = 412

    def __init__(self, detail: str, current: Any, revision: int) -> None:
        super().__init__(detail)
        self.current = current
        self.revision = revision


class PayloadTooLarge(DomainError):
    status_code = 413


class TooManyRequests(DomainError):
    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))
