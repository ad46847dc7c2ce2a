"""The Stripe events the marketplace acts on, registered with the payments layer
when this module is imported: a purchase's PaymentIntent succeeded or failed
(``fulfilment`` decides what that means for the purchase, the lead and the
reservation), and a seller's connected account changed (``payouts``)."""

from __future__ import annotations

from pydantic import Field, StrictBool, StrictStr

from pc_core.marketplace import fulfilment, payouts
from pc_core.payments.events import Int64, Shape, register

SUCCEEDED, FAILED = "payment_intent.succeeded", "payment_intent.payment_failed"
ACCOUNT_UPDATED = "account.updated"
#: The Stripe event types handled here.
EVENTS = (SUCCEEDED, FAILED, ACCOUNT_UPDATED)


class PaymentIntentShape(Shape):
    id: StrictStr | None = None
    amount: Int64 | None = None
    amount_received: Int64 | None = None
    metadata: dict[str, StrictStr] | None = None


class AccountShape(Shape):
    id: StrictStr = Field(min_length=1, max_length=255)
    charges_enabled: StrictBool | None = None
    payouts_enabled: StrictBool | None = None
    details_submitted: StrictBool | None = None


register(SUCCEEDED, fulfilment.payment_succeeded, shape=PaymentIntentShape)
register(FAILED, fulfilment.payment_failed, shape=PaymentIntentShape)
register(ACCOUNT_UPDATED, payouts.account_updated, shape=AccountShape)
