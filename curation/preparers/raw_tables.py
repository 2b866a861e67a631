"""Reading a competition's raw files inside preparers, with errors that name the file at fault."""

from __future__ import annotations

from pathlib import Path

import polars as pl


class RawDataError(ValueError):
    """Raw competition data is missing or not in the shape a preparer expects; the message names the file."""


def raw_file(files_dir: Path, relative: str) -> Path:
    """The path of a raw file or directory, which must exist."""
    path = files_dir / relative
    if not path.exists():
        raise RawDataError(f"{path}: not found in the competition's raw files")
    return path


def read_raw_table(path: Path, **options: object) -> pl.DataFrame:
    """Read a CSV (`.csv`, `.txt`), TSV or Parquet file; every failure names the file."""
    if not path.is_file():
        raise RawDataError(f"{path}: file not found")
    try:
        if path.suffix == ".parquet":
            return pl.read_parquet(path)
        separator = "\t" if path.suffix == ".tsv" else ","
        settings: dict[str, object] = {"separator": separator, "infer_schema_length": 10_000}
        return pl.read_csv(path, **(settings | options))  # type: ignore[arg-type]
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise RawDataError(f"{path}: cannot read table: {exc}") from exc


def require_columns(frame: pl.DataFrame, columns: list[str], path: Path) -> None:
    """Fail, naming the file, when a column the preparer needs is absent."""
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise RawDataError(f"{path}: columns {missing} are missing (has {frame.columns})")
