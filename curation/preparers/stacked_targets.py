"""Several count targets scored as one pooled column: one row per (item, target) so one metric covers them all."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.raw_tables import RawDataError, raw_file, read_raw_table, require_columns
from curation.spec import CompetitionSpec

SEE_CLICK_FIX_COUNTS = ("num_views", "num_votes", "num_comments")


def see_click_fix_counts(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """See Click Predict Fix: each issue becomes three rows `<id>_<count name>` with the count as target.

    Kaggle's RMSLE pools the three counts of every issue (n = 3 x issues), which is exactly RMSLE over
    this one stacked column. `issue_id` keeps an issue's rows together in the split; `count_name` says
    which count a row holds.
    """
    path = raw_file(files_dir, spec.labeled_file)
    frame = read_raw_table(path)
    require_columns(frame, ["id", *SEE_CLICK_FIX_COUNTS], path)
    if len(spec.target_columns) != 1:
        raise RawDataError(f"{spec.slug}: stacking needs exactly one target column, got {spec.target_columns}")
    target = spec.target_columns[0]
    features = [c for c in frame.columns if c not in ("id", *SEE_CLICK_FIX_COUNTS)]
    stacked = frame.unpivot(
        list(SEE_CLICK_FIX_COUNTS), index=["id", *features], variable_name="count_name", value_name=target
    )
    key = pl.concat_str([pl.col("id").cast(pl.String), pl.col("count_name")], separator="_").alias(spec.id_column)
    return stacked.select(key, pl.col("id").alias("issue_id"), "count_name", *features, target)
