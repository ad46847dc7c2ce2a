"""Stripe stand-in: the slice of Stripe's v1 API the platform uses.

``router`` is mounted by :mod:`pc_sandbox.app` at ``/stripe``; point the SDK at
``http://<host>/stripe`` with ``base_addresses={"api": ...}``.
"""

from __future__ import annotations

from fastapi import APIRouter

from . import (
    admin,
    browser,
    charges,
    connect,
    customers,
    events_api,
    fallback,
    invoice_items,
    invoices,
    payment_intents,
    refunds,
    transfers,
)

router = APIRouter()
for _module in (
    payment_intents,
    customers,
    charges,
    refunds,
    invoice_items,
    invoices,
    events_api,
    connect,
    transfers,
    admin,
    browser,  # CORS preflights of the browser routes, before the fallback
    fallback,  # last: catches the rest of /v1
):
    router.include_router(_module.router)
# Not Stripe's API (no key): the hosted onboarding page and the sandbox's own switches.
router.include_router(connect.pages)
router.include_router(transfers.admin)

__all__ = ["router"]
