"""What every log line of one request (or run) carries: request id, partner, user.

One mutable dict per request in a ``ContextVar``. FastAPI runs sync dependencies in
worker threads with a *copy* of the context, so a dependency could not set a
variable the middleware sees afterwards; it can, however, add to the dict both
contexts share. ``bind`` therefore mutates the current dict rather than setting the
variable.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any

_fields: ContextVar[dict[str, Any] | None] = ContextVar("pc_log_context", default=None)


def start(**fields: Any) -> Token:
    """Open a fresh context (one request, one run); ``end`` with the token."""
    return _fields.set({k: v for k, v in fields.items() if v is not None})


def end(token: Token) -> None:
    _fields.reset(token)


def bind(**fields: Any) -> None:
    """Add fields to the current context (no-op outside one)."""
    current = _fields.get()
    if current is not None:
        current.update({k: v for k, v in fields.items() if v is not None})


def current() -> dict[str, Any]:
    """The current context's fields (a copy)."""
    return dict(_fields.get() or {})


def bind_principal(user_id: str | None, partner_id: str | None) -> None:
    """The signed-in caller, once known (auth dependencies call this)."""
    bind(user_id=user_id, partner_id=partner_id)
