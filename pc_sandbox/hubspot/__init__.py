"""HubSpot stand-in: a local copy of the parts of HubSpot's public API the platform uses.

``router`` is mounted by ``pc_sandbox.app`` at ``/hubspot``, so
``HubSpot(access_token=..., host="http://127.0.0.1:8090/hubspot")`` from hubspot-api-client
works unchanged. See README.md for the admin routes and switches.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter

from . import admin, associations, crm, meta, oauth, persistence, search
from .state import get_state


@contextlib.asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """Load saved state at start, flush it periodically and on shutdown."""
    get_state()
    task = asyncio.create_task(persistence.flusher(get_state)) if persistence.path() else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            persistence.save(get_state())


router = APIRouter(lifespan=lifespan)
router.include_router(admin.router)
router.include_router(oauth.router)
router.include_router(search.router)
router.include_router(associations.router)
router.include_router(meta.router)
router.include_router(crm.router)

__all__ = ["router"]
