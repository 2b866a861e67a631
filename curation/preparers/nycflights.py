"""Daily scheduled departures per New York airport in 2013, aggregated from nycflights13's flight table."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.row_ids import with_row_ids
from curation.spec import CompetitionSpec


def daily_departures(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """One row per (origin, date): the number of scheduled flights, cancelled ones included, as `flights`."""
    if spec.target_columns != ["flights"]:
        raise ValueError(f"{spec.slug}: daily_departures produces the target 'flights', spec has {spec.target_columns}")
    raw = pl.read_parquet(files_dir / spec.labeled_file)
    daily = (
        raw.with_columns(pl.date(pl.col("year"), pl.col("month"), pl.col("day")).alias("date"))
        .group_by("origin", "date")
        .agg(pl.len().cast(pl.Int64).alias("flights"))
        .sort("date", "origin")
    )
    return with_row_ids(daily.select("date", "origin", "flights"), spec, salt)
