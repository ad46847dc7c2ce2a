"""What happened to a purchase's money, in words a buyer or seller reads as the
headline of the purchase (the card processor's own message, if any, is a detail
shown under it, never the headline)."""

from __future__ import annotations

from typing import Any

from pc_core.money import format_cents as money

# The refund reason of a payment that came in for a lead no longer deliverable
# (pc_core/marketplace/fulfilment.py).
UNAVAILABLE_REASON = "lead no longer available"


def money_outcome(doc: dict[str, Any]) -> str:
    """One sentence for the purchase ``doc`` as it is now."""
    amount = int(doc["amount_cents"])
    status = doc["status"]
    if status == "pending":
        return f"Waiting for the card payment of {money(amount)}: nothing has been charged yet."
    if status == "failed":
        return ("The card payment did not go through: nothing was charged. The buyer can try "
                "again while the reservation lasts.")
    if status == "completed":
        return (f"Paid {money(amount)}: {money(int(doc['price_cents']))} to the seller and "
                f"{money(int(doc['commission_cents']))} commission.")
    refunded = int(doc.get("refund_amount_cents") or amount)
    whole = "in full" if refunded >= amount else f"of {money(amount)}"
    if doc.get("refund_reason") == UNAVAILABLE_REASON:
        return (f"Refunded {money(refunded)} {whole}: the payment arrived after the lead was "
                "no longer available, so the card was not left charged.")
    return f"Refunded {money(refunded)} {whole} after the sale."
