"""The owner's view of the whole platform (pc_core/analytics/platform_overview.py)."""

from __future__ import annotations

from fastapi import APIRouter

from pc_api.deps import CurrentUser, Db
from pc_core.analytics.platform_overview import PlatformOverview, platform_overview

router = APIRouter(prefix="/v1/platform", tags=["platform"])


@router.get("/overview", response_model=PlatformOverview,
            responses={403: {"description": "Owner only"}})
def overview(actor: CurrentUser, db: Db) -> PlatformOverview:
    """Partners, leads by status, the marketplace, sales and commission per month for
    the last 12 months, and each partner's sync health with the worst first."""
    return platform_overview(db, actor)
