"""Bad-lead returns: the buyer asks for its money back, the seller answers, the owner
arbitrates.

1. The buyer asks within ``return_window_days`` of the sale, with a reason code and a
   note; one return per purchase (a second ask is a 409).
2. The seller accepts or contests within ``return_answer_days``; silence accepts
   (``accept_overdue``, run by the ``return_deadlines`` Dagster schedule).
3. The owner decides contested returns, and approves (or refuses) the returns of a
   buyer whose return rate is above ``return_guard_rate`` before the seller is asked.

"Already known" returns are accepted at once when the known-contact check
(``known_contacts``) finds the contact in the buyer's own data from before the sale.

Accepting refunds the buyer through Stripe first (a destination charge's refund also
reverses the seller's transfer and refunds the commission; idempotency key per
purchase), and only then writes: the purchase is refunded for billing (a credit line
on the buyer's invoice, ``billing.refunds.record_refund``), the lead goes back to the
seller, who may list it again (the operator's or an onboarded seller's lead is relisted
through the ordinary listing path, ``leads.update_lead``), the return is accepted.
A refused refund (502) changes nothing. Every step is on the return's ``timeline``,
e-mailed to the partners concerned and pushed live (``return-updated``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import stripe
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pc_core import collections as c
from pc_core import events
from pc_core.access import Principal
from pc_core.billing.refunds import record_refund
from pc_core.errors import BadRequest, Conflict, DomainError, Forbidden, NotFound
from pc_core.mail.mailer import send_email
from pc_core.marketplace import known_contacts, leadstate, listings, payouts, ratings
from pc_core.marketplace.notifications import partner_recipients
from pc_core.marketplace.purchases import COMPLETED
from pc_core.models.live_events import ReturnUpdated
from pc_core.payments import stripe_client
from pc_core.settings import Settings
from pc_core.store import sort_key, transition
from pc_core.store.counts import count_by
from pc_core.store.keys import time_key
from pc_core.store.pagination import below_cursor, fetch_merged_page
from pc_core.timeutil import ensure_utc, utcnow

log = logging.getLogger(__name__)
Doc = dict[str, Any]

REQUESTED, CONTESTED, NEEDS_APPROVAL = "requested", "contested", "needs_approval"
ACCEPTED, REJECTED = "accepted", "rejected"
OPEN_STATUSES = (REQUESTED, CONTESTED, NEEDS_APPROVAL)
REASONS = {
    "unreachable": "the contact cannot be reached",
    "wrong_data": "the contact's data is wrong",
    "outside_criteria": "outside the listing's criteria",
    "already_known": "the buyer already had this contact",
    "duplicate": "a duplicate of a lead the buyer bought",
}
BATCH = 200


class RefundFailed(DomainError):
    """Stripe refused or could not make the refund: nothing was changed."""

    status_code = 502


def _operator_id(db: Database) -> str | None:
    doc = db[c.PARTNERS].find_one({"is_operator": {"$in": [True, 1]}}, {"_id": 1})
    return doc["_id"] if doc else None


def _step(by: str, actor: Principal | None, action: str, note: str | None, now: datetime) -> Doc:
    return {"at": now, "by": by, "user_id": actor.user_id if actor else None,
            "action": action, "note": note}


def _lead_ref(db: Database, lead_id: str) -> str:
    lead = db[c.LEADS].find_one({"_id": lead_id}, {"title": 1}) or {}
    return f"{lead.get('title') or 'lead'} (#{lead_id[-6:]})"


def _tell(db: Database, settings: Settings, doc: Doc, event: str, to: dict[str, str]) -> None:
    """E-mail ``to`` (partner id → message) once per step, and push the change live."""
    names = {p["_id"]: p.get("name") for p in db[c.PARTNERS].find(
        {"_id": {"$in": list(to)}}, {"name": 1})}
    for partner_id, message in to.items():
        send_email(db, settings, key=f"return:{doc['_id']}:{event}:{partner_id}",
                   template="return_update", to=partner_recipients(db, partner_id), context={
                       "headline": f"Lead return {doc['status'].replace('_', ' ')}",
                       "partner_name": names.get(partner_id) or "partner",
                       "message": message, "lead_ref": _lead_ref(db, doc["lead_id"]),
                       "reason": REASONS.get(doc["reason"], doc["reason"]),
                       "note": doc.get("note") or "—", "status": doc["status"],
                       "return_id": doc["_id"]})
    events.emit(settings, ReturnUpdated.of_return(doc, _operator_id(db)))


def _buyer_over_guard(db: Database, settings: Settings, buyer: str) -> bool:
    """Whether the buyer returns more than the guard allows (its asks so far, the one
    being made included, over its purchases)."""
    by_status = count_by(db[c.PURCHASES], {"buyer_partner_id": buyer}, "status")
    bought = by_status.get(COMPLETED, 0) + by_status.get("refunded", 0)
    if bought < settings.return_guard_min_purchases:
        return False
    returns = count_by(db[c.RETURNS], {"buyer_partner_id": buyer}, "status")
    asked = sum(n for status, n in returns.items() if status != REJECTED) + 1
    return asked / bought > settings.return_guard_rate


def request_return(db: Database, settings: Settings, actor: Principal, purchase_id: str,
                   reason: str, note: str | None, *, now: datetime | None = None) -> Doc:
    """The buyer asks to return a bought lead.

    404: not the caller's purchase. 409: not a completed purchase, the window is
    over, or a return was already asked for. 400: unknown reason."""
    actor.require_writer()
    now = now or utcnow()
    purchase = db[c.PURCHASES].find_one({"_id": purchase_id})
    if purchase is None or actor.partner_id is None \
            or purchase["buyer_partner_id"] != actor.partner_id:
        raise NotFound("purchase not found")
    if reason not in REASONS:
        raise BadRequest(f"reason must be one of {', '.join(sorted(REASONS))}")
    if db[c.RETURNS].find_one({"_id": return_id_of(purchase_id)}, {"_id": 1}) is not None:
        raise Conflict("a return was already asked for this purchase")
    if purchase["status"] != COMPLETED:
        raise Conflict(f"only a completed purchase can be returned (this one is "
                       f"{purchase['status']})")
    closes = ensure_utc(purchase["completed_at"]) + timedelta(days=settings.return_window_days)
    if now > closes:
        raise Conflict(f"the return window closed on {closes:%Y-%m-%d %H:%M} UTC "
                       f"({settings.return_window_days} days after the sale)")
    buyer, seller = purchase["buyer_partner_id"], purchase["seller_partner_id"]
    guarded = _buyer_over_guard(db, settings, buyer)
    due = now + timedelta(days=settings.return_answer_days)
    return_id = return_id_of(purchase_id)
    doc: Doc = {
        "_id": return_id, "purchase_id": purchase_id, "lead_id": purchase["lead_id"],
        "buyer_partner_id": buyer, "seller_partner_id": seller, "reason": reason,
        "note": (note or "").strip()[:2000] or None,
        "status": NEEDS_APPROVAL if guarded else REQUESTED,
        "amount_cents": purchase["amount_cents"], "refund_id": None, "decided_by": None,
        "seller_due_at": None if guarded else due,
        "seller_due_key": None if guarded else time_key(due),
        "timeline": [_step("buyer", actor, "requested", doc_note(note, reason), now)],
        "created_at": now, "updated_at": now, "closed_at": None,
        "sort_key": sort_key(now, return_id), "rev": 1,
    }
    if guarded:
        doc["timeline"].append(_step("system", None, "held for the owner's approval",
                                     "the buyer's return rate is above the guard", now))
    try:
        db[c.RETURNS].insert_one(doc)
    except DuplicateKeyError:
        raise Conflict("a return was already asked for this purchase")
    if reason == "already_known" and not guarded and _known_before_sale(db, settings, purchase):
        try:
            return accept(db, settings, doc, by="system", actor=None,
                          note="the contact was already in the buyer's own data", now=now)
        except RefundFailed as exc:  # the seller is asked instead, as for any return
            log.warning("automatic acceptance of %s failed: %s", return_id, exc.detail)
    operator = _operator_id(db)
    if guarded:
        _tell(db, settings, doc, "held", {
            buyer: "Your return is waiting for the platform owner's approval.",
            **({operator: "A return needs your approval: the buyer's return rate is above "
                          "the guard."} if operator else {})})
    else:
        _tell(db, settings, doc, "requested", {
            seller: f"A buyer asks to return a lead it bought from you. Accept or contest it "
                    f"by {due:%Y-%m-%d %H:%M} UTC; without an answer it is accepted.",
            buyer: "We asked the seller about your return."})
    return doc


def return_id_of(purchase_id: str) -> str:
    """One return per purchase: its id is the purchase's, so a second ask collides."""
    return f"ret_{purchase_id}"


