"""The warehouse: analytics assets written as Parquet through dagster-polars'
``PolarsParquetIOManager`` (one file per partition under
``{base}/{asset}/{partition}.parquet``), so analysts query them with polars or DuckDB.

``PC_WAREHOUSE_URL`` picks the place (``pc_core/analytics/warehouse_files.py``): a
local folder (default ``.pc/warehouse``) or an object-store URL such as
``s3://bucket/partner-connector`` (install ``s3fs``; credentials come from the usual
AWS environment variables, read by fsspec).

dagster-polars 0.27.12 (the newest release, for dagster 1.13) passes ``rechunk`` and
``retries`` to ``polars.scan_parquet``, which polars 2 removed; this subclass reads
with polars 2's arguments and leaves writing, paths and partitions to the library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl
from dagster import InputContext
from dagster_polars import PolarsParquetIOManager
from dagster_polars.io_managers.parquet import _remap_fsspec_storage_options

from pc_core.analytics.warehouse_files import WAREHOUSE_ENV, warehouse_url

if TYPE_CHECKING:
    from upath import UPath

IO_MANAGER_KEY = "warehouse_io_manager"
__all__ = ["IO_MANAGER_KEY", "WAREHOUSE_ENV", "WarehouseParquetIOManager", "warehouse_io_manager",
           "warehouse_url"]


class WarehouseParquetIOManager(PolarsParquetIOManager):
    """``PolarsParquetIOManager`` reading with polars 2's ``scan_parquet`` arguments."""

    def scan_df_from_path(self, path: UPath, context: InputContext,
                          partition_key: str | None = None) -> pl.LazyFrame:
        options: Any = self.storage_options or getattr(path, "storage_options", None)
        return pl.scan_parquet(str(path), storage_options=_remap_fsspec_storage_options(options),
                               hive_partitioning=False)


def warehouse_io_manager(base_dir: str | None = None) -> WarehouseParquetIOManager:
    return WarehouseParquetIOManager(base_dir=base_dir or warehouse_url())
