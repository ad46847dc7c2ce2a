"""``/_sandbox`` routes: read and clear what the app has "sent" (no auth)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from . import mailbox, store

router = APIRouter(prefix="/_sandbox", tags=["mailgun sandbox admin"])


@router.get("/messages")
def list_messages(to: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """Stored messages, newest first; ``to`` matches any recipient (substring)."""
    items = store.newest_first(to, limit)
    return {"items": items, "total_count": len(items)}


@router.delete("/messages")
def delete_messages() -> dict[str, Any]:
    """Empty the mailbox."""
    return {"deleted": store.clear()}


@router.get("/mailbox", response_class=HTMLResponse)
def mailbox_page(to: str | None = None) -> HTMLResponse:
    """Human-readable mailbox for the demo."""
    return HTMLResponse(mailbox.render(store.newest_first(to), to))
