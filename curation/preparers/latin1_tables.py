"""Labeled CSVs encoded in Latin-1 (ISO-8859-1), which the UTF-8 CSV reader rejects."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from curation.spec import CompetitionSpec


def read(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """The labeled CSV decoded from Latin-1 (Home Depot's train.csv has bytes such as 0xB0 for the degree sign)."""
    path = files_dir / spec.labeled_file
    if not path.is_file():
        raise ValueError(f"{spec.slug}: {path} does not exist")
    text = path.read_bytes().decode("latin-1")
    return pl.read_csv(io.StringIO(text), infer_schema_length=10_000)
