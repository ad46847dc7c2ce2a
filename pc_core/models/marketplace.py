"""The marketplace's answers: listings (what buyers browse, no contact data),
reservations and purchases, and the two request bodies with their rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pc_core.models.leads import CompanySize
from pc_core.stages import Stage

MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 7, 14, 7
ReservationStatus = Literal["active", "released", "expired", "converted"]
PurchaseStatus = Literal["pending", "completed", "failed", "refunded"]
# Added by pc_core.marketplace.names to the purchases of a page.
NAME_FIELDS = ("lead_title", "lead_company", "seller_name", "buyer_name")


class PublicListing(BaseModel):
    """A listed lead as every buyer sees it (``marketplace.listings.listing_view``),
    with its price: what the ``lead-listed`` live event carries
    (``pc_core.models.live_events.LeadListed``)."""

    id: str
    seller_partner_id: str
    seller_name: str | None
    seller_rating: float | None = Field(
        description="0–5 from the seller's return rate and sell-through (ratings.py)")
    seller_rating_count: int = Field(default=0, description="The sales the rating rests on")
    company_size: CompanySize | None
    industry: str | None
    industry_label: str | None = Field(
        default=None, description="The seller's CRM label of `industry` (HubSpot's option "
        "label); null when it has none: show a readable form of `industry`.")
    location: str | None
    budget_cents: int | None
    stage: Stage
    age_days: int
    created_at: datetime
    price_cents: int
    commission_cents: int
    buyer_total_cents: int
    currency: str
    next_price_drop_at: datetime | None = Field(
        default=None, description="When the seller's aging rule next lowers the price")
    next_price_cents: int | None = Field(default=None, description="The price after that drop")


class ListingOut(PublicListing):
    """A listing as the caller sees it: the public listing, and whether it is its own."""

    own: bool = Field(description="The caller's own partner is the seller")


class ListingPage(BaseModel):
    items: list[ListingOut]
    next_cursor: str | None


class ReservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lead_id: str = Field(min_length=1, max_length=64)
    days: int = Field(default=DEFAULT_DAYS, ge=MIN_DAYS, le=MAX_DAYS)


class ReservationOut(BaseModel):
    id: str
    lead_id: str
    status: ReservationStatus
    days: int
    buyer_partner_id: str
    seller_partner_id: str
    price_cents: int
    commission_cents: int
    buyer_total_cents: int
    pending_purchase_id: str | None
    purchase_id: str | None
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    lead_title: str | None = Field(default=None, description="The lead's title, once the "
                                   "caller bought it")
    lead_company: str | None = None
    lead_summary: str = Field(default="", description="Industry, size and location, as "
                              "its listing shows them")
    seller_name: str | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ReservationOut:
        return cls.model_validate(_reservation(doc))


class ReservationPage(BaseModel):
    items: list[ReservationOut]
    next_cursor: str | None

    @classmethod
    def from_docs(cls, docs: list[dict[str, Any]], next_cursor: str | None) -> ReservationPage:
        return cls.model_validate({"items": [_reservation(d) for d in docs],
                                   "next_cursor": next_cursor})


def _reservation(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "lead_id": doc["lead_id"],
        "status": doc["status"],
        "days": doc["days"],
        "buyer_partner_id": doc["buyer_partner_id"],
        "seller_partner_id": doc["seller_partner_id"],
        "price_cents": doc["price_cents"],
        "commission_cents": doc["commission_cents"],
        "buyer_total_cents": doc["price_cents"] + doc["commission_cents"],
        "pending_purchase_id": doc.get("pending_purchase_id"),
        "purchase_id": doc.get("purchase_id"),
        "created_at": doc["created_at"],
        "expires_at": doc["expires_at"],
        "ended_at": doc.get("ended_at"),
        **{k: doc.get(k) for k in ("lead_title", "lead_company", "seller_name")},
        "lead_summary": doc.get("lead_summary") or "",
    }


class PurchaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reservation_id: str = Field(min_length=1, max_length=64)


class PurchaseOut(BaseModel):
    id: str
    status: PurchaseStatus
    reservation_id: str
    lead_id: str
    buyer_partner_id: str
    seller_partner_id: str
    price_cents: int
    commission_cents: int
    amount_cents: int = Field(description="What the buyer pays: price + commission")
    currency: str
    payment_intent_id: str | None
    failure_message: str | None
    refund_id: str | None
    created_at: datetime
    completed_at: datetime | None
    lead_title: str | None = Field(default=None, description="The lead's title, once the "
                                   "caller may see it (its seller, or its buyer once paid)")
    lead_company: str | None = None
    lead_summary: str = Field(default="", description="Industry, size and location, as "
                              "its listing shows them")
    seller_name: str | None = None
    buyer_name: str | None = None
    money_outcome: str = Field(default="", description="What happened to the money, in "
                               "words (the card processor's message is `failure_message`)")


class PurchaseCreated(PurchaseOut):
    client_secret: str | None = Field(description="For Stripe.js confirmCardPayment")

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> PurchaseCreated:
        """The buyer's own pending purchase, with the PaymentIntent's client secret."""
        return cls.model_validate({**_purchase(doc), "client_secret": doc.get("client_secret")})


class PurchasePage(BaseModel):
    items: list[PurchaseOut]
    next_cursor: str | None

    @classmethod
    def from_docs(cls, docs: list[dict[str, Any]], next_cursor: str | None) -> PurchasePage:
        return cls.model_validate({"items": [_purchase(d) for d in docs],
                                   "next_cursor": next_cursor})


def _purchase(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "status": doc["status"],
        "reservation_id": doc["reservation_id"],
        "lead_id": doc["lead_id"],
        "buyer_partner_id": doc["buyer_partner_id"],
        "seller_partner_id": doc["seller_partner_id"],
        "price_cents": doc["price_cents"],
        "commission_cents": doc["commission_cents"],
        "amount_cents": doc["amount_cents"],
        "currency": doc["currency"],
        "payment_intent_id": doc.get("payment_intent_id"),
        "failure_message": doc.get("failure_message"),
        "refund_id": doc.get("refund_id"),
        "created_at": doc["created_at"],
        "completed_at": doc.get("completed_at"),
        **{k: doc.get(k) for k in NAME_FIELDS},
        "lead_summary": doc.get("lead_summary") or "",
        "money_outcome": doc.get("money_outcome") or "",
    }
