"""What a listed lead costs: the seller's price, the commission, the buyer's total.

Money is integer cents. The commission is 20% of the price, rounded half-up to the
cent, computed in integers so that no float rounding can move a cent; the operator
partner pays no commission to itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pc_core.settings import Settings

COMMISSION_PERCENT = 20
CURRENCY = "usd"


def commission_cents(price_cents: int, seller_is_operator: bool) -> int:
    """20% of ``price_cents``, half-up (``(p*20 + 50) // 100``); 0 for the operator."""
    if price_cents < 0:
        raise ValueError("a price cannot be negative")
    if seller_is_operator:
        return 0
    return (price_cents * COMMISSION_PERCENT + 50) // 100


@dataclass(frozen=True, slots=True)
class Quote:
    """The three amounts a buyer sees for one lead."""

    price_cents: int
    commission_cents: int

    @property
    def buyer_total_cents(self) -> int:
        return self.price_cents + self.commission_cents


def lead_price_cents(lead: dict[str, Any], seller: dict[str, Any] | None,
                     settings: Settings) -> int:
    """The seller's price for this lead, else the seller's default, else the platform's."""
    for value in (lead.get("price_cents"), (seller or {}).get("default_lead_price_cents")):
        if value is not None:
            return int(value)
    return settings.default_lead_price_cents


def quote(lead: dict[str, Any], seller: dict[str, Any] | None, settings: Settings) -> Quote:
    price = lead_price_cents(lead, seller, settings)
    return Quote(price, commission_cents(price, bool((seller or {}).get("is_operator"))))