def doc_note(note: str | None, reason: str) -> str:
    text = (note or "").strip()[:2000]
    return f"{REASONS[reason]}" + (f": {text}" if text else "")


def _known_before_sale(db: Database, settings: Settings, purchase: Doc) -> bool:
    lead = db[c.LEADS].find_one({"_id": purchase["lead_id"]}, {"contact_email": 1, "website": 1})
    if lead is None:
        return False
    return known_contacts.known_before(db, purchase["buyer_partner_id"], lead,
                                       ensure_utc(purchase["created_at"]))


def get_return_doc(db: Database, actor: Principal, return_id: str) -> Doc:
    """The return if the caller's partner is its buyer or seller, or the caller is the
    owner; anyone else's is "not found"."""
    doc = db[c.RETURNS].find_one({"_id": return_id})
    if doc is None or not (actor.can_see_partner(doc["buyer_partner_id"])
                           or actor.can_see_partner(doc["seller_partner_id"])):
        raise NotFound("return not found")
    return doc


def _refund(settings: Settings, purchase: Doc, reason: str) -> Any:
    try:
        return stripe_client.refund(settings, purchase["payment_intent_id"], purchase["_id"],
                                    f"return: {reason}",
                                    destination_charge=bool(purchase.get("destination_account")))
    except stripe.StripeError as exc:
        log.warning("refund of purchase %s refused: %s", purchase["_id"], exc)
        raise RefundFailed(f"Stripe refused the refund, nothing was changed: "
                           f"{exc.user_message or exc}")


