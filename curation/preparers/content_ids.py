"""Ids for tables that ship without one, derived from each row's content so any row order gives the same ids."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from curation.sources import read_table
from curation.spec import CompetitionSpec

# Unit separator: cannot occur in CSV text cells, so distinct rows never join to the same key.
_SEPARATOR = "\x1f"
CHUNK_ROWS = 1_000_000


def _digests(table: pl.DataFrame) -> pl.Series:
    """blake2b (8 bytes, hex) of each row's cells joined by the separator, nulls as NUL."""
    text = table.select(
        pl.concat_str([pl.col(c).cast(pl.String).fill_null("\x00") for c in table.columns], separator=_SEPARATOR)
    ).to_series()
    return pl.Series([hashlib.blake2b(row.encode(), digest_size=8).hexdigest() for row in text], dtype=pl.String)


def content_ids(table: pl.DataFrame, column: str) -> pl.Series:
    """One id per row: the first 16 hex digits of blake2b over the row's cells, "-2", "-3"... on repeated rows.

    A position-based id would change when a download lists rows in another order and would leak the order
    (often time or class) of the raw file; a hash of the content does neither. Identical rows are
    interchangeable, so numbering their repeats in file order keeps the result order-independent.
    """
    if column in table.columns:
        raise ValueError(f"the table already has a column {column!r}; cannot add ids")
    # Chunks keep the Python strings of at most CHUNK_ROWS rows alive at once (Grupo Bimbo has 74 million rows).
    digests = pl.concat(
        [_digests(table.slice(start, CHUNK_ROWS)) for start in range(0, max(table.height, 1), CHUNK_ROWS)]
    )
    frame = pl.DataFrame({"d": digests}).with_columns((pl.int_range(pl.len()).over("d") + 1).alias("r"))
    ids = frame.select(
        pl.when(pl.col("r") == 1).then(pl.col("d")).otherwise(pl.col("d") + "-" + pl.col("r").cast(pl.String))
    ).to_series()
    return ids.alias(column)


def add(files_dir: Path, spec: CompetitionSpec) -> pl.DataFrame:
    """The labeled file with `spec.id_column` first, holding content-derived ids."""
    table = read_table(files_dir / spec.labeled_file)
    try:
        ids = content_ids(table, spec.id_column)
    except ValueError as exc:
        raise ValueError(f"{spec.slug}: {files_dir / spec.labeled_file}: {exc}") from exc
    return table.insert_column(0, ids)
