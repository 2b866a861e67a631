"""Ids for tables that have no usable key: a secret permutation of 1..n, so an id says nothing about the target."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from curation.secret import keyed_digest
from curation.spec import CompetitionSpec


def shuffled_ids(rows: int, salt: bytes, key: str) -> np.ndarray:
    """A permutation of 1..rows: row i gets the rank of its draw keyed by the secret salt and `key` (the slug).

    Package tables are public and often sorted by class; a permutation anyone could recompute (say, seeded
    by the slug) would map each id back to its row of the package table and so to its label. With the salt,
    the same salt gives the same ids on every machine and nobody without it can invert them.
    """
    draws = np.fromiter(
        (int.from_bytes(keyed_digest(salt, "row-ids", f"{key}\x1f{i}".encode()), "little") for i in range(rows)),
        dtype=np.uint64,
        count=rows,
    )
    ids = np.empty(rows, dtype=np.int64)
    ids[np.argsort(draws, kind="stable")] = np.arange(1, rows + 1, dtype=np.int64)
    return ids


def with_row_ids(table: pl.DataFrame, spec: CompetitionSpec, salt: bytes) -> pl.DataFrame:
    """`table` with `spec.id_column` first, holding secretly shuffled ids, rows sorted by id.

    Package tables are often sorted by class or by time; position-based ids (or row order) would leak the
    target, which the leak audit rejects. Sorting by the shuffled id removes the order as well.
    """
    if spec.id_column in table.columns:
        raise ValueError(f"{spec.slug}: the table already has a column {spec.id_column!r}; cannot add ids")
    ids = pl.Series(spec.id_column, shuffled_ids(table.height, salt, spec.slug))
    return table.with_columns(ids).select(spec.id_column, pl.exclude(spec.id_column)).sort(spec.id_column)


def labeled_rows(table: pl.DataFrame, spec: CompetitionSpec) -> pl.DataFrame:
    """Rows whose every target is present: a row without a label can be neither trained on nor graded."""
    missing = [name for name in spec.target_columns if name not in table.columns]
    if missing:
        raise ValueError(f"{spec.slug}: target column(s) {missing} not in the table; columns: {table.columns}")
    return table.filter(pl.all_horizontal(pl.col(name).is_not_null() for name in spec.target_columns))


def add_row_ids(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """The raw labeled file without unlabeled rows, with a secretly shuffled `id_column`."""
    table = pl.read_parquet(files_dir / spec.labeled_file)
    return with_row_ids(labeled_rows(table, spec), spec, salt)


def add_row_ids_to_distinct_rows(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """`add_row_ids` keeping one copy of rows that repeat exactly, labels included (`drop_columns` aside).

    A repeat would land on both sides of the split as often as not, and its training copy would be the
    answer to its test copy; how many land so depends on the (secret) split, so a leak check would pass
    on one machine and fail on another.
    """
    table = labeled_rows(pl.read_parquet(files_dir / spec.labeled_file), spec)
    content = [c for c in table.columns if c not in spec.drop_columns]  # e.g. row numbers differ between copies
    return with_row_ids(table.unique(subset=content, keep="first", maintain_order=True), spec, salt)
