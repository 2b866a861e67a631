"""Ids for tables that have no usable key: a seeded permutation of 1..n, so an id says nothing about the target."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import polars as pl

from curation.spec import CompetitionSpec


def shuffled_ids(rows: int, key: str) -> np.ndarray:
    """A permutation of 1..rows fixed by `key` (the competition slug), the same on every machine."""
    seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    return np.random.default_rng(seed).permutation(rows).astype(np.int64) + 1


def with_row_ids(table: pl.DataFrame, spec: CompetitionSpec) -> pl.DataFrame:
    """`table` with `spec.id_column` first, holding shuffled ids, rows sorted by id.

    Package tables are often sorted by class or by time; position-based ids (or row order) would leak the
    target, which the leak audit rejects. Sorting by the shuffled id removes the order as well.
    """
    if spec.id_column in table.columns:
        raise ValueError(f"{spec.slug}: the table already has a column {spec.id_column!r}; cannot add ids")
    ids = pl.Series(spec.id_column, shuffled_ids(table.height, spec.slug))
    return table.with_columns(ids).select(spec.id_column, pl.exclude(spec.id_column)).sort(spec.id_column)


def labeled_rows(table: pl.DataFrame, spec: CompetitionSpec) -> pl.DataFrame:
    """Rows whose every target is present: a row without a label can be neither trained on nor graded."""
    missing = [name for name in spec.target_columns if name not in table.columns]
    if missing:
        raise ValueError(f"{spec.slug}: target column(s) {missing} not in the table; columns: {table.columns}")
    return table.filter(pl.all_horizontal(pl.col(name).is_not_null() for name in spec.target_columns))


def add_row_ids(files_dir: Path, spec: CompetitionSpec) -> pl.DataFrame:
    """The raw labeled file without unlabeled rows, with a shuffled `id_column`."""
    table = pl.read_parquet(files_dir / spec.labeled_file)
    return with_row_ids(labeled_rows(table, spec), spec)
