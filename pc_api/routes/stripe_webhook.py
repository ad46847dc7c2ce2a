"""``POST /v1/webhooks/stripe``: Stripe's events (purchases' PaymentIntents, monthly
invoices, refunds made in Stripe), dispatched by ``pc_core.payments.webhooks``.

The raw body is needed byte for byte for the signature, so it is read from the
request, not parsed by FastAPI. 400 on a bad or stale signature (nothing changed);
200 once handled (also for duplicates and events we do not act on); a failure
while handling answers 500, so Stripe delivers the event again.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from pc_api.deps import AppSettings, Db
from pc_core.billing import payment_events as billing_payments
from pc_core.marketplace import payment_events as marketplace_payments
from pc_core.payments import webhooks

#: What this endpoint acts on: the marketplace's and billing's handlers, registered
#: with the payments layer when their ``payment_events`` modules are imported here.
HANDLED = (*marketplace_payments.EVENTS, *billing_payments.EVENTS)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("/stripe", responses={400: {"description": "Bad or stale signature"}})
async def stripe_webhook(request: Request, db: Db, settings: AppSettings) -> dict:
    payload = await request.body()
    signature = request.headers.get("stripe-signature")
    return await run_in_threadpool(webhooks.handle, db, settings, payload, signature)
