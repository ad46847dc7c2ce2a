"""A contact's erasure by e-mail, and its audit trail (docs/lifecycle.md)."""

from __future__ import annotations

from fastapi import APIRouter

from pc_api.deps import AppSettings, CurrentUser, Db
from pc_core.governance import erasure as service
from pc_core.models.erasure import ErasureAuditOut, ErasureIn, ErasureOut

router = APIRouter(prefix="/v1/erasures", tags=["erasures"])
_errors = {403: {"description": "A read-only user"},
           404: {"description": "Another partner named"}}


@router.post("", response_model=ErasureOut, responses=_errors)
def erase_contact(body: ErasureIn, actor: CurrentUser, db: Db,
                  settings: AppSettings) -> ErasureOut:
    """Erase the contact with this e-mail from the leads the caller may erase (the
    owner: every partner's, or ``partner_id``'s; an admin: its partner's), with their
    notes, stage history, queued e-mails and work, and the warehouse rows; then check
    no trace is left (``check``). The audit record keeps who, when and how many."""
    return service.erase_contact(db, settings, actor, str(body.email), body.partner_id)


@router.get("", response_model=list[ErasureAuditOut], responses=_errors)
def list_erasures(actor: CurrentUser, db: Db) -> list[ErasureAuditOut]:
    """Who erased, when and how many (never the e-mail)."""
    return service.list_erasures(db, actor)
