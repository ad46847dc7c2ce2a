"""The marketplace's emails: who gets them and what they say.

Recipients are the partner's active admins (falling back to any active user), the
people who act on a sale. Dedupe keys: ``lead-sold:{purchase}``,
``purchase-confirmed:{purchase}``, ``reservation-expiring:{reservation}``,
``reservation-withdrawn:{reservation}``.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.mail.mailer import send_email
from pc_core.money import format_cents
from pc_core.settings import Settings

Doc = dict[str, Any]


def partner_recipients(db: Database, partner_id: str) -> list[str]:
    users = [u for u in db[c.USERS].find({"partner_id": partner_id},
                                         {"email": 1, "role": 1, "active": 1}).limit(200)
             if u.get("active", True)]
    admins = [u["email"] for u in users if u.get("role") == "admin"]
    return admins or [u["email"] for u in users]


def _partner_name(db: Database, partner_id: str) -> str:
    doc = db[c.PARTNERS].find_one({"_id": partner_id}, {"name": 1})
    return doc["name"] if doc else "a partner"


def _lead_context(lead: Doc) -> Doc:
    return {
        "lead_title": lead.get("title") or lead["_id"],
        "industry": lead.get("industry") or "industry not given",
        "location": lead.get("location") or "location not given",
        "company": lead.get("company") or "",
        "contact_name": lead.get("contact_name") or "",
        "contact_email": lead.get("contact_email") or "",
        "contact_phone": lead.get("contact_phone") or "",
    }


def _amounts(doc: Doc) -> Doc:
    price, commission = doc["price_cents"], doc["commission_cents"]
    return {"price": format_cents(price), "commission": format_cents(commission),
            "total": format_cents(price + commission)}


def sale_emails(db: Database, settings: Settings, purchase: Doc, lead: Doc) -> None:
    """lead-sold to the seller, purchase-confirmed to the buyer; each once."""
    context = {
        **_lead_context(lead), **_amounts(purchase), "purchase_id": purchase["_id"],
        "seller_name": _partner_name(db, purchase["seller_partner_id"]),
        "buyer_name": _partner_name(db, purchase["buyer_partner_id"]),
    }
    send_email(db, settings, key=f"lead-sold:{purchase['_id']}", template="lead_sold",
               to=partner_recipients(db, purchase["seller_partner_id"]), context=context)
    send_email(db, settings, key=f"purchase-confirmed:{purchase['_id']}",
               template="purchase_confirmed",
               to=partner_recipients(db, purchase["buyer_partner_id"]), context=context)


def _unbought_lead_context(db: Database, reservation: Doc) -> Doc:
    lead = db[c.LEADS].find_one({"_id": reservation["lead_id"]}) or {"_id": reservation["lead_id"]}
    # Not bought yet: nothing that identifies the company or the contact (as in the
    # listings), so the lead is named by its id and company size.
    public = {k: v for k, v in _lead_context(lead).items() if not k.startswith("contact")}
    size = lead.get("company_size")
    public.update(company="", lead_title=f"#{lead['_id'][-6:]}" + (f", {size} employees"
                                                                     if size else ""))
    return public


def reservation_withdrawn(db: Database, settings: Settings, reservation: Doc) -> bool:
    """The seller was deactivated: the buyer's hold is released and the lead is off
    the market; once per reservation. Returns whether an e-mail was recorded."""
    context = {
        **_unbought_lead_context(db, reservation), "reservation_id": reservation["_id"],
        "buyer_name": _partner_name(db, reservation["buyer_partner_id"]),
    }
    sent = send_email(db, settings, key=f"reservation-withdrawn:{reservation['_id']}",
                      template="reservation_withdrawn",
                      to=partner_recipients(db, reservation["buyer_partner_id"]),
                      context=context)
    return sent is not None


def reservation_expiring(db: Database, settings: Settings, reservation: Doc) -> None:
    public = _unbought_lead_context(db, reservation)
    context = {
        **public, **_amounts(reservation), "reservation_id": reservation["_id"],
        "buyer_name": _partner_name(db, reservation["buyer_partner_id"]),
        "expires_at": f"{reservation['expires_at']:%Y-%m-%d %H:%M} UTC",
    }
    send_email(db, settings, key=f"reservation-expiring:{reservation['_id']}",
               template="reservation_expiring",
               to=partner_recipients(db, reservation["buyer_partner_id"]), context=context)
