"""Liveness that means something: both stores answer, or the failing one is named."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from pc_api.deps import Context, Redis
from pc_core.models.api import HealthOut

router = APIRouter(tags=["service"])


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "A dependency is down"}},
)
def health(ctx: Context, r: Redis) -> JSONResponse:
    parts: dict[str, str] = {}
    try:
        ctx.db.client.admin.command("ping")
        ctx.ensure_indexes()
        parts["mongo"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        parts["mongo"] = f"error: {type(exc).__name__}"
    try:
        r.ping()
        parts["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        parts["redis"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in parts.values())
    body = {"status": "ok" if healthy else "error", **parts}
    return JSONResponse(body, status_code=200 if healthy else 503)
