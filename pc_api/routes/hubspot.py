"""HubSpot integration: connect (OAuth), status, disconnect, Sync Now, sync history."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from pc_api.deps import AppSettings, CurrentUser, Db
from pc_api.schemas import AuthorizeOut, HubSpotStatusOut, SyncQueuedOut, SyncTaskPage
from pc_core import sync_tasks
from pc_core.hubspot import connection
from pc_core.pagination import MAX_LIMIT

router = APIRouter(prefix="/v1/integrations/hubspot", tags=["hubspot"])
_errors = {403: {"description": "Role not allowed"}, 404: {"description": "Not found"}}
PartnerParam = Annotated[str | None, Query(description="Owner only: act for this partner")]


@router.get("/authorize", response_model=AuthorizeOut, responses=_errors)
def authorize(actor: CurrentUser, settings: AppSettings, partner_id: PartnerParam = None) -> dict:
    return {"url": connection.authorize_url(settings, actor, partner_id)}


@router.get(
    "/callback",
    response_class=RedirectResponse,
    status_code=status.HTTP_302_FOUND,
    responses={302: {"description": "To /settings/hubspot?success=true or ?error=<code>"}},
)
async def callback(
    db: Db, settings: AppSettings, code: str = "", state: str = "", error: str | None = None
) -> RedirectResponse:
    """HubSpot sends the browser here after consent. Authorised by the signed state,
    not by a session: the state names the partner and the user who started."""
    target = f"{settings.app_url.rstrip('/')}/settings/hubspot"
    if error:
        return RedirectResponse(f"{target}?{urlencode({'error': error[:64]})}", status_code=302)
    try:
        await run_in_threadpool(connection.complete_callback, db, settings, code, state)
    except connection.CallbackError as exc:
        return RedirectResponse(f"{target}?{urlencode({'error': exc.code})}", status_code=302)
    return RedirectResponse(f"{target}?success=true", status_code=302)


@router.get("/status", response_model=HubSpotStatusOut, responses=_errors)
def hubspot_status(actor: CurrentUser, db: Db, partner_id: PartnerParam = None) -> dict:
    return connection.connection_status(db, actor, partner_id)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               responses=_errors)
def disconnect(actor: CurrentUser, db: Db, partner_id: PartnerParam = None) -> Response:
    connection.disconnect(db, actor, partner_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/sync",
    response_model=SyncQueuedOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**_errors, 409: {"description": "HubSpot is not connected"}},
)
def sync_now(actor: CurrentUser, db: Db, partner_id: PartnerParam = None) -> dict:
    """Queue a sync of the partner's HubSpot data ("Sync Now").

    The Dagster sensor ``hubspot_sync_requests_sensor`` launches the run within
    seconds; ``run_id`` is the Dagster run id once known (``null`` while queued),
    and ``sync_task_id`` is the task to follow in ``/sync-tasks``. A second request
    while one is queued returns the queued one.
    """
    task = sync_tasks.request_manual_sync(db, actor, partner_id)
    return {"run_id": task.get("dagster_run_id"), "sync_task_id": task["_id"],
            "status": task["status"]}


@router.get("/sync-tasks", response_model=SyncTaskPage, responses=_errors)
def sync_history(
    actor: CurrentUser,
    db: Db,
    partner_id: PartnerParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> dict:
    items, next_cursor = sync_tasks.list_tasks(db, actor, partner_id, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}
