"""What a buyer would pay for one of the seller's leads at a given price: the
lead page shows it while the seller types a price, so the client never repeats the
commission rule (pc_core/marketplace/pricing.py)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.errors import NotFound
from pc_core.leads.inventory import get_lead_doc
from pc_core.marketplace.pricing import quote
from pc_core.settings import Settings


class QuoteOut(BaseModel):
    price_cents: int = Field(description="What the seller receives")
    commission_cents: int = Field(description="The platform's commission, paid by the buyer")
    buyer_total_cents: int = Field(description="What the buyer pays")
    default_price: bool = Field(description="No price was given: the lead's own price, "
                                "else the partner's default, else the platform's")


def seller_quote(db: Database, actor: Principal, lead_id: str, price_cents: int | None,
                 settings: Settings) -> QuoteOut:
    """The quote for the lead's seller (or the owner); the buyer and everyone else get
    404, as for any object that is not theirs to price."""
    lead = get_lead_doc(db, actor, lead_id)
    if not actor.can_see_partner(lead["partner_id"]):
        raise NotFound("lead not found")
    seller = db[c.PARTNERS].find_one({"_id": lead["partner_id"]},
                                     {"default_lead_price_cents": 1, "is_operator": 1})
    given = {**lead, "price_cents": price_cents} if price_cents is not None else lead
    q = quote(given, seller, settings)
    return QuoteOut(price_cents=q.price_cents, commission_cents=q.commission_cents,
                    buyer_total_cents=q.buyer_total_cents,
                    default_price=price_cents is None and lead.get("price_cents") is None)
