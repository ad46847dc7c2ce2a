"""A partner's funnel from its ``lead_stage_history`` and purchases (pure polars).

Figures of a *period* (a day for the Dagster asset, any ``[from, to)`` for the API):

- ``entered_<stage>``: leads that entered the stage in the period (distinct leads);
- ``conversion_<stage>``: of the leads that entered the stage in the period, the
  share that have since reached a later stage of the funnel
  (new → contacted → meeting_scheduled → meeting_held → proposal → negotiation →
  won; ``lost`` and ``non_fit`` are exits, so they have no conversion);
- ``median_hours_<stage>``: median time spent in the stage, over the stays that
  ended in the period;
- ``won``, ``lost``, ``win_rate`` = won / (won + lost), of the leads that closed in
  the period (``None`` when none did);
- marketplace: ``listed``, ``reserved``, ``sold`` (leads entering each status in the
  period), ``listed_to_reserved`` / ``reserved_to_sold`` (the same cohort rule),
  ``median_days_to_sell`` (first listing → sale, for leads sold in the period);
- money, from purchases completed in the period: ``revenue_cents`` (prices of the
  partner's sales), ``commission_paid_cents`` (commission on the partner's
  purchases: the buyer pays it on top of the price), ``commission_earned_cents``
  (the platform's commission on every sale: non-zero for the operator only, which
  runs the platform; other partners earn the price, i.e. revenue).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from pc_core.analytics.history import group_marks
from pc_core.stages import LeadStatus, Stage

FUNNEL = (Stage.NEW, Stage.CONTACTED, Stage.MEETING_SCHEDULED, Stage.MEETING_HELD,
          Stage.PROPOSAL, Stage.NEGOTIATION, Stage.WON)
STAGES = tuple(s.value for s in Stage)
CONVERTING = tuple(s.value for s in FUNNEL[:-1])
MARKET = (LeadStatus.LISTED.value, LeadStatus.RESERVED.value, LeadStatus.SOLD.value)
PURCHASE_SCHEMA: dict[str, Any] = {
    "purchase_id": pl.Utf8, "lead_id": pl.Utf8, "seller_partner_id": pl.Utf8,
    "buyer_partner_id": pl.Utf8, "price_cents": pl.Int64, "commission_cents": pl.Int64,
    "completed_ms": pl.Int64,
}
DAY_MS = 86_400_000
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in epoch milliseconds."""

    start_ms: int
    end_ms: int

    @classmethod
    def days(cls, first: date, last: date) -> Window:
        """Whole UTC days ``first`` … ``last`` (inclusive)."""
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
        return cls(int(start.timestamp() * 1000), int(end.timestamp() * 1000))


def purchases_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame([{k: r.get(k) for k in PURCHASE_SCHEMA} for r in rows],
                        schema=PURCHASE_SCHEMA, orient="row") if rows else \
        pl.DataFrame(schema=PURCHASE_SCHEMA)


