"""Materialisation metadata an analyst reads in the Dagster UI: row counts, the
partition's key figures and a small preview table (Markdown)."""

from __future__ import annotations

from typing import Any

import polars as pl
from dagster import MetadataValue

PREVIEW_ROWS = 10


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")[:60]


def preview(frame: pl.DataFrame, columns: list[str] | None = None,
            rows: int = PREVIEW_ROWS) -> MetadataValue:
    """The first ``rows`` rows of ``frame`` (``columns`` of it) as a Markdown table."""
    shown = frame.select(columns) if columns else frame
    if shown.is_empty():
        return MetadataValue.md("_no rows_")
    head = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "---|" * len(shown.columns)
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in shown.head(rows).rows()]
    more = [f"\n_{shown.height - rows:,} more rows_"] if shown.height > rows else []
    return MetadataValue.md("\n".join([head, rule, *body, *more]))


def counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    """Rows per value of ``column`` (e.g. events per source), for the key figures."""
    if frame.is_empty():
        return {}
    grouped = frame.group_by(column).len().sort(column, nulls_last=True)
    return {str(k): int(n) for k, n in grouped.iter_rows()}
