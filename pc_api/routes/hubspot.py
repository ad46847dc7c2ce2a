"""HubSpot integration: connect (OAuth), status, disconnect, Sync Now, sync history."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Cookie, Query, Response, status
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from pc_api.deps import AppSettings, CurrentUser, Db, Redis
from pc_core.hubspot.connection import oauth as connection
from pc_core.hubspot.connection.failure_advice import explain_failed_tasks
from pc_core.models.api import AuthorizeOut, HubSpotStatusOut, SyncQueuedOut
from pc_core.models.sync_tasks import SyncTaskPage
from pc_core.store.pagination import MAX_LIMIT
from pc_core.sync import tasks as sync_tasks

router = APIRouter(prefix="/v1/integrations/hubspot", tags=["hubspot"])
_errors = {403: {"description": "Role not allowed"}, 404: {"description": "Not found"}}
PartnerParam = Annotated[str | None, Query(description="Owner only: act for this partner")]
# The browser that starts the flow gets this nonce; the callback requires it back.
NONCE_COOKIE = "pc_hubspot_oauth"
CALLBACK_PATH = "/v1/integrations/hubspot/callback"


@router.get("/authorize", response_model=AuthorizeOut, responses=_errors)
def authorize(
    actor: CurrentUser, settings: AppSettings, response: Response, partner_id: PartnerParam = None
) -> dict:
    """The consent URL. Also sets the ``pc_hubspot_oauth`` cookie (HttpOnly, only sent
    to the callback): the state works once, and only in the browser that asked."""
    consent = connection.authorize_url(settings, actor, partner_id)
    response.set_cookie(
        NONCE_COOKIE, consent.nonce, max_age=int(connection.STATE_TTL.total_seconds()),
        path=CALLBACK_PATH, httponly=True, secure=settings.secure_cookies, samesite="lax",
    )
    return {"url": consent.url}


@router.get(
    "/callback",
    response_class=RedirectResponse,
    status_code=status.HTTP_302_FOUND,
    responses={302: {"description": "To /settings/hubspot?success=true or ?error=<code>"}},
)
async def callback(
    db: Db, r: Redis, settings: AppSettings, code: str = "", state: str = "",
    error: str | None = None,
    nonce: Annotated[str | None, Cookie(alias=NONCE_COOKIE, include_in_schema=False)] = None,
) -> RedirectResponse:
    """HubSpot sends the browser here after consent. Authorised by the signed state,
    not by a session: the state names the partner and the user who started, and
    must come back with the nonce cookie of the browser that started, once."""
    target = f"{settings.app_url.rstrip('/')}/settings/hubspot"
    if error:
        answer = RedirectResponse(f"{target}?{urlencode({'error': error[:64]})}", status_code=302)
    else:
        try:
            await run_in_threadpool(connection.complete_callback, db, r, settings, code, state,
                                    nonce)
            answer = RedirectResponse(f"{target}?success=true", status_code=302)
        except connection.CallbackError as exc:
            answer = RedirectResponse(f"{target}?{urlencode({'error': exc.code})}",
                                      status_code=302)
    answer.delete_cookie(NONCE_COOKIE, path=CALLBACK_PATH, httponly=True,
                         secure=settings.secure_cookies, samesite="lax")
    return answer


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
) -> SyncTaskPage:
    return explain_failed_tasks(sync_tasks.list_tasks(db, actor, partner_id, limit, cursor))
