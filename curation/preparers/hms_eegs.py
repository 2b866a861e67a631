"""HMS Harmful Brain Activity: one labeled EEG window per recording, with the path of its EEG file.

train.csv labels several overlapping 50-second windows of most recordings; Kaggle's test has one window per
eeg_id, predicted from that recording. The first window (eeg_sub_id 0) of each recording is kept, so a
recording's file is copied once and no recording is on both sides of the split.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.id_media import with_media_paths
from curation.sources import read_table
from curation.spec import CompetitionSpec


def first_windows(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Rows of train.csv with eeg_sub_id 0, plus the media column "<eeg_id>.parquet"."""
    path = files_dir / spec.labeled_file
    table = read_table(path)
    missing = [c for c in ("eeg_id", "eeg_sub_id") if c not in table.columns]
    if missing:
        raise ValueError(f"{spec.slug}: {path} lacks columns {missing}")
    first = table.filter(pl.col("eeg_sub_id") == 0)
    if first["eeg_id"].n_unique() != table["eeg_id"].n_unique():
        raise ValueError(f"{spec.slug}: some recordings in {path} have no window with eeg_sub_id 0")
    paths = first["eeg_id"].cast(pl.String) + ".parquet"
    return with_media_paths(first, paths, files_dir, spec)
