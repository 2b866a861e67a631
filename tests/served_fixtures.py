"""Competitions built for real (a `local` source, through the Dagster assets) that pass or fail blocking checks.

`write_competition(root, slug, breakage)` writes <root>/competitions/<slug>.yaml and its labeled CSV; the
breakages damage the data so that a named blocking check fails once the task is built.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import yaml
from release_fixtures import labeled_rows

from assets.home_resource import DojoHomeResource
from pipelines.kaggle_resource import KaggleResource

# breakage -> the blocking check it makes fail
BREAKAGES = {
    "target_copy": "leak_target_columns",  # a feature column holds the target itself
    "duplicated_rows": "leak_duplicate_rows",  # 31% of the rows repeat another row's features under a new id
}


def labeled(breakage: str | None, *, rows: int = 400, seed: int = 0) -> pl.DataFrame:
    """Learnable binary rows (id, x0, x1, n, color, target), damaged by `breakage`."""
    frame = labeled_rows("binary", rows, seed)
    if breakage == "target_copy":
        return frame.with_columns(pl.col("target").alias("hint"))
    if breakage == "duplicated_rows":
        copies = frame.head(int(rows * 0.31)).with_columns((pl.col("id") + 10_000_000).alias("id"))
        return pl.concat([frame, copies])
    if breakage is not None:
        raise ValueError(f"unknown breakage {breakage!r}; one of {sorted(BREAKAGES)}")
    return frame


def write_competition(root: Path, slug: str, breakage: str | None = None, *, seed: int = 0) -> Path:
    """Write <root>/competitions/<slug>.yaml (binary, accuracy, local CSV source); return the competitions dir."""
    competitions = root / "competitions"
    data = root / "data" / f"{slug}-{breakage or 'clean'}"  # new data, new path: the raw cache sees the change
    competitions.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    labeled(breakage, seed=seed).write_csv(data / "labeled.csv")
    spec = {
        "slug": slug,
        "title": f"Served fixture {slug}",
        "source": {"kind": "local", "path": str(data)},
        "files": {"labeled": "labeled.csv"},
        "task_type": "binary",
        "id_column": "id",
        "target_columns": ["target"],
        "metric": {"name": "accuracy"},
        "submission_format": "target",
        "split": {"method": "random", "test_fraction": 0.25, "public_fraction": 0.5, "seed": 0},
        "description": f"# {slug}\n\nPredict `target` from x0, x1, n and color.",
        "tags": ["fixture", "binary"],
    }
    (competitions / f"{slug}.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return competitions


def resources(home: Path, competitions: Path) -> dict:
    """The Dagster resources of a build into `home` from `competitions`."""
    return {"dojo": DojoHomeResource(root=str(home), competitions=str(competitions)), "kaggle": KaggleResource()}
