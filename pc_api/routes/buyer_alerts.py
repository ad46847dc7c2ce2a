"""Saved searches, their notices and one-click unsubscribe; standing orders
(docs/buyer-alerts.md). Thin: parse, call ``pc_core.buyer_alerts`` and
``pc_core.marketplace.standing_orders``, shape the answer."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from pc_api.deps import AppSettings, CurrentUser, Db
from pc_core.buyer_alerts import dispatch, searches, unsubscribe
from pc_core.marketplace import standing_orders
from pc_core.models.buyer_alerts import (
    SavedSearchIn,
    SavedSearchList,
    SavedSearchOut,
    SavedSearchUpdate,
    SearchNoticePage,
    StandingOrderIn,
    StandingOrderList,
    StandingOrderOut,
)
from pc_core.store.pagination import MAX_LIMIT

#: Leads listed by this process reach the alerts (pc_core.buyer_alerts.dispatch).
LISTING_HOOK = dispatch.on_listed

router = APIRouter(tags=["buyer alerts"])
_errors = {404: {"description": "Not found (or another user's / partner's)"}}


@router.get("/v1/saved-searches", response_model=SavedSearchList)
def list_saved_searches(actor: CurrentUser, db: Db) -> SavedSearchList:
    """The caller's searches and its partner's shared ones."""
    return searches.list_searches(db, actor)


@router.post("/v1/saved-searches", response_model=SavedSearchOut,
             status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "Too many saved searches"}})
def create_saved_search(body: SavedSearchIn, actor: CurrentUser, db: Db,
                        settings: AppSettings) -> SavedSearchOut:
    """Save the marketplace filters under a name; matching leads listed from now on
    are told live (``search-matched``) and by e-mail (``email``)."""
    return searches.create_search(db, settings, actor, body)


@router.patch("/v1/saved-searches/{search_id}", response_model=SavedSearchOut,
              responses=_errors)
def update_saved_search(search_id: str, body: SavedSearchUpdate, actor: CurrentUser,
                        db: Db, settings: AppSettings) -> SavedSearchOut:
    return searches.update_search(db, settings, actor, search_id, body)


@router.delete("/v1/saved-searches/{search_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=_errors)
def delete_saved_search(search_id: str, actor: CurrentUser, db: Db,
                        settings: AppSettings) -> Response:
    searches.delete_search(db, settings, actor, search_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/v1/saved-searches/notices", response_model=SearchNoticePage)
def list_search_notices(
    actor: CurrentUser, db: Db,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> SearchNoticePage:
    """Matches the caller was told of, newest first."""
    return searches.list_notices(db, actor, limit=limit, cursor=cursor)


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Unsubscribed</title></head>
<body style="font-family:sans-serif;max-width:32rem;margin:4rem auto">
<h1>Unsubscribed</h1><p>You will get no more e-mails for the saved search
<strong>{name}</strong>. Its live notices in the app go on; you can turn e-mails
back on from the marketplace page.</p></body></html>"""


@router.get("/v1/saved-searches/unsubscribe", response_class=HTMLResponse,
            responses={401: {"description": "Bad or expired link"}, **_errors})
async def unsubscribe_link(token: Annotated[str, Query(max_length=2000)], db: Db,
                           settings: AppSettings) -> HTMLResponse:
    """The e-mails' one-click link: no sign-in, the signed token names the search."""
    doc = await run_in_threadpool(unsubscribe.unsubscribe, db, settings, token)
    return HTMLResponse(_PAGE.format(name=escape(doc["name"])))


@router.post("/v1/saved-searches/unsubscribe",
             responses={401: {"description": "Bad or expired link"}, **_errors})
async def unsubscribe_one_click(token: Annotated[str, Query(max_length=2000)], db: Db,
                                settings: AppSettings) -> dict:
    """RFC 8058 one-click unsubscribe (a mail client's POST to the same link)."""
    doc = await run_in_threadpool(unsubscribe.unsubscribe, db, settings, token)
    return {"search_name": doc["name"], "email": doc["email"]}


@router.get("/v1/standing-orders", response_model=StandingOrderList,
            responses={403: {"description": "Read-only role"}})
def list_standing_orders(actor: CurrentUser, db: Db) -> StandingOrderList:
    return standing_orders.list_orders(db, actor)


@router.post("/v1/standing-orders", response_model=StandingOrderOut,
             status_code=status.HTTP_201_CREATED,
             responses={403: {"description": "Read-only role"}})
def place_standing_order(body: StandingOrderIn, actor: CurrentUser,
                         db: Db) -> StandingOrderOut:
    """An admin's "reserve up to N leads a month matching this at no more than P"."""
    return standing_orders.place_order(db, actor, body)


@router.post("/v1/standing-orders/{order_id}/pause", response_model=StandingOrderOut,
             responses={403: {"description": "Read-only role"}, **_errors})
def pause_standing_order(order_id: str, actor: CurrentUser, db: Db) -> StandingOrderOut:
    return standing_orders.set_status(db, actor, order_id, standing_orders.PAUSED)


@router.post("/v1/standing-orders/{order_id}/resume", response_model=StandingOrderOut,
             responses={403: {"description": "Read-only role"}, **_errors})
def resume_standing_order(order_id: str, actor: CurrentUser, db: Db) -> StandingOrderOut:
    return standing_orders.set_status(db, actor, order_id, standing_orders.ACTIVE)


@router.delete("/v1/standing-orders/{order_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={403: {"description": "Read-only role"}, **_errors})
def cancel_standing_order(order_id: str, actor: CurrentUser, db: Db) -> Response:
    standing_orders.cancel_order(db, actor, order_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
