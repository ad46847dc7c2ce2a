"""Sellers get paid: Stripe Connect Express onboarding, the ``account.updated`` record,
the listing rule and the seller's payouts view.

A peer-to-peer seller has a connected Express account (``partners.stripe_account_id``);
``partners.stripe_connect`` records what Stripe last said about it
(``charges_enabled``, ``payouts_enabled``, ``details_submitted``). Only a seller whose
payouts are enabled may put leads on the market: otherwise the buyer's money would
have nowhere to go. The operator partner is exempt (it is the platform: its sales
are ordinary charges, no commission).

Purchases of a connected seller are destination charges
(``stripe_client.create_payment_intent``): Stripe transfers price to the seller and
the platform keeps ``application_fee_amount`` = commission; a refund reverses the
transfer and refunds the fee (docs/payments.md has the picture).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.errors import BadRequest, Conflict, NotFound
from pc_core.payments import stripe_client
from pc_core.settings import Settings
from pc_core.timeutil import utcnow

log = logging.getLogger(__name__)
Doc = dict[str, Any]
FLAGS = ("charges_enabled", "payouts_enabled", "details_submitted")


def can_list(partner: Doc | None) -> bool:
    """Whether this seller may put leads on the market (operator, or payouts enabled)."""
    if partner is None:
        return False
    return bool(partner.get("is_operator")) or bool(
        (partner.get("stripe_connect") or {}).get("payouts_enabled"))


def require_can_list(db: Database, partner_id: str) -> None:
    """409 unless the seller may list: a P2P seller first sets up payouts."""
    partner = db[c.PARTNERS].find_one({"_id": partner_id},
                                      {"is_operator": 1, "stripe_connect": 1})
    if not can_list(partner):
        raise Conflict("set up payouts first (Settings → Payouts): a seller can list leads "
                       "only once Stripe can pay it")


def destination_for(seller: Doc | None) -> str | None:
    """The connected account a purchase's money goes to: only an onboarded seller's."""
    if not seller or seller.get("is_operator") or not seller.get("stripe_account_id"):
        return None
    return seller["stripe_account_id"] if can_list(seller) else None


def _own_partner(db: Database, actor: Principal, partner_id: str | None) -> Doc:
    target = actor.acting_partner_id(partner_id)
    if target is None:
        raise BadRequest("payouts belong to a partner: give partner_id or sign in as a "
                         "partner's user")
    partner = db[c.PARTNERS].find_one({"_id": target})
    if partner is None:
        raise NotFound("partner not found")
    return partner


def _admin_email(db: Database, partner_id: str, actor: Principal) -> str | None:
    user = db[c.USERS].find_one({"_id": actor.user_id}, {"email": 1, "partner_id": 1})
    return user["email"] if user and user.get("partner_id") == partner_id else None


def start_onboarding(db: Database, settings: Settings, actor: Principal,
                     partner_id: str | None = None) -> str:
    """The URL of Stripe's hosted onboarding for the caller's partner: its Express
    account is created on first use (once: Stripe idempotency key and a
    compare-and-set on the partner), then a fresh account link each time (links are
    single-use and expire within minutes, so they are never stored)."""
    partner = _own_partner(db, actor, partner_id)
    actor.require_writer()
    if partner.get("is_operator"):
        raise Conflict("the operator is the platform: its sales need no connected account")
    account_id = partner.get("stripe_account_id")
    if not account_id:
        account = stripe_client.create_express_account(
            settings, partner["_id"], _admin_email(db, partner["_id"], actor))
        db[c.PARTNERS].update_one(
            {"_id": partner["_id"], "stripe_account_id": {"$in": [None, ""]}},
            {"$set": {"stripe_account_id": account.id, "updated_at": utcnow(),
                      "stripe_connect": {**{f: bool(account.to_dict().get(f)) for f in FLAGS},
                                         "updated_at": utcnow()}}})
        account_id = (db[c.PARTNERS].find_one({"_id": partner["_id"]}, {"stripe_account_id": 1})
                      or {}).get("stripe_account_id") or account.id
    base = settings.app_url.rstrip("/")
    link = stripe_client.create_account_link(
        settings, account_id, return_url=f"{base}/settings/payouts?onboarding=done",
        refresh_url=f"{base}/settings/payouts?onboarding=refresh")
    return str(link.url)


def account_updated(db: Database, settings: Settings, account: dict[str, Any]) -> str:
    """``account.updated``: record the connected account's capabilities on its partner.

    Decided by state, so any order of delivery ends right: the flags are Stripe's
    current view of the account as sent, and an older event (``created`` earlier
    than the one recorded) changes nothing."""
    account_id = account.get("id")
    partner = db[c.PARTNERS].find_one({"stripe_account_id": account_id},
                                      {"stripe_connect": 1, "name": 1})
    if partner is None:
        partner_id = (account.get("metadata") or {}).get("partner_id")
        partner = db[c.PARTNERS].find_one({"_id": partner_id, "stripe_account_id": account_id},
                                          {"stripe_connect": 1}) if partner_id else None
    if partner is None:
        return "unknown-account"
    current = partner.get("stripe_connect") or {}
    flags = {f: bool(account.get(f)) for f in FLAGS}
    if all(current.get(f) == v for f, v in flags.items()):
        return "unchanged"
    now = utcnow()
    db[c.PARTNERS].update_one({"_id": partner["_id"]}, {"$set": {
        "stripe_connect": {**flags, "updated_at": now}, "updated_at": now}})
    log.info("partner %s connect account: %s", partner["_id"], flags)
    return "payouts-enabled" if flags["payouts_enabled"] else "recorded"


def _sales(db: Database, partner_id: str, limit: int = 50) -> list[Doc]:
    """The seller's latest purchases, newest first (the seller + sort_key index)."""
    return list(db[c.PURCHASES].find(
        {"seller_partner_id": partner_id},
        {"lead_id": 1, "price_cents": 1, "commission_cents": 1, "status": 1,
         "completed_at": 1, "destination_account": 1}).sort("sort_key", -1).limit(limit))


