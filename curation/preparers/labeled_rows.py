"""Labeled files that are usable as they are except for one row-level defect: no id, unscorable rows, quoting."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.raw_tables import RawDataError, raw_file, read_raw_table, require_columns
from curation.spec import CompetitionSpec


def row_number_id(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Number the rows 0..n-1 in file order as the id, for labeled files that have no id column."""
    path = raw_file(files_dir, spec.labeled_file)
    frame = read_raw_table(path)
    if spec.id_column in frame.columns:
        raise RawDataError(f"{path}: already has a column {spec.id_column!r}; use it instead of numbering rows")
    return frame.with_row_index(spec.id_column).with_columns(pl.col(spec.id_column).cast(pl.Int64))


def drop_missing_targets(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Drop rows with a missing target: no metric can score them."""
    path = raw_file(files_dir, spec.labeled_file)
    frame = read_raw_table(path)
    require_columns(frame, [spec.id_column, *spec.target_columns], path)
    return frame.drop_nulls(spec.target_columns)


def backslash_quoted_tsv(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Read a TSV whose text fields are wrapped in double quotes and escape inner quotes as `\\"`.

    A CSV parser takes such a `\\"` for the end of the field (the word2vec tutorial's review files), so
    the file is split on tabs only, then the wrapping quotes are removed and `\\"` becomes `"`.
    """
    path = raw_file(files_dir, spec.labeled_file)
    frame = read_raw_table(path, quote_char=None)
    require_columns(frame, [spec.id_column, *spec.target_columns], path)
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.col(name).str.strip_prefix('"').str.strip_suffix('"').str.replace_all('\\"', '"', literal=True)
        for name in text
    )
