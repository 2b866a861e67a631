"""Wide multi-target tables turned into one row per (entity, target), where Kaggle scores the pooled cells.

`rmse` over an (n, k) target matrix is the mean of per-column RMSEs (scikit-learn's uniform average), while
these competitions score one RMSE over every cell. One row per cell makes the single-column `rmse` exact.
Rows of one entity share a group key, so the split keeps them together.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from curation.sources import read_table
from curation.spec import CompetitionSpec

GEOTAB_PREFIXES = ("TotalTimeStopped_", "TimeFromFirstStop_", "DistanceToFirstStop_")
CROWDFLOWER_LABELS = [f"s{i}" for i in range(1, 6)] + [f"w{i}" for i in range(1, 5)] + [f"k{i}" for i in range(1, 16)]


def melt_targets(
    table: pl.DataFrame, entity: str, codes: dict[str, str], *, id_name: str, code_name: str, value_name: str
) -> pl.DataFrame:
    """One row per (entity row, target column): id "<entity>_<code>", the code, the value, the other columns."""
    missing = [c for c in (entity, *codes) if c not in table.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the table {table.columns}")
    features = [c for c in table.columns if c not in codes]
    long = table.unpivot(on=list(codes), index=features, variable_name=code_name, value_name=value_name)
    long = long.with_columns(pl.col(code_name).replace_strict(codes, return_dtype=pl.String))
    ids = pl.concat_str([pl.col(entity).cast(pl.String), pl.col(code_name)], separator="_").alias(id_name)
    return long.select(ids, pl.exclude(id_name)).sort(entity, code_name)


def geotab_targets(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """BigQuery-Geotab: six targets per RowId as rows "RowId_k", k from submission_metric_map.json.

    The train file also holds outputs Kaggle never asks for (p40, p60, TimeFromFirstStop_*); the test file
    lacks them, and as features they would leak the targets, so they are dropped.
    """
    map_path = files_dir / "submission_metric_map.json"
    if not map_path.is_file():
        raise ValueError(f"{spec.slug}: {map_path} is missing; it numbers the six targets")
    metric_ids = json.loads(map_path.read_text())
    codes = {name: str(code) for name, code in metric_ids.items()}
    table = read_table(files_dir / spec.labeled_file)
    outputs = [c for c in table.columns if c.startswith(GEOTAB_PREFIXES) and c not in codes]
    (target,) = spec.target_columns
    return melt_targets(
        table.drop(outputs), "RowId", codes, id_name=spec.id_column, code_name="MetricId", value_name=target
    )


def crowdflower_labels(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """CrowdFlower weather tweets: 24 label confidences per tweet as rows "<tweet id>_<label>"."""
    table = read_table(files_dir / spec.labeled_file).rename({"id": "tweet_id"})
    (target,) = spec.target_columns
    codes = {label: label for label in CROWDFLOWER_LABELS}
    return melt_targets(table, "tweet_id", codes, id_name=spec.id_column, code_name="label", value_name=target)
