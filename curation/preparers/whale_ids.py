"""Humpback Whale Identification: a test whale that has no training image is a `new_whale`, as on Kaggle.

Kaggle's test set labels every whale absent from its train set `new_whale`. Here the test rows come out of
Kaggle's train.csv, so without relabeling about one test row in ten would name a whale no training image
shows, an answer nobody could give. The preparer computes the task's own split (the same rows, spec and
secret salt give the same sides) and relabels those rows; training rows keep their labels.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.media_files import file_name_is_id
from curation.spec import CompetitionSpec
from curation.splits import SIDE, assign_split, canonical_sort_columns, drop_split_columns

NEW_WHALE = "new_whale"


def unseen_as_new_whale(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """train.csv plus the media column (the file name), test rows of whales unseen in training as `new_whale`."""
    (target,) = spec.target_columns
    # The same rows, in the same order, that the task will split: unlabeled rows never reach it.
    frame = file_name_is_id(files_dir, spec, salt=salt).drop_nulls(target)
    frame = frame.sort(canonical_sort_columns(spec.id_column, spec.split), maintain_order=True)
    sided = assign_split(frame, spec.id_column, spec.split, salt)
    seen = sided.filter(pl.col(SIDE) == "train")[target].unique()
    unseen = (pl.col(SIDE) == "test") & ~pl.col(target).is_in(seen.implode())
    relabeled = sided.with_columns(pl.when(unseen).then(pl.lit(NEW_WHALE)).otherwise(pl.col(target)).alias(target))
    return drop_split_columns(relabeled)