def _give_lead_back(db: Database, settings: Settings, purchase: Doc, now: datetime) -> None:
    """The lead back with its seller: listed again (and announced like any listing:
    ``listings.announce_listed``, the live event and saved searches) when the seller
    may list, else open in its inventory."""
    seller = db[c.PARTNERS].find_one({"_id": purchase["seller_partner_id"]},
                                     {"is_operator": 1, "stripe_connect": 1})
    for _ in range(5):
        lead = db[c.LEADS].find_one({"_id": purchase["lead_id"]})
        if lead is None or lead.get("purchase_id") != purchase["_id"]:
            return
        after = leadstate.give_back(db, lead, purchase, now, relist=payouts.can_list(seller))
        if after is not None:
            if after["status"] == "listed":
                listings.announce_listed(db, settings, [after])
            return


def accept(db: Database, settings: Settings, doc: Doc, *, by: str, actor: Principal | None,
           note: str | None, now: datetime | None = None) -> Doc:
    """Refund, then write: purchase refunded (invoice credit), lead back to the seller,
    return accepted. 502 if Stripe refuses (nothing written); 409 if the return was
    decided meanwhile."""
    now = now or utcnow()
    purchase = db[c.PURCHASES].find_one({"_id": doc["purchase_id"]})
    if purchase is None:
        raise NotFound("purchase not found")
    refund = _refund(settings, purchase, doc["reason"])
    record_refund(db, purchase["_id"], refund_id=refund.id,
                  reason=f"return: {doc['reason']}", now=now)
    _give_lead_back(db, settings, purchase, now)
    after = transition(db[c.RETURNS], doc, from_=doc["status"], to=ACCEPTED, changes={
        "refund_id": refund.id, "decided_by": by, "closed_at": now, "updated_at": now,
        "seller_due_key": None,
        "timeline": [*doc["timeline"], _step(by, actor, "accepted", note, now),
                     _step("system", None, "refunded",
                           f"refund {refund.id}: the buyer's money back, credited on its "
                           "invoice; the lead is back with the seller", now)]})
    if after is None:
        current = db[c.RETURNS].find_one({"_id": doc["_id"]}) or doc
        if current["status"] == ACCEPTED:
            return current
        raise Conflict(f"the return is {current['status']} now")
    ratings.refresh(db, doc["seller_partner_id"])
    _tell(db, settings, after, "accepted", {
        after["buyer_partner_id"]: "Your return was accepted: the purchase is refunded and "
                                   "credited on your invoice. The contact is no longer yours.",
        after["seller_partner_id"]: "A return of your lead was accepted: the sale is "
                                    "reversed and the lead is back in your inventory."})
    return after


def _decided(db: Database, settings: Settings, doc: Doc, to: str, by: str,
             actor: Principal, action: str, note: str | None, changes: Doc) -> Doc:
    now = utcnow()
    after = transition(db[c.RETURNS], doc, from_=doc["status"], to=to, changes={
        **changes, "updated_at": now,
        "timeline": [*doc["timeline"], _step(by, actor, action, note, now)]})
    if after is None:
        raise Conflict("the return changed meanwhile; reload and try again")
    return after


