"""Targets written as words (t/f, true/false, yes/no) mapped to 1/0, as probability metrics need."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.sources import read_table
from curation.spec import CompetitionSpec

FLAGS = {"t": 1, "true": 1, "yes": 1, "1": 1, "f": 0, "false": 0, "no": 0, "0": 0}


def as_flags(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """The labeled file with every target column mapped to 1/0 (case-insensitive); other words are an error."""
    path = files_dir / spec.labeled_file
    table = read_table(path)
    for column in spec.target_columns:
        if column not in table.columns:
            raise ValueError(f"{spec.slug}: target column {column!r} not in {path}")
        words = table[column].cast(pl.String).str.to_lowercase().str.strip_chars()
        unknown = sorted(set(words.drop_nulls().unique().to_list()) - set(FLAGS))
        if unknown:
            raise ValueError(f"{spec.slug}: target {column!r} in {path} has non-t/f values {unknown[:5]}")
        table = table.with_columns(words.replace_strict(FLAGS, default=None, return_dtype=pl.Int64).alias(column))
    return table
