"""Events + leads + stage mapping → ``lead_stage_history``: every transition of every
lead of one partner, in order, one row each (pure polars).

Rules, in order:

1. A HubSpot-sourced stage event takes its canonical stage from the *current* stage
   mapping when that maps its HubSpot stage (a remapped stage rewrites history as an
   analyst expects); an unmapped HubSpot stage leaves the canonical stage unchanged.
2. A lead whose history does not start at its creation gets an initial row at its
   creation time: the first event's ``from_value``, or its current value when it has
   no event of that kind (leads imported or seeded before events were recorded).
3. Consecutive rows with the same value are one state (a platform edit that HubSpot
   later echoes, a re-read): only the first is kept; ``from_value`` is then the
   previous row's value, so the table is a clean chain per lead and kind.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pc_core.journal.stage_events import HUBSPOT_PULL, HUBSPOT_SOURCES, PLATFORM

EVENT_SCHEMA: dict[str, Any] = {
    "lead_id": pl.Utf8, "kind": pl.Utf8, "from_value": pl.Utf8, "to_value": pl.Utf8,
    "at_ms": pl.Int64, "source": pl.Utf8, "hubspot_pipeline_id": pl.Utf8,
    "hubspot_stage_id": pl.Utf8, "exact": pl.Boolean,
}
LEAD_SCHEMA: dict[str, Any] = {
    "lead_id": pl.Utf8, "created_ms": pl.Int64, "stage": pl.Utf8, "status": pl.Utf8,
    "hubspot": pl.Boolean,
}
MAPPING_SCHEMA: dict[str, Any] = {
    "hubspot_pipeline_id": pl.Utf8, "hubspot_stage_id": pl.Utf8, "mapped": pl.Utf8,
}
HISTORY_COLUMNS = ("partner_id", "lead_id", "kind", "seq", "at", "at_ms", "left_ms",
                   "from_value", "to_value", "source", "exact", "hubspot_pipeline_id",
                   "hubspot_stage_id")


def events_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Event documents (or dicts shaped like them) → a typed frame."""
    return pl.DataFrame([{k: r.get(k) for k in EVENT_SCHEMA} for r in rows],
                        schema=EVENT_SCHEMA, orient="row") if rows else \
        pl.DataFrame(schema=EVENT_SCHEMA)


def mapping_frame(mapping: dict[tuple[str, str], str | None]) -> pl.DataFrame:
    rows = [{"hubspot_pipeline_id": p, "hubspot_stage_id": s, "mapped": v}
            for (p, s), v in mapping.items() if v is not None]
    return pl.DataFrame(rows, schema=MAPPING_SCHEMA) if rows else \
        pl.DataFrame(schema=MAPPING_SCHEMA)


def group_marks(*keys: str) -> tuple[pl.Expr, pl.Expr]:
    """On rows sorted by ``keys``: "same group as the previous row", and each row's
    index within its group (window functions over 100,000s of groups are the slow
    part of polars here; comparing with the previous row is not)."""
    same = pl.lit(True)
    for key in keys:
        same = same & (pl.col(key) == pl.col(key).shift(1)).fill_null(False)
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    start = pl.when(~same).then(row).forward_fill()
    return same, (row - start).cast(pl.Int32)


def build_history(partner_id: str, events: pl.DataFrame, leads: pl.DataFrame,
                  mapping: pl.DataFrame) -> pl.DataFrame:
    """The partner's ``lead_stage_history`` (columns ``HISTORY_COLUMNS``), rows grouped
    by lead and kind, in time order within each (``seq`` 0, 1, ...); ``left_ms`` is
    when the lead left the value (``None``: it still has it)."""
    keys = leads.select("lead_id").with_row_index("lk")
    ev = events.select(list(EVENT_SCHEMA)).cast(EVENT_SCHEMA)
    ev = ev.join(keys, on="lead_id", how="inner")  # deleted leads out; an integer key
    remap = (pl.col("kind") == "stage") & pl.col("source").is_in(list(HUBSPOT_SOURCES)) \
        & pl.col("hubspot_stage_id").is_not_null()
    hub = ev.filter(remap).join(mapping, on=["hubspot_pipeline_id", "hubspot_stage_id"],
                                how="left")
    hub = hub.with_columns(pl.coalesce("mapped", "to_value").alias("to_value")).drop("mapped")
    ev = pl.concat([ev.filter(~remap), hub]).filter(pl.col("to_value").is_not_null())
    ev = ev.with_columns((pl.col("kind") == "status").cast(pl.Int8).alias("k"))
    ev = ev.sort(["lk", "k", "at_ms"], maintain_order=True)
    same, _ = group_marks("lk", "k")
    firsts = ev.filter(~same).select("lk", "k", pl.col("at_ms").alias("first_ms"),
                                     pl.col("from_value").alias("first_from"))
    initial = _initial_rows(leads.join(keys, on="lead_id"), firsts)
    rows = pl.concat([ev, initial], how="diagonal_relaxed")
    rows = rows.sort(["lk", "k", "at_ms"], maintain_order=True)
    prev = pl.when(same).then(pl.col("to_value").shift(1))
    rows = rows.filter(prev.is_null() | (prev != pl.col("to_value")))
    same, seq = group_marks("lk", "k")
    following = pl.when(same.shift(-1).fill_null(False)).then(pl.col("at_ms").shift(-1))
    return rows.with_columns(
        pl.lit(partner_id).alias("partner_id"),
        pl.when(same).then(pl.col("to_value").shift(1)).alias("from_value"),
        seq.alias("seq"),
        following.alias("left_ms"),
        pl.from_epoch("at_ms", time_unit="ms").dt.replace_time_zone("UTC").alias("at"),
        pl.col("exact").fill_null(False),
    ).select(HISTORY_COLUMNS)


def _initial_rows(leads: pl.DataFrame, firsts: pl.DataFrame) -> pl.DataFrame:
    """Rule 2: a row at creation for each lead and kind whose history starts later."""
    out = []
    for k, kind in enumerate(("stage", "status")):
        joined = leads.join(firsts.filter(pl.col("k") == k), on="lk", how="left")
        value = pl.when(pl.col("first_ms").is_null()).then(pl.col(kind)) \
            .when(pl.col("first_ms") > pl.col("created_ms")).then(pl.col("first_from"))
        out.append(joined.select(
            "lead_id", "lk",
            pl.lit(kind).alias("kind"),
            pl.lit(k, pl.Int8).alias("k"),
            value.alias("to_value"),
            pl.min_horizontal("created_ms", pl.col("first_ms").fill_null(pl.col("created_ms")))
            .alias("at_ms"),
            pl.when(pl.col("hubspot")).then(pl.lit(HUBSPOT_PULL)).otherwise(pl.lit(PLATFORM))
            .alias("source"),
        ).filter(pl.col("to_value").is_not_null()))
    return pl.concat(out)
