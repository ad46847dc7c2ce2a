"""Where the Parquet warehouse lives, and the one edit made to it outside Dagster:
removing an erased contact's rows (pc_core/governance/erasure.py).

``PC_WAREHOUSE_URL`` picks the place: a local folder (default ``.pc/warehouse``) or an
object-store URL (``s3://...``); files are ``{base}/{asset}/{partition}.parquet``
(dagster-polars' layout, pc_pipelines/analytics/warehouse.py). fsspec opens either.
Rows are matched by lead id (``lead_id``, or ``id`` in the listings table) and, in any
text column, by the e-mail itself, so a table added later is covered too.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import fsspec
import polars as pl

WAREHOUSE_ENV = "PC_WAREHOUSE_URL"
LEAD_ID_COLUMNS = ("lead_id", "id")


def warehouse_url() -> str:
    """``PC_WAREHOUSE_URL``, else ``.pc/warehouse`` beside the data of ``pc run``."""
    url = os.environ.get(WAREHOUSE_ENV, "").strip()
    if url:
        return url
    data_dir = os.environ.get("PC_DATA_DIR", ".pc")
    return str(Path(data_dir).resolve() / "warehouse")


def _files(base: str, partition: str | None) -> Iterator[tuple[fsspec.AbstractFileSystem, str]]:
    """Every Parquet file, or only one partner's (its partition of each table)."""
    fs, root = fsspec.core.url_to_fs(base)
    if not fs.exists(root):
        return
    for path in sorted(fs.glob(root.rstrip("/") + "/**/*.parquet")):
        if partition is None or path.rsplit("/", 1)[-1] == f"{partition}.parquet":
            yield fs, path


def _matches(frame: pl.DataFrame, lead_ids: set[str], email: str) -> pl.Expr | None:
    parts = [pl.col(col).is_in(sorted(lead_ids)) for col in LEAD_ID_COLUMNS
             if col in frame.columns and frame.schema[col] == pl.Utf8 and lead_ids]
    parts += [pl.col(col).str.to_lowercase().str.contains(email, literal=True)
              for col, dtype in frame.schema.items() if dtype == pl.Utf8]
    if not parts:
        return None
    return pl.any_horizontal(parts).fill_null(False)


def _read(fs: fsspec.AbstractFileSystem, path: str) -> pl.DataFrame:
    with fs.open(path, "rb") as f:
        return pl.read_parquet(io.BytesIO(f.read()))


def traces(base: str, lead_ids: set[str], email: str,
           partition: str | None = None) -> dict[str, int]:
    """Rows naming the contact, per file (``asset/partition.parquet``); empty: none."""
    found: dict[str, int] = {}
    for fs, path in _files(base, partition):
        frame = _read(fs, path)
        match = _matches(frame, lead_ids, email)
        if match is not None and (n := frame.filter(match).height):
            found[path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1]] = n
    return found


def remove_rows(base: str, lead_ids: set[str], email: str,
                partition: str | None = None) -> int:
    """Rewrite each file without the contact's rows; returns how many rows went."""
    removed = 0
    for fs, path in _files(base, partition):
        frame = _read(fs, path)
        match = _matches(frame, lead_ids, email)
        if match is None:
            continue
        kept = frame.filter(~match)
        if kept.height == frame.height:
            continue
        buffer = io.BytesIO()
        kept.write_parquet(buffer)
        with fs.open(path, "wb") as f:
            f.write(buffer.getvalue())
        removed += frame.height - kept.height
    return removed
