"""Standing orders: "reserve up to N leads a month matching this search at no more
than P", placed by a buyer's admin and filled as leads are listed.

When a lead is listed (or gets cheaper), the candidate orders are picked by the
same match keys as saved searches (``pc_core.marketplace.criteria``), then tried
**oldest first** (creation order, ``sort_key``); the first eligible one reserves the
lead through the ordinary reservation service (``reservations.reserve``, so the lead
compare-and-set, the per-buyer cap on active reservations and the seller ≠ buyer rule
are the ones every buyer meets). An order is skipped when:

- its buyer is the seller (never in the candidates);
- it is paused (the buyer's card step failed twice on its reservations);
- its buyer has an active reservation older than half its term (unpaid: it is
  not buying what it holds, so it gets no more for now);
- it has used its monthly cap: each fill takes one of the order's numbered monthly
  slots (``{order}:{month}:{n}``, n < cap) by ``insert_one``, so concurrent listings
  cannot fill it past its cap; a fill whose reservation fails gives its slot back;
- the reservation service refuses (the buyer holds its cap of active reservations):
  the next order is tried. When the lead is gone (another order or buyer won the
  race) nobody else is tried.

Fairness: a lead goes to the order that has waited longest among those that can
take it; a buyer cannot jump the queue by placing more orders (new ones queue
behind every older order), and a monthly cap bounds how much of the supply one
order takes. The buyer is told at once (``standing-order-filled`` live, and an
e-mail).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pc_core import collections as c
from pc_core import events
from pc_core.access import Principal, Role
from pc_core.errors import BadRequest, Conflict, Forbidden, NotFound
from pc_core.ids import new_id
from pc_core.mail.mailer import send_email
from pc_core.marketplace import criteria, notifications, reservations
from pc_core.models.buyer_alerts import StandingOrderIn, StandingOrderList, StandingOrderOut
from pc_core.models.live_events import StandingOrderFilled
from pc_core.money import format_cents
from pc_core.settings import Settings
from pc_core.stages import LeadStatus
from pc_core.store import month_key, sort_key, update_with_retry
from pc_core.store.pagination import MAX_LIMIT, fetch_page
from pc_core.timeutil import ensure_utc, utcnow

Doc = dict[str, Any]
ACTIVE, PAUSED = "active", "paused"
MAX_CARD_FAILURES = 2


# -- placing and listing orders (the buyer's admin) --------------------------------------

def _admin_partner(actor: Principal) -> str:
    actor.require_writer()
    if actor.partner_id is None:
        raise BadRequest("standing orders are placed for a partner: sign in as one of its admins")
    return actor.partner_id


def _filled(db: Database, order_id: str, month: str) -> int:
    return len(list(db[c.STANDING_ORDER_FILLS].find(
        {"order_id": order_id, "month": month, "reservation_id": {"$ne": None}}, {"_id": 1})))


def _out(db: Database, doc: Doc, now: datetime) -> StandingOrderOut:
    return StandingOrderOut(
        id=doc["_id"], name=doc["name"], criteria=doc["criteria"],
        monthly_cap=doc["monthly_cap"], days=doc["days"], status=doc["status"],
        card_failures=doc["card_failures"], filled_this_month=_filled(db, doc["_id"],
                                                                      month_key(now)),
        created_at=doc["created_at"])


def place_order(db: Database, actor: Principal, body: StandingOrderIn) -> StandingOrderOut:
    partner_id = _admin_partner(actor)
    if body.criteria.price_max is None:
        raise BadRequest("a standing order needs a maximum price (criteria.price_max)")
    now = utcnow()
    order_id = new_id()
    doc: Doc = {
        "_id": order_id, "partner_id": partner_id, "created_by": actor.user_id,
        "name": body.name, **criteria.stored_fields(body.criteria),
        "monthly_cap": body.monthly_cap, "days": body.days, "status": ACTIVE, "active": True,
        "card_failures": 0,
        "created_at": now, "updated_at": now, "sort_key": sort_key(now, order_id), "rev": 1,
    }
    db[c.STANDING_ORDERS].insert_one(doc)
    return _out(db, doc, now)


def list_orders(db: Database, actor: Principal) -> StandingOrderList:
    partner_id = _admin_partner(actor)
    docs, _ = fetch_page(db[c.STANDING_ORDERS], {"partner_id": partner_id}, MAX_LIMIT)
    now = utcnow()
    return StandingOrderList(items=[_out(db, d, now) for d in docs])


def _order_of(db: Database, actor: Principal, order_id: str) -> Doc:
    partner_id = _admin_partner(actor)
    doc = db[c.STANDING_ORDERS].find_one({"_id": order_id})
    if doc is None or doc["partner_id"] != partner_id:
        raise NotFound("standing order not found")
    return doc


def set_status(db: Database, actor: Principal, order_id: str, status: str) -> StandingOrderOut:
    """Pause or resume; resuming forgets the card failures."""
    _order_of(db, actor, order_id)

    def change(current: Doc) -> Doc | None:
        if current["status"] == status:
            return None
        return {"status": status, "active": status == ACTIVE, "updated_at": utcnow(),
                **({"card_failures": 0} if status == ACTIVE else {})}

    return _out(db, update_with_retry(db[c.STANDING_ORDERS], order_id, change,
                                      what="standing order"), utcnow())


def cancel_order(db: Database, actor: Principal, order_id: str) -> None:
    _order_of(db, actor, order_id)
    db[c.STANDING_ORDERS].delete_one({"_id": order_id})


# -- filling ---------------------------------------------------------------------------

def _holds_overdue(db: Database, buyer: str, now: datetime) -> bool:
    """An active (so unpaid) reservation past half its term."""
    for r in db[c.RESERVATIONS].find({"buyer_partner_id": buyer, "status": reservations.ACTIVE},
                                     {"created_at": 1, "days": 1}).limit(200):
        if ensure_utc(r["created_at"]) + timedelta(days=r["days"]) / 2 < now:
            return True
    return False


def _claim_fill(db: Database, order: Doc, lead_id: str, month: str) -> str | None:
    """One of the order's monthly slots, or ``None`` at its cap."""
    for n in range(order["monthly_cap"]):
        fill_id = f"{order['_id']}:{month}:{n}"
        try:
            db[c.STANDING_ORDER_FILLS].insert_one({
                "_id": fill_id, "order_id": order["_id"], "partner_id": order["partner_id"],
                "month": month, "lead_id": lead_id, "reservation_id": None})
            return fill_id
        except DuplicateKeyError:
            continue
    return None


