"""Money: integer cents everywhere, parsed exactly from decimal text."""

from __future__ import annotations

import polars as pl

MONEY_PATTERN = r"^\d{1,10}(\.\d{1,2})?$"
#: The largest amount any input may carry ($100 million): far past any lead's price,
#: well inside MongoDB's 64-bit integers.
MAX_CENTS = 10_000_000_000


def cents_expr(column: str, max_decimals: int = 2) -> pl.Expr:
    """Decimal text ("1,234.5", "$99") → integer cents, exactly (no floats); text
    that is not an amount with at most two decimals → null."""
    cleaned = pl.col(column).str.replace_all(r"[\s,$€£]", "")
    valid = cleaned.str.contains(MONEY_PATTERN)
    whole = cleaned.str.extract(r"^(\d+)", 1).cast(pl.Int64)
    frac = cleaned.str.extract(r"\.(\d{1,2})$", 1).fill_null("0").str.pad_end(2, "0")
    cents = whole * 100 + frac.cast(pl.Int64)
    return pl.when(valid).then(cents).otherwise(None)


def format_cents(cents: int) -> str:
    """Cents as people read dollars (``123456`` → ``$1,234.56``): e-mails, CRM notes."""
    return f"${cents // 100:,}.{cents % 100:02d}"
