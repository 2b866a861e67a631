"""Detecting Insults in Social Commentary: Kaggle's train file plus its labeled test file, with content ids.

After the competition Kaggle published test_with_solutions.csv, the labeled test set MLE-bench grades on.
Both files share the columns Insult, Date, Comment and have no id; test_with_solutions.csv adds `Usage`
(Kaggle's public/private marker), which is not data about the comment and is dropped.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.content_ids import content_ids
from curation.sources import read_table
from curation.spec import CompetitionSpec

FILES = ("train.csv", "test_with_solutions.csv")
COLUMNS = ["Insult", "Date", "Comment"]


def train_and_solutions(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Both labeled files stacked, columns Insult, Date, Comment, with `spec.id_column` from the content."""
    parts = []
    for name in FILES:
        path = files_dir / name
        table = read_table(path)
        missing = [c for c in COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"{spec.slug}: {path} lacks columns {missing}")
        parts.append(table.select(pl.col("Insult").cast(pl.Int64), pl.col("Date").cast(pl.String), "Comment"))
    table = pl.concat(parts)
    return table.insert_column(0, content_ids(table, spec.id_column, salt))
