"""Text Normalization Challenge: one row per token, keyed `<sentence_id>_<token_id>` as Kaggle's submission is."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.raw_tables import raw_file, read_raw_table, require_columns
from curation.spec import CompetitionSpec


def token_rows(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """The training tokens with their id; every field is read as text, since tokens like "1.0" must stay verbatim."""
    path = raw_file(files_dir, spec.labeled_file)
    frame = read_raw_table(path, infer_schema_length=0)
    require_columns(frame, ["sentence_id", "token_id", "before", *spec.target_columns], path)
    key = pl.concat_str([pl.col("sentence_id"), pl.col("token_id")], separator="_").alias(spec.id_column)
    return frame.with_columns(pl.col("sentence_id", "token_id").cast(pl.Int64)).select(key, pl.all())