def _totals(db: Database, partner_id: str) -> dict[str, Doc]:
    """Per purchase status: how many and the prices' sum (one grouped aggregation)."""
    rows = db[c.PURCHASES].aggregate([
        {"$match": {"seller_partner_id": partner_id}},
        {"$group": {"_id": "$status", "n": {"$sum": 1}, "cents": {"$sum": "$price_cents"}}}])
    return {r["_id"]: r for r in rows}


def payouts_view(db: Database, settings: Settings, actor: Principal,
                 partner_id: str | None = None) -> Doc:
    """What the seller sees under Settings → Payouts: the account's state, its Stripe
    balance and payouts, and the sales behind them (newest first)."""
    partner = _own_partner(db, actor, partner_id)
    connect = partner.get("stripe_connect") or {}
    account_id = partner.get("stripe_account_id")
    balance, payouts = None, []
    if account_id and connect.get("details_submitted"):
        raw = stripe_client.connected_balance(settings, account_id)
        balance = sum(int(b.amount) for b in raw.available if b.currency == "usd")
        payouts = [{"id": p.id, "amount_cents": int(p.amount), "status": p.status,
                    "arrival_date": datetime.fromtimestamp(int(p.arrival_date),
                                                           tz=utcnow().tzinfo)}
                   for p in stripe_client.connected_payouts(settings, account_id)]
    sales = [s for s in _sales(db, partner["_id"]) if s["status"] in ("completed", "refunded")]
    totals = _totals(db, partner["_id"])
    sold = totals.get("completed") or {}
    return {
        "partner_id": partner["_id"],
        "is_operator": bool(partner.get("is_operator")),
        "connected": bool(account_id),
        "charges_enabled": bool(connect.get("charges_enabled")),
        "payouts_enabled": bool(connect.get("payouts_enabled")),
        "details_submitted": bool(connect.get("details_submitted")),
        "can_list": can_list(partner),
        "balance_available_cents": balance,
        "sold_count": int(sold.get("n") or 0),
        "sold_cents": int(sold.get("cents") or 0),
        "returned_count": int((totals.get("refunded") or {}).get("n") or 0),
        "sales": [{"purchase_id": s["_id"], "lead_id": s["lead_id"],
                   "price_cents": int(s["price_cents"]),
                   "commission_cents": int(s["commission_cents"]),
                   "status": s["status"], "completed_at": s.get("completed_at"),
                   "paid_to_account": bool(s.get("destination_account"))}
                  for s in sales],
        "payouts": payouts,
    }
