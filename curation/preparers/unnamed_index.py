"""Tables whose first column is an unnamed row index (pandas `to_csv` with index=True), used as the id."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.sources import read_table
from curation.spec import CompetitionSpec


def as_id(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """The labeled file with its unnamed first column renamed to `spec.id_column`.

    Kaggle ships some tables with a blank first header (e.g. GiveMeSomeCredit's cs-training.csv); polars reads
    it as a column named "", which would make an empty submission header.
    """
    path = files_dir / spec.labeled_file
    table = read_table(path)
    first = table.columns[0]
    if first not in ("", "Unnamed: 0"):
        raise ValueError(f"{spec.slug}: {path} starts with column {first!r}, not an unnamed index column")
    if spec.id_column in table.columns:
        raise ValueError(f"{spec.slug}: {path} already has a column {spec.id_column!r}")
    return table.rename({first: spec.id_column})
