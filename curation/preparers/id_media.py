"""The media column of a-k image competitions whose label table names files only by id (or by the id itself).

`spec.files.media.column` must hold each row's file path relative to `spec.files.media.raw_dir`. Kaggle's label
tables often give a bare id ("000c1434d8d7" for train_images/000c1434d8d7.png); these functions add the path so
the task builder can copy the file. The id column itself is never reused as the media column: the builder
rewrites the media column to the public path, and the ids must stay as they are.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.sources import read_table
from curation.spec import CompetitionSpec


def _media_dir(files_dir: Path, spec: CompetitionSpec) -> Path:
    """The raw media directory named by the spec; an error when the spec has none or it is missing."""
    if spec.files.media is None:
        raise ValueError(f"{spec.slug}: this preparer needs files.media in the spec")
    directory = files_dir / spec.files.media.raw_dir
    if not directory.is_dir():
        raise ValueError(f"{spec.slug}: media directory {directory} does not exist")
    return directory


def with_media_paths(table: pl.DataFrame, paths: pl.Series, files_dir: Path, spec: CompetitionSpec) -> pl.DataFrame:
    """`table` with `paths` as the media column, after checking that every file exists."""
    directory = _media_dir(files_dir, spec)
    assert spec.files.media is not None
    missing = [name for name in paths.to_list() if not (directory / name).is_file()]
    if missing:
        raise ValueError(
            f"{spec.slug}: {len(missing)} of {len(paths)} media files are missing under {directory}, e.g. {missing[:3]}"
        )
    if spec.files.media.column in table.columns:
        raise ValueError(f"{spec.slug}: the table already has a column {spec.files.media.column!r}")
    return table.with_columns(paths.alias(spec.files.media.column))


def _id_with_suffix(files_dir: Path, spec: CompetitionSpec, suffix: str) -> pl.DataFrame:
    """The labeled file plus the media column "<id><suffix>"."""
    table = read_table(files_dir / spec.labeled_file)
    if spec.id_column not in table.columns:
        raise ValueError(f"{spec.slug}: id column {spec.id_column!r} not in {files_dir / spec.labeled_file}")
    paths = table[spec.id_column].cast(pl.String) + suffix
    return with_media_paths(table, paths, files_dir, spec)


def id_is_file(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Media column = the id, which already is the file name (e.g. "0004be2cfeaba1c0361d39e2b000257b.jpg")."""
    return _id_with_suffix(files_dir, spec, "")


def id_png(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Media column = "<id>.png"."""
    return _id_with_suffix(files_dir, spec, ".png")


def id_jpg(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Media column = "<id>.jpg"."""
    return _id_with_suffix(files_dir, spec, ".jpg")


def id_tif(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Media column = "<id>.tif"."""
    return _id_with_suffix(files_dir, spec, ".tif")


def bms_nested_png(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Media column = "a/b/c/<id>.png": BMS stores each image under its id's first three characters."""
    table = read_table(files_dir / spec.labeled_file)
    ids = table[spec.id_column].cast(pl.String)
    short = ids.filter(ids.str.len_chars() < 3)
    if len(short):
        raise ValueError(f"{spec.slug}: ids shorter than 3 characters cannot be nested, e.g. {short.head(3).to_list()}")
    nested = ids.str.slice(0, 1) + "/" + ids.str.slice(1, 1) + "/" + ids.str.slice(2, 1) + "/" + ids + ".png"
    return with_media_paths(table, nested, files_dir, spec)
