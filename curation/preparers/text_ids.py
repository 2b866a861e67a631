"""Labeled CSVs whose id column must be read as text: ids past the int64 range or with significant zeros."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.spec import CompetitionSpec


def read(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """The labeled CSV with `spec.id_column` read as strings (Avazu's ids reach 1.8e19 > 2^63)."""
    path = files_dir / spec.labeled_file
    if path.suffix != ".csv":
        raise ValueError(f"{spec.slug}: {path} is not a CSV file")
    if not path.is_file():
        raise ValueError(f"{spec.slug}: {path} does not exist")
    return pl.read_csv(path, schema_overrides={spec.id_column: pl.String}, infer_schema_length=10_000)
