"""Price guidance: what similar leads sold for, and how fast, per market segment.

A **segment** is industry × company size × region (the region is the last
comma-separated part of a lead's location, "London, UK" → "UK"). Broader segments
stand in when a segment has too few sales: level 0 is (industry, size, region),
level 1 (industry, size), level 2 (industry), level 3 the whole market. Guidance
for a lead is the narrowest segment with at least ``min_sales`` sales; when even
the whole market has fewer, it is given with ``enough_sales: false``.

Per segment, from every lead ever listed (``listing_outcomes``):

- ``sell_through_{7,14,30}``: of the listings whose outcome at N days is known
  (listed at least N days ago, or sold within N days), the share sold within N days;
- ``median_days_to_sell``: the median of (sold at − first listed at), in days;
- ``sold_p25/median/p75``: the sale prices' quartiles (linear interpolation);
  ``unsold_p25/median/p75``: the asking prices of leads not sold;
- ``price_points``: (asking price, sold within 7 days) of the listings whose 7-day
  outcome is known, for "at your price, K % sold within 7 days" (the share among
  those priced at or below yours), at most ``MAX_POINTS`` of the newest.

The ``price_guidance`` Dagster asset (pc_pipelines/price_guidance) builds the table
daily from listings and purchases and stores it in ``price_guidance`` for the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from pymongo import ReplaceOne
from pymongo.database import Database

from pc_core import collections as c
from pc_core.stages import LeadStatus
from pc_core.timeutil import ensure_utc, utcnow

Doc = dict[str, Any]
MIN_SALES = 5
MAX_POINTS = 500
WINDOWS = (7, 14, 30)
DAY_S = 86_400.0
LEVELS: tuple[tuple[str, ...], ...] = (
    ("industry", "company_size", "region"), ("industry", "company_size"), ("industry",), ())
DIMS = ("industry", "company_size", "region")
EVER_LISTED = (LeadStatus.LISTED.value, LeadStatus.RESERVED.value, LeadStatus.SOLD.value)
OUTCOME_SCHEMA = {"lead_id": pl.Utf8, "industry": pl.Utf8, "company_size": pl.Utf8,
                  "region": pl.Utf8, "listed_at": pl.Datetime("us", "UTC"),
                  "price_cents": pl.Int64, "sold_at": pl.Datetime("us", "UTC"),
                  "sold_price_cents": pl.Int64}


def region_of(location: str | None) -> str | None:
    if not location or not location.strip():
        return None
    return location.rsplit(",", 1)[-1].strip() or None


def outcomes_frame(rows: list[Doc]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=OUTCOME_SCHEMA, orient="row") if rows else \
        pl.DataFrame(schema=OUTCOME_SCHEMA)


def listing_outcomes(db: Database, default_price_cents: int) -> pl.DataFrame:
    """Every lead ever listed: its segment, when it was first listed (its first
    ``listed`` status event, else its creation), its asking price, and its sale."""
    leads = list(db[c.LEADS].find(
        {"status": {"$in": list(EVER_LISTED)}},
        {"industry": 1, "company_size": 1, "location": 1, "price_cents": 1, "created_at": 1,
         "sold_at": 1, "sold_price_cents": 1, "status": 1}))
    first_listed: dict[str, datetime] = {}
    ids = [d["_id"] for d in leads]
    for start in range(0, len(ids), 500):
        for e in db[c.STAGE_EVENTS].find({"lead_id": {"$in": ids[start:start + 500]}},
                                          {"lead_id": 1, "kind": 1, "to_value": 1, "at": 1}):
            if e.get("kind") == "status" and e.get("to_value") == LeadStatus.LISTED.value:
                at = ensure_utc(e["at"])
                if e["lead_id"] not in first_listed or at < first_listed[e["lead_id"]]:
                    first_listed[e["lead_id"]] = at
    rows = []
    for d in leads:
        sold = d.get("status") == LeadStatus.SOLD.value and d.get("sold_at") is not None
        rows.append({
            "lead_id": d["_id"], "industry": d.get("industry"),
            "company_size": d.get("company_size"), "region": region_of(d.get("location")),
            "listed_at": first_listed.get(d["_id"]) or ensure_utc(d["created_at"]),
            "price_cents": int(d["price_cents"]) if d.get("price_cents") is not None
            else default_price_cents,
            "sold_at": ensure_utc(d["sold_at"]) if sold else None,
            "sold_price_cents": int(d["sold_price_cents"]) if sold and d.get(
                "sold_price_cents") is not None else None,
        })
    return outcomes_frame(rows)


def _with_outcomes(frame: pl.DataFrame, now: datetime) -> pl.DataFrame:
    age = (pl.lit(now) - pl.col("listed_at")).dt.total_seconds() / DAY_S
    took = (pl.col("sold_at") - pl.col("listed_at")).dt.total_seconds() / DAY_S
    cols = [took.alias("days_to_sell")]
    for n in WINDOWS:
        within = pl.col("sold_at").is_not_null() & (took <= n)
        cols += [within.alias(f"sold_{n}"), (within | (age >= n)).alias(f"known_{n}")]
    return frame.with_columns(cols)


def _quartiles(col: str, prefix: str, where: pl.Expr) -> list[pl.Expr]:
    return [pl.col(col).filter(where).quantile(q, interpolation="linear")
            .alias(f"{prefix}_{name}")
            for q, name in ((0.25, "p25"), (0.5, "median"), (0.75, "p75"))]


def guidance_table(outcomes: pl.DataFrame, now: datetime | None = None) -> pl.DataFrame:
    """One row per segment at every level (``level`` 0–3; broader levels have the
    dimensions they drop as null)."""
    now = ensure_utc(now or utcnow())
    # Newest first, so each segment's price points are its newest listings.
    frame = _with_outcomes(outcomes, now).sort("listed_at", descending=True)
    sold = pl.col("sold_at").is_not_null()
    aggs = [
        pl.len().alias("listings"),
        sold.sum().alias("sales"),
        *[(pl.col(f"sold_{n}").sum() / pl.col(f"known_{n}").sum()).alias(f"sell_through_{n}")
          for n in WINDOWS],
        pl.col("days_to_sell").filter(sold).median().alias("median_days_to_sell"),
        *_quartiles("sold_price_cents", "sold", sold),
        *_quartiles("price_cents", "unsold", ~sold),
        pl.struct(price="price_cents", sold="sold_7").filter(pl.col("known_7"))
        .head(MAX_POINTS).alias("price_points"),
    ]
    parts = []
    for level, keys in enumerate(LEVELS):
        by = list(keys) or [pl.lit(0).alias("market")]
        grouped = frame.group_by(by, maintain_order=True).agg(aggs)
        missing = [pl.lit(None, pl.Utf8).alias(d) for d in DIMS if d not in keys]
        parts.append(grouped.with_columns(*missing, pl.lit(level).alias("level")))
    columns = ["level", *DIMS, "listings", "sales", *[f"sell_through_{n}" for n in WINDOWS],
               "median_days_to_sell", "sold_p25", "sold_median", "sold_p75", "unsold_p25",
               "unsold_median", "unsold_p75", "price_points"]
    return pl.concat([p.select(columns) for p in parts], how="vertical_relaxed").sort(
        ["level", *DIMS], nulls_last=True)


def segment_key(level: int, industry: str | None, size: str | None, region: str | None) -> str:
    return "|".join([str(level), industry or "", size or "", region or ""])


def _key_of(industry: str | None, size: str | None, region: str | None,
            level: int) -> str:
    keep = LEVELS[level]
    return segment_key(level, industry if "industry" in keep else None,
                       size if "company_size" in keep else None,
                       region if "region" in keep else None)


def store(db: Database, table: pl.DataFrame, computed_at: datetime) -> int:
    """Replace the stored guidance with ``table`` (what the API reads)."""
    ops = []
    keys = []
    for row in table.iter_rows(named=True):
        key = segment_key(row["level"], row["industry"], row["company_size"], row["region"])
        keys.append(key)
        ops.append(ReplaceOne({"_id": key}, {**row, "_id": key, "computed_at": computed_at},
                              upsert=True))
    for start in range(0, len(ops), 500):
        db[c.PRICE_GUIDANCE].bulk_write(ops[start:start + 500], ordered=False)
    stale = [d["_id"] for d in db[c.PRICE_GUIDANCE].find({}, {"_id": 1})
             if d["_id"] not in set(keys)]
    if stale:
        db[c.PRICE_GUIDANCE].delete_many({"_id": {"$in": stale}})
    return len(ops)


@dataclass(frozen=True)
class Guidance:
    segment: Doc
    level: int
    enough_sales: bool
    at_price_sold_7: float | None


def at_price_share(points: list[Doc], price_cents: int | None) -> float | None:
    """Of the listings priced at or below ``price_cents`` whose 7-day outcome is
    known, the share sold within 7 days."""
    if price_cents is None:
        return None
    cheaper = [p for p in points or [] if p["price"] <= price_cents]
    return sum(1 for p in cheaper if p["sold"]) / len(cheaper) if cheaper else None


def lookup(db: Database, industry: str | None, size: str | None, location: str | None,
           price_cents: int | None = None, min_sales: int = MIN_SALES) -> Guidance | None:
    """The narrowest segment with ``min_sales`` sales (else the whole market);
    ``None`` before the first build."""
    region = region_of(location)
    keys = [_key_of(industry, size, region, level) for level in range(len(LEVELS))]
    found = {d["_id"]: d for d in db[c.PRICE_GUIDANCE].find({"_id": {"$in": keys}})}
    for level, key in enumerate(keys):
        doc = found.get(key)
        if doc is not None and doc["sales"] >= min_sales:
            return Guidance(doc, level, True, at_price_share(doc["price_points"], price_cents))
    market = found.get(keys[-1])
    if market is None:
        return None
    return Guidance(market, len(LEVELS) - 1, False,
                    at_price_share(market["price_points"], price_cents))
