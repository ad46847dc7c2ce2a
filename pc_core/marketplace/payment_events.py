"""The Stripe events the marketplace acts on, registered with the payments layer
when this module is imported: a purchase's PaymentIntent succeeded or failed
(``fulfilment`` decides what that means for the purchase, the lead and the
reservation)."""

from __future__ import annotations

from pydantic import StrictStr

from pc_core.marketplace import fulfilment
from pc_core.payments.events import Int64, Shape, register

SUCCEEDED, FAILED = "payment_intent.succeeded", "payment_intent.payment_failed"
#: The Stripe event types handled here.
EVENTS = (SUCCEEDED, FAILED)


class PaymentIntentShape(Shape):
    id: StrictStr | None = None
    amount: Int64 | None = None
    amount_received: Int64 | None = None
    metadata: dict[str, StrictStr] | None = None


register(SUCCEEDED, fulfilment.payment_succeeded, shape=PaymentIntentShape)
register(FAILED, fulfilment.payment_failed, shape=PaymentIntentShape)
