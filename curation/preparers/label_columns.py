"""Labels Kaggle spreads over several columns, or packs into one, reshaped to the columns the spec grades."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.raw_tables import RawDataError, raw_file, read_raw_table, require_columns
from curation.spec import CompetitionSpec

# Chatbot Arena's one-hot outcome columns, in Kaggle's submission order.
WINNER_COLUMNS = ("winner_model_a", "winner_model_b", "winner_tie")


def winner_label(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Collapse the one-hot `winner_model_a/_b/_tie` columns into one label column (the spec's target).

    The class names are the original column names, so a class-probability submission has exactly
    Kaggle's columns `winner_model_a, winner_model_b, winner_tie`.
    """
    path = raw_file(files_dir, spec.labeled_file)
    frame = read_raw_table(path)
    require_columns(frame, [spec.id_column, *WINNER_COLUMNS], path)
    hot = frame.select(pl.sum_horizontal(pl.col(c).cast(pl.Int64) for c in WINNER_COLUMNS).alias("n"))["n"]
    bad = frame.filter(hot != 1)[spec.id_column].head(5).to_list()
    if bad:
        raise RawDataError(f"{path}: rows {bad} do not have exactly one of {list(WINNER_COLUMNS)} set to 1")
    label = pl.coalesce(pl.when(pl.col(c).cast(pl.Int64) == 1).then(pl.lit(c)) for c in WINNER_COLUMNS)
    return frame.with_columns(label.alias(spec.target_columns[0])).drop(WINNER_COLUMNS)


def disease_indicators(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Binarize a space-separated `labels` column into one 0/1 column per target, and name each image file.

    Plant Pathology 2021 lists the diseases of an image in one string ("scab frog_eye_leaf_spot"); the
    spec's target columns are the diseases. A disease missing from the spec is an error, not dropped.
    """
    path = raw_file(files_dir, spec.labeled_file)
    frame = read_raw_table(path)
    require_columns(frame, [spec.id_column, "labels"], path)
    if spec.files.media is None:
        raise RawDataError(f"{spec.slug}: disease_indicators writes the media column, but the spec has no files.media")
    lists = frame["labels"].fill_null("").str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
    seen = set(lists.explode().drop_nulls().unique().to_list())
    unknown = sorted(seen - set(spec.target_columns))
    if unknown:
        raise RawDataError(f"{path}: labels {unknown} are not target columns of {spec.slug}")
    indicators = [lists.list.contains(name).cast(pl.Int8).alias(name) for name in spec.target_columns]
    return frame.drop("labels").with_columns(
        *indicators, pl.col(spec.id_column).cast(pl.String).alias(spec.files.media.column)
    )
