"""Store sales panels whose training rows have no id: the key is built the way Kaggle's submission ids are."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.raw_tables import RawDataError, raw_file, read_raw_table, require_columns
from curation.spec import CompetitionSpec


def _keyed(files_dir: Path, spec: CompetitionSpec, parts: list[str]) -> pl.DataFrame:
    path = raw_file(files_dir, spec.labeled_file)
    frame = read_raw_table(path)  # dates stay text as written in the file, so the key spells them the same way
    require_columns(frame, parts, path)
    if spec.id_column in frame.columns:
        raise RawDataError(f"{path}: already has a column {spec.id_column!r}")
    key = pl.concat_str([pl.col(p).cast(pl.String) for p in parts], separator="_").alias(spec.id_column)
    return frame.select(key, pl.all())


def store_day(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Rossmann: one row per store and day, id `<Store>_<Date>`."""
    return _keyed(files_dir, spec, ["Store", "Date"])


def store_department_week(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Walmart: one row per store, department and week, id `<Store>_<Dept>_<Date>` as in Kaggle's submission."""
    return _keyed(files_dir, spec, ["Store", "Dept", "Date"])