def _bucket(column: str, window: Window | None) -> pl.Expr:
    """The period of a time: its UTC day (``window=None``) or 0 inside the window."""
    t = pl.col(column)
    if window is None:
        return (t // DAY_MS).cast(pl.Int64)
    return pl.when((t >= window.start_ms) & (t < window.end_ms)).then(pl.lit(0, pl.Int64))


def _ordered(history: pl.DataFrame) -> pl.DataFrame:
    """The history grouped by lead and kind in time order, as ``build_history`` (and
    its Parquet file) keeps it; checked cheaply through ``seq``, sorted only if not."""
    _, seq = group_marks("lead_id", "kind")
    if history.is_empty() or history.select((pl.col("seq") == seq).all()).item():
        return history
    return history.sort(["lead_id", "kind", "at_ms"], maintain_order=True)


def _stays(history: pl.DataFrame, kind: str, order: tuple[str, ...]) -> pl.DataFrame:
    """One row per stay in a stage (or status): entry, exit, and the highest rank the
    lead reached *after* entering it (for conversions). Computed on the grouped rows
    by comparing neighbours, without window functions."""
    rank = {v: i for i, v in enumerate(order)}
    rows = history.filter(pl.col("kind") == kind).select("lead_id", "to_value", "at_ms",
                                                         "left_ms")
    same, _ = group_marks("lead_id")
    ranked = pl.col("to_value").replace_strict(rank, default=-1, return_dtype=pl.Int64)
    rows = rows.with_columns(ranked.alias("rank"), (~same).cum_sum().cast(pl.Int64).alias("gid"))
    # Suffix maximum of the rank within each lead: keyed so that, read backwards, each
    # lead's keys exceed all keys of the leads read before it.
    base = -pl.col("gid") * 16
    suffix = (base + pl.col("rank") + 1).reverse().cum_max().reverse()
    later = pl.when(same.shift(-1).fill_null(False)).then(suffix.shift(-1) - base - 1)
    return rows.with_columns(later.fill_null(-1).alias("later_rank"),
                             pl.col("left_ms").alias("exit_ms"))


def _entered(stays: pl.DataFrame, values: tuple[str, ...], window: Window | None,
             prefix: str, conversions: tuple[str, ...], conv_prefix: str) -> pl.DataFrame:
    rows = stays.with_columns(_bucket("at_ms", window).alias("bucket")) \
        .filter(pl.col("bucket").is_not_null() & pl.col("to_value").is_in(list(values)))
    per_lead = rows.group_by(["bucket", "to_value", "lead_id"]).agg(
        (pl.col("later_rank") > pl.col("rank")).any().alias("converted"))
    counts = per_lead.group_by(["bucket", "to_value"]).agg(
        pl.len().alias("n"), pl.col("converted").sum().alias("c"))
    entered = counts.pivot(on="to_value", index="bucket", values="n")
    entered = entered.rename({v: f"{prefix}{v}" for v in values if v in entered.columns})
    rates = counts.filter(pl.col("to_value").is_in(list(conversions))).with_columns(
        (pl.col("c") / pl.col("n")).alias("rate"))
    conv = rates.pivot(on="to_value", index="bucket", values="rate")
    conv = conv.rename({v: f"{conv_prefix}{v}" for v in conversions if v in conv.columns})
    return entered.join(conv, on="bucket", how="full", coalesce=True)


def _median_hours(stays: pl.DataFrame, window: Window | None) -> pl.DataFrame:
    rows = stays.filter(pl.col("exit_ms").is_not_null()).with_columns(
        _bucket("exit_ms", window).alias("bucket"),
        ((pl.col("exit_ms") - pl.col("at_ms")) / HOUR_MS).alias("hours"),
    ).filter(pl.col("bucket").is_not_null())
    med = rows.group_by(["bucket", "to_value"]).agg(pl.col("hours").median())
    out = med.pivot(on="to_value", index="bucket", values="hours")
    return out.rename({v: f"median_hours_{v}" for v in STAGES if v in out.columns})


def _days_to_sell(status: pl.DataFrame, window: Window | None) -> pl.DataFrame:
    listed = status.filter(pl.col("to_value") == LeadStatus.LISTED.value) \
        .group_by("lead_id").agg(pl.col("at_ms").min().alias("listed_ms"))
    sold = status.filter(pl.col("to_value") == LeadStatus.SOLD.value) \
        .with_columns(_bucket("at_ms", window).alias("bucket")) \
        .filter(pl.col("bucket").is_not_null()).join(listed, on="lead_id", how="inner")
    return sold.group_by("bucket").agg(
        ((pl.col("at_ms") - pl.col("listed_ms")) / DAY_MS).median().alias("median_days_to_sell"))


def _money(purchases: pl.DataFrame, partner_id: str, is_operator: bool,
           window: Window | None) -> pl.DataFrame:
    rows = purchases.with_columns(_bucket("completed_ms", window).alias("bucket")) \
        .filter(pl.col("bucket").is_not_null())
    seller = pl.col("seller_partner_id") == partner_id
    buyer = pl.col("buyer_partner_id") == partner_id
    return rows.group_by("bucket").agg(
        pl.col("price_cents").filter(seller).sum().alias("revenue_cents"),
        pl.col("commission_cents").filter(buyer).sum().alias("commission_paid_cents"),
        (pl.col("commission_cents").sum() if is_operator else pl.lit(0, pl.Int64))
        .alias("commission_earned_cents"),
        seller.sum().cast(pl.Int64).alias("sales"),
        buyer.sum().cast(pl.Int64).alias("purchases"),
    )


COUNT_COLUMNS = (*(f"entered_{s}" for s in STAGES), *MARKET, "sales", "purchases",
                 "revenue_cents", "commission_paid_cents", "commission_earned_cents")
RATE_COLUMNS = (*(f"conversion_{s}" for s in CONVERTING), "listed_to_reserved",
                "reserved_to_sold", *(f"median_hours_{s}" for s in STAGES),
                "median_days_to_sell")


def funnel_table(history: pl.DataFrame, purchases: pl.DataFrame, *, partner_id: str,
                 is_operator: bool = False, window: Window | None = None) -> pl.DataFrame:
    """One row per period: per UTC day with activity (``window=None``, the asset's
    table, column ``day``) or one row for ``window`` (the API's)."""
    history = _ordered(history)
    stage = _stays(history, "stage", tuple(s.value for s in FUNNEL))
    status = _stays(history, "status", MARKET)
    parts = [
        _entered(stage, STAGES, window, "entered_", CONVERTING, "conversion_"),
        _median_hours(stage, window),
        _entered(status, MARKET, window, "", MARKET[:2], "to_next_").rename(
            {"to_next_listed": "listed_to_reserved", "to_next_reserved": "reserved_to_sold"},
            strict=False),
        _days_to_sell(status.select("lead_id", "to_value", "at_ms"), window),
        _money(purchases.cast(PURCHASE_SCHEMA), partner_id, is_operator, window),
    ]
    table = pl.DataFrame(schema={"bucket": pl.Int64})
    for part in parts:
        table = table.join(part.cast({"bucket": pl.Int64}), on="bucket", how="full",
                           coalesce=True)
    if window is not None and table.is_empty():
        table = pl.DataFrame({"bucket": [0]}, schema={"bucket": pl.Int64})
    for col in COUNT_COLUMNS:
        table = table.with_columns(
            (pl.col(col) if col in table.columns else pl.lit(None)).cast(pl.Int64).fill_null(0)
            .alias(col))
    for col in RATE_COLUMNS:
        if col not in table.columns:
            table = table.with_columns(pl.lit(None, pl.Float64).alias(col))
    table = table.with_columns([pl.col(col).round(4) for col in RATE_COLUMNS])
    closed = pl.col("entered_won") + pl.col("entered_lost")
    table = table.with_columns(
        pl.when(closed > 0).then(pl.col("entered_won") / closed).round(4).alias("win_rate"),
        pl.lit(partner_id).alias("partner_id"),
        (pl.col("bucket") * DAY_MS).cast(pl.Datetime("ms")).dt.date().alias("day"),
    ).sort("bucket")
    columns = ["partner_id", "day", *COUNT_COLUMNS, "win_rate", *RATE_COLUMNS]
    if window is not None:
        columns.remove("day")
    return table.select(columns)


def funnel_summary(row: dict[str, Any]) -> dict[str, Any]:
    """One period's row → the API's shape."""
    stages = []
    for s in STAGES:
        stages.append({
            "stage": s,
            "entered": row[f"entered_{s}"],
            "conversion_to_next": row.get(f"conversion_{s}"),
            "median_hours_in_stage": row[f"median_hours_{s}"],
        })
    return {
        "stages": stages,
        "won": row["entered_won"], "lost": row["entered_lost"], "win_rate": row["win_rate"],
        "marketplace": {
            "listed": row["listed"], "reserved": row["reserved"], "sold": row["sold"],
            "listed_to_reserved": row["listed_to_reserved"],
            "reserved_to_sold": row["reserved_to_sold"],
            "median_days_to_sell": row["median_days_to_sell"],
        },
        "money": {
            "sales": row["sales"], "purchases": row["purchases"],
            "revenue_cents": row["revenue_cents"],
            "commission_paid_cents": row["commission_paid_cents"],
            "commission_earned_cents": row["commission_earned_cents"],
        },
    }
