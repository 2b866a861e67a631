"""Yes/No targets as 1/0, for binary competitions graded on probabilities (roc_auc, gini, log loss)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.row_ids import labeled_rows, with_row_ids
from curation.spec import CompetitionSpec

FLAGS = {"Yes": 1, "No": 0}


def yes_no_as_flag(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """The raw labeled file with its single target mapped Yes -> 1, No -> 0; any other value is an error."""
    if len(spec.target_columns) != 1:
        raise ValueError(f"{spec.slug}: yes_no_as_flag needs exactly one target column, got {spec.target_columns}")
    target = spec.target_columns[0]
    table = pl.read_parquet(files_dir / spec.labeled_file)
    if target not in table.columns:
        raise ValueError(f"{spec.slug}: target column {target!r} not in {files_dir / spec.labeled_file}")
    unexpected = sorted(set(table[target].drop_nulls().unique().to_list()) - set(FLAGS))
    if unexpected or table[target].null_count():
        raise ValueError(f"{spec.slug}: target {target!r} must be 'Yes' or 'No', found {unexpected or 'nulls'}")
    return table.with_columns(pl.col(target).replace_strict(FLAGS, return_dtype=pl.Int64))


def yes_no_as_flag_with_row_ids(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """`yes_no_as_flag` with secretly shuffled ids: for package tables whose row names follow a sort order."""
    flagged = yes_no_as_flag(files_dir, spec, salt=salt)
    return with_row_ids(labeled_rows(flagged, spec), spec, salt)