def seller_answer(db: Database, settings: Settings, actor: Principal, return_id: str,
                  accept_it: bool, note: str | None) -> Doc:
    """The seller accepts (refund) or contests (the owner decides)."""
    doc = get_return_doc(db, actor, return_id)
    if actor.partner_id != doc["seller_partner_id"]:
        raise Forbidden("only the seller answers a return")
    actor.require_writer()
    if doc["status"] != REQUESTED:
        raise Conflict(f"the return is {doc['status']}: the seller can no longer answer")
    if accept_it:
        return accept(db, settings, doc, by="seller", actor=actor, note=note)
    if not (note or "").strip():
        raise BadRequest("say why you contest the return (note)")
    after = _decided(db, settings, doc, CONTESTED, "seller", actor, "contested", note,
                     {"seller_due_key": None})
    operator = _operator_id(db)
    _tell(db, settings, after, "contested", {
        after["buyer_partner_id"]: "The seller contests your return; the platform owner "
                                   "will decide.",
        **({operator: "A contested return waits for your decision."} if operator else {})})
    return after


def owner_decide(db: Database, settings: Settings, actor: Principal, return_id: str,
                 accept_it: bool, note: str | None) -> Doc:
    """The owner decides a contested return (accept: refund; reject: closed), or a
    held one (approve: the seller is asked; refuse: closed)."""
    actor.require_owner()
    doc = get_return_doc(db, actor, return_id)
    if doc["status"] not in (CONTESTED, NEEDS_APPROVAL):
        raise Conflict(f"the return is {doc['status']}: nothing for the owner to decide")
    buyer, seller = doc["buyer_partner_id"], doc["seller_partner_id"]
    if doc["status"] == CONTESTED and accept_it:
        return accept(db, settings, doc, by="owner", actor=actor, note=note)
    if doc["status"] == NEEDS_APPROVAL and accept_it:
        due = utcnow() + timedelta(days=settings.return_answer_days)
        after = _decided(db, settings, doc, REQUESTED, "owner", actor, "approved", note,
                         {"seller_due_at": due, "seller_due_key": time_key(due)})
        _tell(db, settings, after, "approved", {
            seller: f"A buyer asks to return a lead it bought from you. Accept or contest it "
                    f"by {due:%Y-%m-%d %H:%M} UTC; without an answer it is accepted.",
            buyer: "The owner approved your return; we asked the seller."})
        return after
    after = _decided(db, settings, doc, REJECTED, "owner", actor, "rejected", note,
                     {"decided_by": "owner", "closed_at": utcnow(), "seller_due_key": None})
    ratings.refresh(db, seller)
    _tell(db, settings, after, "rejected", {
        buyer: "Your return was rejected by the platform owner; the purchase stands.",
        seller: "A return of your lead was rejected; the sale stands."})
    return after


def accept_overdue(db: Database, settings: Settings, now: datetime | None = None) -> int:
    """Accept every return the seller left unanswered past its deadline (what the
    ``return_deadlines`` schedule runs); one refused refund does not stop the rest."""
    now = now or utcnow()
    accepted = 0
    for doc in db[c.RETURNS].find({"status": REQUESTED,
                                   "seller_due_key": {"$lte": time_key(now)}}).limit(BATCH):
        if doc.get("seller_due_at") and ensure_utc(doc["seller_due_at"]) > now:
            continue
        try:
            accept(db, settings, doc, by="system", actor=None, now=now,
                   note=f"the seller did not answer within {settings.return_answer_days} days")
            accepted += 1
        except DomainError as exc:
            log.warning("overdue return %s not accepted: %s", doc["_id"], exc.detail)
    return accepted


def list_returns(db: Database, actor: Principal, *, status: str | None = None,
                 limit: int = 50, cursor: str | None = None) -> tuple[list[Doc], str | None]:
    """The caller's partner's returns as buyer and as seller (the owner: all), newest
    first."""
    key_range = below_cursor(cursor)
    extra = {"status": status} if status else {}
    if actor.is_owner:
        matches = [{**key_range, **extra}]
    else:
        matches = [{"buyer_partner_id": actor.partner_id, **key_range, **extra},
                   {"seller_partner_id": actor.partner_id, **key_range, **extra}]
    return fetch_merged_page(db[c.RETURNS], matches, limit)
