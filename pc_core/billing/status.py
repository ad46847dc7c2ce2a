"""Invoice statuses. ``draft`` is rebuilt freely; from ``finalizing`` on, an
invoice's lines are frozen (it is being, or has been, sent to Stripe), so a
rebuild leaves it alone and corrections go to a later open month."""

DRAFT, FINALIZING, FINALIZED, PAID = "draft", "finalizing", "finalized", "paid"
LOCKED = frozenset({FINALIZING, FINALIZED, PAID})


def invoice_id(partner_id: str, month: str) -> str:
    """The natural key: one invoice per partner and month, whatever rebuilds it."""
    return f"{partner_id}:{month}"