def candidates(db: Database, listing: Doc) -> list[Doc]:
    """Active orders that may take ``listing``, oldest first."""
    return sorted(criteria.candidates(db[c.STANDING_ORDERS], listing),
                  key=lambda o: o["sort_key"])


def fill(db: Database, settings: Settings, listing: Doc,
         now: datetime | None = None) -> Doc | None:
    """Reserve ``listing`` for the oldest eligible order; the reservation made (as
    ``ReservationOut`` JSON plus ``order_id``), or ``None``."""
    now = now or utcnow()
    month = month_key(now)
    for order in candidates(db, listing):
        buyer = order["partner_id"]
        if _holds_overdue(db, buyer, now):
            continue
        fill_id = _claim_fill(db, order, listing["id"], month)
        if fill_id is None:
            continue
        actor = Principal(user_id=order["created_by"], role=Role.ADMIN, partner_id=buyer)
        try:
            made = reservations.reserve(db, settings, actor, listing["id"], order["days"],
                                        now=now)
        except (Conflict, NotFound, Forbidden):  # Forbidden: a deactivated buyer
            db[c.STANDING_ORDER_FILLS].delete_one({"_id": fill_id})
            lead = db[c.LEADS].find_one({"_id": listing["id"]}, {"status": 1})
            if lead is None or lead["status"] != LeadStatus.LISTED.value:
                return None  # gone to someone else: no other order can have it
            continue  # this buyer is at its reservation cap: the next order
        db[c.STANDING_ORDER_FILLS].update_one({"_id": fill_id},
                                              {"$set": {"reservation_id": made.id}})
        _tell(db, settings, order, listing, made.id)
        return {**made.model_dump(mode="json"), "order_id": order["_id"]}
    return None


def _tell(db: Database, settings: Settings, order: Doc, listing: Doc,
          reservation_id: str) -> None:
    events.emit(settings, StandingOrderFilled(
        order_id=order["_id"], order_name=order["name"], lead_id=listing["id"],
        reservation_id=reservation_id, partner_id=order["partner_id"]))
    send_email(db, settings, key=f"standing-order-filled:{reservation_id}",
               template="standing_order_filled",
               to=notifications.partner_recipients(db, order["partner_id"]),
               context={"order_name": order["name"], "reservation_id": reservation_id,
                        "industry": listing.get("industry") or "industry not given",
                        "location": listing.get("location") or "location not given",
                        "price": format_cents(listing["buyer_total_cents"]),
                        "days": order["days"],
                        "url": f"{settings.app_url.rstrip('/')}/marketplace/reservations"})


def card_failed(db: Database, reservation_id: str) -> Doc | None:
    """A payment for a reservation failed: count it against the order that made the
    reservation (if one did); the order pauses at ``MAX_CARD_FAILURES``."""
    fill_doc = db[c.STANDING_ORDER_FILLS].find_one({"reservation_id": reservation_id})
    if fill_doc is None or db[c.STANDING_ORDERS].find_one(
            {"_id": fill_doc["order_id"]}, {"_id": 1}) is None:
        return None

    def count(current: Doc) -> Doc:
        failures = int(current["card_failures"]) + 1
        paused = failures >= MAX_CARD_FAILURES
        return {"card_failures": failures, "updated_at": utcnow(),
                **({"status": PAUSED, "active": False} if paused else {})}

    return update_with_retry(db[c.STANDING_ORDERS], fill_doc["order_id"], count,
                             what="standing order")
