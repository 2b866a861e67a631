"""Novozymes Enzyme Stability: train.csv with Kaggle's post-launch corrections applied."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.raw_tables import raw_file, read_raw_table, require_columns
from curation.spec import CompetitionSpec

UPDATES_FILE = "train_updates_20220929.csv"
FEATURES = ("protein_sequence", "pH", "data_source", "tm")


def apply_train_updates(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Apply train_updates_20220929.csv to the labeled file.

    Kaggle's update lists rows of train.csv that were wrong: a row whose every field is empty in the
    update is to be discarded; any other row replaces the original (its pH and tm had been swapped).
    """
    train_path = raw_file(files_dir, spec.labeled_file)
    updates_path = raw_file(files_dir, UPDATES_FILE)
    train = read_raw_table(train_path)
    updates = read_raw_table(updates_path)
    require_columns(train, [spec.id_column, *FEATURES], train_path)
    require_columns(updates, [spec.id_column, *FEATURES], updates_path)
    updates = updates.select(train.columns).cast(train.schema)
    discard = updates.filter(pl.all_horizontal(pl.col(c).is_null() for c in FEATURES))[spec.id_column]
    replace = updates.filter(~pl.col(spec.id_column).is_in(discard.implode()))
    kept = train.filter(~pl.col(spec.id_column).is_in(updates[spec.id_column].implode()))
    return pl.concat([kept, replace]).sort(spec.id_column)
