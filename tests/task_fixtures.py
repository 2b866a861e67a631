"""Tiny built tasks written by hand in the on-disk layout of contracts.md, for runtime tests that need no build.

Each task has public/ (train, test, sample submission, description), private/answers.parquet, grader.py,
task.json with checksums, tasks/<slug>/CURRENT, and a leaderboard snapshot with known scores, so that
positions and rewards can be asserted exactly.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl

from curation.layout import Home, set_current
from graders.leaderboards import rank_board, write_snapshot
from graders.metrics import get_metric
from graders.render import render_grader

# Leaderboard scores per kind, weakest first; entry names follow the reference ladder's.
BOARD_SCORES = {
    "binary": {"dummy-prior": 0.5, "logistic-c1": 0.8, "random-forest-100": 0.9, "hist-gb-lr0.1": 0.97},
    "multiclass": {"dummy-prior": 0.34, "logistic-c1": 0.7, "random-forest-100": 0.85, "hist-gb-lr0.1": 0.97},
    "regression": {"dummy-mean": 3.0, "ridge-1": 1.2, "random-forest-100": 0.9, "hist-gb-lr0.1": 0.6},
}
METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _labeled(kind: str, rows: int, seed: int) -> pl.DataFrame:
    """Learnable synthetic rows: four numeric features, one categorical, the target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    color = rng.choice(["red", "green", "blue"], size=rows)
    signal = 2.0 * x[:, 0] - 1.5 * x[:, 1] + (color == "red") * 1.0
    if kind == "binary":
        target = (signal + rng.normal(scale=0.5, size=rows) > 0).astype(np.int64)
    elif kind == "multiclass":
        target = np.where(signal < -1, "low", np.where(signal < 1, "mid", "high"))
    else:
        target = signal + 0.3 * x[:, 2] + rng.normal(scale=0.3, size=rows)
    return pl.DataFrame(
        {
            "id": np.arange(1, rows + 1, dtype=np.int64),
            **{f"x{i}": x[:, i] for i in range(4)},
            "color": color,
            "target": target,
        }
    )


def make_task(
    home: Path,
    kind: str = "binary",
    *,
    slug: str | None = None,
    rows: int = 400,
    seed: int = 0,
    leaderboard: bool = True,
) -> Path:
    """Write a built task of `kind` (binary | multiclass | regression) under `home`; return its task dir."""
    if kind not in METRIC:
        raise ValueError(f"kind must be one of {sorted(METRIC)}, got {kind!r}")
    slug = slug or f"tiny-{kind}"
    metric = get_metric(METRIC[kind])
    labeled = _labeled(kind, rows, seed)
    n_test = rows * 2 // 5
    train, test_full = labeled.head(rows - n_test), labeled.tail(n_test)
    board = np.where(np.arange(n_test) % 2 == 0, "public", "private")
    answers = test_full.select("id", "target").with_columns(pl.Series("board", board))
    test = test_full.drop("target")
    classes = sorted(labeled["target"].unique().cast(pl.String).to_list()) if kind == "multiclass" else None
    if kind == "binary":
        sample_value = pl.lit(0.5)
    elif kind == "multiclass":
        sample_value = pl.lit("mid")
    else:
        sample_value = pl.lit(float(train["target"].median()))
    sample = test.select("id", sample_value.alias("target"))

    version = hashlib.sha256(f"{slug}-{kind}-{rows}-{seed}".encode()).hexdigest()[:16]
    layout = Home(home)
    task_dir = layout.task_dir(slug, version)
    public, private = task_dir / "public", task_dir / "private"
    public.mkdir(parents=True, exist_ok=True)
    private.mkdir(parents=True, exist_ok=True)
    train.write_csv(public / "train.csv")
    test.write_csv(public / "test.csv")
    sample.write_csv(public / "sample_submission.csv")
    (public / "description.md").write_text(
        f"# Tiny {kind} task\n\nPredict `target` for each `id` of test.csv from x0..x3 and color.\n"
        f"Metric: {metric.name}.\n",
        encoding="utf-8",
    )
    answers.write_parquet(private / "answers.parquet")
    meta = {
        "slug": slug,
        "title": f"Tiny {kind} task",
        "task_version": version,
        "spec_sha256": hashlib.sha256(slug.encode()).hexdigest(),
        "source_sha256": hashlib.sha256(f"{seed}".encode()).hexdigest(),
        "split_code_version": "fixture",
        "task_type": kind,
        "metric": {"name": metric.name, "params": {}},
        "higher_is_better": metric.higher_is_better,
        "prediction": metric.prediction,
        "id_column": "id",
        "target_columns": ["target"],
        "prediction_columns": ["target"],
        "submission_format": "target",
        "classes": classes,
        "split": {"method": "random", "test_fraction": 0.4, "public_fraction": 0.5, "seed": seed},
        "rows": {
            "train": train.height,
            "test": test.height,
            "public": int((board == "public").sum()),
            "private": int((board == "private").sum()),
        },
        "tags": ["fixture", kind],
    }
    (task_dir / "grader.py").write_text(render_grader(meta), encoding="utf-8")
    files = []
    for name, role, count in (
        ("public/train.csv", "train", train.height),
        ("public/test.csv", "test", test.height),
        ("public/sample_submission.csv", "sample_submission", sample.height),
        ("public/description.md", "description", None),
        ("private/answers.parquet", "answers", answers.height),
        ("grader.py", "grader", None),
    ):
        path = task_dir / name
        files.append({"path": name, "role": role, "sha256": _sha256(path), "bytes": path.stat().st_size, "rows": count})
    meta["files"] = files
    (task_dir / "task.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    set_current(layout.task_root(slug), version)
    if leaderboard:
        entries = BOARD_SCORES[kind]
        frame = pl.DataFrame(
            [
                {"entry": entry, "board": b, "score": score}
                for entry, score in entries.items()
                for b in ("public", "private")
            ]
        )
        ranked = rank_board(frame, metric.higher_is_better, kind="reference", snapshot="fixture")
        write_snapshot(ranked, layout.leaderboard_dir(slug), "fixture")
    return task_dir


# Agent code for the fixture tasks using only the standard library, so tests do not pay for pandas/sklearn imports.
FAST_SOLUTION = """\
import csv, math, os
rows = list(csv.DictReader(open(os.path.join(os.environ["DATA_DIR"], "test.csv"))))
with open("submission.csv", "w", newline="") as handle:
    writer = csv.writer(handle)
    writer.writerow(["id", "target"])
    for row in rows:
        signal = 2 * float(row["x0"]) - 1.5 * float(row["x1"]) + (row["color"] == "red")
        writer.writerow([row["id"], PREDICTION])
print("wrote", len(rows))
"""
_PREDICTIONS = {
    "binary": "1 / (1 + math.exp(-signal))",
    "multiclass": '"low" if signal < -1 else "mid" if signal < 1 else "high"',
    "regression": 'signal + 0.3 * float(row["x2"])',
}
SAMPLE_COPY = """\
import os, shutil
shutil.copyfile(os.path.join(os.environ["DATA_DIR"], "sample_submission.csv"), "submission.csv")
"""


def fast_solution(kind: str) -> str:
    """Standard-library code that scores well on the fixture task of `kind` (it knows the generating rule)."""
    return FAST_SOLUTION.replace("PREDICTION", _PREDICTIONS[kind])
