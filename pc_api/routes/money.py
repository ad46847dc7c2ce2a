"""Money routes: the seller's payouts (Stripe Connect), bad-lead returns and the
known-contact check (api.md "Payouts and returns"). Thin: parse, call
``pc_core.marketplace``, shape."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from pc_api.deps import AppSettings, CurrentUser, Db
from pc_core.errors import BadRequest
from pc_core.marketplace import known_contacts, payouts
from pc_core.models.money import (
    KnownIn,
    KnownOut,
    KnownPage,
    OnboardingLink,
    PayoutsOut,
    ReturnAnswer,
    ReturnIn,
    ReturnOut,
    ReturnPage,
    ReturnStatus,
)
from pc_core.returns import flow as returns
from pc_core.store.pagination import MAX_LIMIT

router = APIRouter(prefix="/v1", tags=["payouts and returns"])
_errors = {
    403: {"description": "Read-only role, or not the party that decides"},
    404: {"description": "Not found (or another partner's)"},
    409: {"description": "Window over, already asked, or already decided"},
    502: {"description": "Stripe refused (nothing was changed)"},
}


@router.post("/payouts/onboarding", response_model=OnboardingLink, responses=_errors)
def start_onboarding(actor: CurrentUser, db: Db, settings: AppSettings,
                     partner_id: Annotated[str | None, Query(max_length=64)] = None
                     ) -> OnboardingLink:
    """Start (or resume) Stripe Express onboarding: open the returned URL."""
    return OnboardingLink(url=payouts.start_onboarding(db, settings, actor, partner_id))


@router.get("/payouts", response_model=PayoutsOut, responses=_errors)
def get_payouts(actor: CurrentUser, db: Db, settings: AppSettings,
                partner_id: Annotated[str | None, Query(max_length=64)] = None) -> PayoutsOut:
    """The seller's Connect state, Stripe balance, payouts and sales."""
    return PayoutsOut.model_validate(payouts.payouts_view(db, settings, actor, partner_id))


@router.post("/marketplace/known-contacts", response_model=KnownPage)
def known(body: KnownIn, actor: CurrentUser, db: Db) -> KnownPage:
    """Whether each listing's contact (e-mail) or company (domain) is already in the
    caller's own leads or HubSpot contacts. Says nothing about the seller's data."""
    if actor.partner_id is None:
        raise BadRequest("the check is made for a partner: sign in as one of its users")
    found = known_contacts.check(db, actor.partner_id, body.lead_ids)
    return KnownPage(items=[KnownOut(lead_id=i, known=m is not None, match=m)
                            for i, m in found.items()])


@router.post("/marketplace/returns", response_model=ReturnOut,
             status_code=status.HTTP_201_CREATED, responses=_errors)
def request_return(body: ReturnIn, actor: CurrentUser, db: Db,
                   settings: AppSettings) -> ReturnOut:
    return ReturnOut.from_doc(returns.request_return(db, settings, actor, body.purchase_id,
                                                     body.reason, body.note))


@router.get("/marketplace/returns", response_model=ReturnPage)
def list_returns(actor: CurrentUser, db: Db,
                 status_: Annotated[ReturnStatus | None, Query(alias="status")] = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
                 cursor: str | None = None) -> ReturnPage:
    docs, next_cursor = returns.list_returns(db, actor, status=status_, limit=limit,
                                             cursor=cursor)
    return ReturnPage(items=[ReturnOut.from_doc(d) for d in docs], next_cursor=next_cursor)


@router.get("/marketplace/returns/{return_id}", response_model=ReturnOut, responses=_errors)
def get_return(return_id: str, actor: CurrentUser, db: Db) -> ReturnOut:
    return ReturnOut.from_doc(returns.get_return_doc(db, actor, return_id))


@router.post("/marketplace/returns/{return_id}/answer", response_model=ReturnOut,
             responses=_errors)
def seller_answer(return_id: str, body: ReturnAnswer, actor: CurrentUser, db: Db,
                  settings: AppSettings) -> ReturnOut:
    """The seller accepts (the buyer is refunded) or contests (the owner decides)."""
    return ReturnOut.from_doc(returns.seller_answer(db, settings, actor, return_id,
                                                    body.accept, body.note))


@router.post("/marketplace/returns/{return_id}/decision", response_model=ReturnOut,
             responses=_errors)
def owner_decide(return_id: str, body: ReturnAnswer, actor: CurrentUser, db: Db,
                 settings: AppSettings) -> ReturnOut:
    """The owner decides a contested return, or approves a held one."""
    return ReturnOut.from_doc(returns.owner_decide(db, settings, actor, return_id,
                                                   body.accept, body.note))
