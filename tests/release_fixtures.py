"""Fixture tasks in the on-disk layout of contracts.md, good or deliberately broken, for checks and releases.

`make_task(home, slug, kind=..., breakage=...)` writes tasks/<slug>/<version>/ (public files, private
answers, a rendered grader, task.json with checksums), tasks/<slug>/CURRENT and a leaderboard snapshot,
and returns the task dir with the spec it was "built" from. Each breakage in BREAKAGES damages one
thing the checks must catch; the good task passes every check.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from curation.layout import Home, set_current
from curation.spec import CompetitionSpec
from graders.leaderboards import rank_board, write_snapshot
from graders.render import render_grader

METRICS = {"binary": ("accuracy", "label"), "multiclass": ("multiclass_log_loss", "class_probabilities")}
METRICS["regression"] = ("rmse", "number")
METRICS["text"] = ("jaccard_words", "text")  # free-text targets: no classes, no numeric range
TASK_TYPES = {"binary": "binary", "multiclass": "multiclass", "regression": "regression", "text": "other"}

BREAKAGES = {
    "target_in_test": "test.csv keeps the target column",
    "target_mapping_in_test": "train and test carry `hint`, a relabelling of the target",
    "overlapping_ids": "ten test ids are also train ids",
    "duplicated_rows": "a third of the private-test rows repeat a train row's features",
    "ordered_ids": "ids are assigned in target order",
    "ordered_test_file": "test.csv is sorted by the target",
    "empty_private_board": "every test row is on the public board",
    "null_ids": "one test id is empty",
    "duplicate_ids": "two test rows share an id",
    "missing_feature": "test.csv lacks feature x1",
    "type_mismatch": "feature n in test.csv holds text",
    "unseen_class": "an answer holds a label train never shows",
    "out_of_range": "an answer holds a value far outside train's range",
    "null_target": "an answer is empty",
    "sample_ids_mismatch": "three sample submission ids are not test ids",
    "wrong_row_count": "task.json's train row count is off by one",
    "wrong_test_fraction": "task.json's split says a test fraction of 0.6",
    "bad_probability": "a sample submission probability is 1.5",
    "stale_spec": "task.json's spec sha256 is not the current spec's",
    "tampered_file": "public/test.csv changed after task.json recorded it",
}
# Differences that CSV type inference makes and the checks must accept: the data is the same.
HARMLESS = {
    "codes_only_in_train": "feature n holds three codes like '136A' in train only: text there, numbers in test",
    "floats_only_in_test": "feature n has a fractional value in test only: floats there, integers in train",
}


@dataclass(frozen=True)
class FixtureTask:
    """A written fixture task: where it is and the spec it claims to be built from."""

    slug: str
    task_dir: Path
    spec: CompetitionSpec

    @property
    def version(self) -> str:
        return self.task_dir.name


def fixture_spec(slug: str, kind: str = "binary", **overrides) -> CompetitionSpec:
    """The competition spec of a fixture task: id `id`, target `target`, a 25% random split."""
    if kind not in METRICS:
        raise ValueError(f"unknown fixture kind {kind!r}; one of {sorted(METRICS)}")
    fields = {
        "slug": slug,
        "title": f"Fixture {slug}",
        "source": {"kind": "synthetic", "generator": "fixture", "rows": 400, "seed": 0},
        "task_type": TASK_TYPES[kind],
        "id_column": "id",
        "target_columns": ["target"],
        "metric": {"name": METRICS[kind][0]},
        "submission_format": "class_probabilities" if kind == "multiclass" else "target",
        "split": {"method": "random", "test_fraction": 0.25, "public_fraction": 0.5, "seed": 0},
        "description": f"# Fixture {slug}\n\nA {kind} fixture task.",
        "tags": ["fixture", kind],
    }
    return CompetitionSpec.model_validate(fields | overrides)


def labeled_rows(kind: str, rows: int, seed: int) -> pl.DataFrame:
    """Learnable rows in random order with random unique ids: x0, x1 (floats), n (int), color (text), target.

    Targets: binary 0/1, multiclass low/mid/high, regression floats, text three words and the row's color.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    color = rng.choice(["red", "green", "blue"], size=rows)
    signal = 1.5 * x[:, 0] - x[:, 1] + (color == "red") * 0.5
    if kind == "binary":
        target = pl.Series("target", (signal + rng.normal(scale=0.5, size=rows) > 0).astype(np.int64))
    elif kind == "multiclass":
        target = pl.Series("target", np.where(signal < -0.7, "low", np.where(signal < 0.7, "mid", "high")))
    elif kind == "text":
        words = np.array(["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"])
        picks = rng.integers(0, len(words), size=(rows, 3))
        target = pl.Series("target", [" ".join(words[row]) + f" {color[i]}" for i, row in enumerate(picks)])
    else:
        target = pl.Series("target", np.round(10.0 + 3.0 * signal + rng.normal(scale=0.5, size=rows), 6))
    return pl.DataFrame(
        {
            "id": rng.choice(1_000_000, size=rows, replace=False).astype(np.int64),
            "x0": np.round(x[:, 0], 6),
            "x1": np.round(x[:, 1], 6),
            "n": rng.integers(0, 1000, size=rows),
            "color": color,
        }
    ).with_columns(target)


def _split(labeled: pl.DataFrame, test_fraction: float, public_fraction: float, seed: int) -> pl.DataFrame:
    """Add side (train/test) and board (public/private on test rows) at random, with exact sizes."""
    rng = np.random.default_rng(seed + 1)
    n = labeled.height
    n_test = round(n * test_fraction)
    test_rows = rng.permutation(n)[:n_test]
    public_rows = test_rows[: round(n_test * public_fraction)]
    side = np.full(n, "train", dtype=object)
    side[test_rows] = "test"
    board = np.full(n, None, dtype=object)
    board[test_rows] = "private"
    board[public_rows] = "public"
    return labeled.with_columns(
        pl.Series("_side", side.tolist(), pl.String), pl.Series("board", board.tolist(), pl.String)
    )


def _break_labeled(labeled: pl.DataFrame, breakage: str | None) -> pl.DataFrame:
    """Breakages that act on the labeled table before the split."""
    if breakage == "ordered_ids":
        ordered = labeled.sort("target", "x0")
        return ordered.with_columns(pl.Series("id", np.arange(ordered.height, dtype=np.int64))).sample(
            fraction=1.0, shuffle=True, seed=7
        )
    if breakage == "target_mapping_in_test":
        # A relabelling of a label, or a monotone transform of a number: 1:1 with the target either way.
        if labeled["target"].dtype.is_numeric() and labeled["target"].n_unique() > 2:
            hint = (pl.col("target") * 2.0 + 1.0).alias("hint")
        else:
            hint = pl.format("code-{}", pl.col("target").cast(pl.String).str.to_uppercase()).alias("hint")
        return labeled.with_columns(hint).select("id", "x0", "x1", "n", "color", "hint", "target")
    return labeled


def _sample_submission(kind: str, train: pl.DataFrame, test: pl.DataFrame, classes: list[str] | None) -> pl.DataFrame:
    ids = test.select("id")
    if kind == "multiclass":
        assert classes is not None
        return ids.with_columns(pl.lit(1.0 / len(classes)).alias(c) for c in classes)
    if kind == "binary":
        return ids.with_columns(pl.lit(int(train["target"].mode().sort()[0]), dtype=pl.Int64).alias("target"))
    if kind == "text":
        return ids.with_columns(pl.lit("alpha beta").alias("target"))
    return ids.with_columns(pl.lit(float(train["target"].median())).alias("target"))


def _break_tables(
    breakage: str | None, kind: str, train: pl.DataFrame, test: pl.DataFrame, answers: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Breakages that act on the split tables (sample submission follows test's ids afterwards)."""
    if breakage == "target_in_test":
        test = test.join(answers.select("id", "target"), on="id", how="left", maintain_order="left")
    elif breakage == "overlapping_ids":
        shared = train["id"].head(10)
        replaced = pl.Series("id", shared.to_list() + test["id"].to_list()[10:])
        mapping = dict(zip(test["id"].to_list(), replaced.to_list(), strict=True))
        test = test.with_columns(replaced)
        answers = answers.with_columns(pl.col("id").replace_strict(mapping))
    elif breakage == "duplicated_rows":
        private_ids = answers.filter(pl.col("board") == "private")["id"]
        chosen = private_ids.head(private_ids.len() // 3 + 1)
        features = ["x0", "x1", "n", "color"]
        twins = train.select(features).head(chosen.len()).with_columns(chosen.alias("id"))
        test = test.update(twins, on="id")
    elif breakage == "ordered_test_file":
        test = (
            test.join(answers.select("id", "target"), on="id", maintain_order="left")
            .sort("target", "x0")
            .drop("target")
        )
    elif breakage == "empty_private_board":
        answers = answers.with_columns(pl.lit("public").alias("board"))
    elif breakage == "null_ids":
        test = test.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("id")).alias("id"))
    elif breakage == "duplicate_ids":
        test = test.with_columns(
            pl.when(pl.int_range(pl.len()) == 1).then(pl.col("id").first()).otherwise(pl.col("id"))
        )
    elif breakage == "codes_only_in_train":
        values = train["n"].cast(pl.String).to_list()
        values[:3] = ["136A", "7B", "X9"]
        train = train.with_columns(pl.Series("n", values, pl.String))
    elif breakage == "floats_only_in_test":
        test = test.with_columns(
            pl.when(pl.int_range(pl.len()) == 0).then(pl.col("n") + 0.5).otherwise(pl.col("n").cast(pl.Float64))
        )
    elif breakage == "missing_feature":
        test = test.drop("x1")
    elif breakage == "type_mismatch":
        test = test.with_columns(pl.format("n{}", pl.col("n")).alias("n"))
    elif breakage == "unseen_class":
        if kind not in ("binary", "multiclass"):
            raise ValueError("unseen_class needs a fixture with labels (binary or multiclass)")
        unseen = "unseen" if kind == "multiclass" else 7
        answers = answers.with_columns(
            pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(unseen)).otherwise(pl.col("target")).alias("target")
        )
    elif breakage == "out_of_range":
        if kind not in ("binary", "regression"):
            raise ValueError("out_of_range needs a fixture with a numeric target (binary or regression)")
        answers = answers.with_columns(
            pl.when(pl.int_range(pl.len()) == 0).then(1e9).otherwise(pl.col("target")).alias("target")
        )
    elif breakage == "null_target":
        answers = answers.with_columns(
            pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("target")).alias("target")
        )
    return train, test, answers


def _file_entry(task_dir: Path, path: Path, role: str, rows: int | None) -> dict:
    return {
        "path": path.relative_to(task_dir).as_posix(),
        "role": role,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "bytes": path.stat().st_size,
        "rows": rows,
    }


def make_task(
    home: Home,
    slug: str,
    *,
    kind: str = "binary",
    rows: int = 400,
    seed: int = 0,
    breakage: str | None = None,
    spec: CompetitionSpec | None = None,
    leaderboard: bool = True,
) -> FixtureTask:
    """Write one fixture task under `home` and point tasks/<slug>/CURRENT at it."""
    if breakage is not None and breakage not in BREAKAGES and breakage not in HARMLESS:
        raise ValueError(f"unknown breakage {breakage!r}; one of {sorted(BREAKAGES | HARMLESS)}")
    spec = spec or fixture_spec(slug, kind)
    metric, prediction = METRICS[kind]
    labeled = _break_labeled(labeled_rows(kind, rows, seed), breakage)
    split = _split(labeled, spec.split.test_fraction, spec.split.public_fraction, seed)
    feature_columns = [c for c in labeled.columns if c != "target"]
    train = split.filter(pl.col("_side") == "train").select(*feature_columns, "target")
    test_full = split.filter(pl.col("_side") == "test")
    test = test_full.select(feature_columns)
    answers = test_full.select("id", "target", "board")
    train, test, answers = _break_tables(breakage, kind, train, test, answers)
    classes = sorted(labeled["target"].unique().cast(pl.String).to_list()) if kind in ("binary", "multiclass") else None
    sample = _sample_submission(
        kind, train, test.filter(pl.col("id").is_not_null()).unique("id", keep="first"), classes
    )
    if breakage == "sample_ids_mismatch":
        sample = sample.with_columns(
            pl.when(pl.int_range(pl.len()) < 3).then(pl.col("id") + 10_000_000).otherwise(pl.col("id")).alias("id")
        )
    if breakage == "bad_probability":
        if kind != "multiclass" or classes is None:
            raise ValueError("bad_probability needs a multiclass fixture (class probability columns)")
        first = classes[0]
        sample = sample.with_columns(
            pl.when(pl.int_range(pl.len()) == 0).then(1.5).otherwise(pl.col(first)).alias(first)
        )

    version = hashlib.sha256(f"{slug}|{kind}|{rows}|{seed}|{breakage}|{spec.content_hash()}".encode()).hexdigest()[:16]
    task_dir = home.task_dir(slug, version)
    public, private = task_dir / "public", task_dir / "private"
    public.mkdir(parents=True, exist_ok=True)
    private.mkdir(parents=True, exist_ok=True)
    entries = []
    for frame, name, role in ((train, "train.csv", "train"), (test, "test.csv", "test")):
        frame.write_csv(public / name)
        entries.append(_file_entry(task_dir, public / name, role, frame.height))
    sample.write_csv(public / "sample_submission.csv")
    entries.append(_file_entry(task_dir, public / "sample_submission.csv", "sample_submission", sample.height))
    (public / "description.md").write_text(spec.description + "\n", encoding="utf-8")
    entries.append(_file_entry(task_dir, public / "description.md", "description", None))
    answers.write_parquet(private / "answers.parquet", statistics=False)
    entries.append(_file_entry(task_dir, private / "answers.parquet", "answers", answers.height))
    meta = {
        "slug": slug,
        "title": spec.title,
        "task_version": version,
        "spec_sha256": "0" * 64 if breakage == "stale_spec" else spec.content_hash(),
        "source_sha256": hashlib.sha256(f"{kind}|{rows}|{seed}".encode()).hexdigest(),
        "split_code_version": "fixture-1",
        "task_type": spec.task_type,
        "metric": {"name": metric, "params": {}},
        "higher_is_better": metric == "accuracy",
        "prediction": prediction,
        "id_column": "id",
        "target_columns": ["target"],
        "prediction_columns": classes if kind == "multiclass" else ["target"],
        "submission_format": spec.submission_format,
        "classes": classes,
        "split": spec.split.model_dump(mode="json"),
        "rows": {
            "train": train.height + (1 if breakage == "wrong_row_count" else 0),
            "test": test.height,
            "public": int((answers["board"] == "public").sum()),
            "private": int((answers["board"] == "private").sum()),
        },
        "tags": list(spec.tags),
    }
    if breakage == "wrong_test_fraction":
        meta["split"]["test_fraction"] = 0.6
    (task_dir / "grader.py").write_text(render_grader(meta), encoding="utf-8")
    entries.append(_file_entry(task_dir, task_dir / "grader.py", "grader", None))
    meta["files"] = entries
    (task_dir / "task.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if breakage == "tampered_file":
        with (public / "test.csv").open("a", encoding="utf-8") as handle:
            handle.write("\n")
    set_current(home.task_root(slug), version)
    if leaderboard:
        write_reference_board(home, slug, version, higher_is_better=meta["higher_is_better"])
    return FixtureTask(slug=slug, task_dir=task_dir, spec=spec)


def replace_public_table(task: FixtureTask, name: str, frame: pl.DataFrame, role: str = "extra") -> Path:
    """Write public/<name> and record it in task.json (replacing an entry of that path), checksum included."""
    path = task.task_dir / "public" / name
    if name.endswith(".parquet"):
        frame.write_parquet(path, statistics=False)
    else:
        frame.write_csv(path)
    meta_path = task.task_dir / "task.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    relative = path.relative_to(task.task_dir).as_posix()
    meta["files"] = [e for e in meta["files"] if e["path"] != relative]
    meta["files"].append(_file_entry(task.task_dir, path, role, frame.height))
    meta_path.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def write_reference_board(home: Home, slug: str, version: str, *, higher_is_better: bool) -> Path:
    """A four-entry reference leaderboard on both boards, like the lead's reference ladder writes."""
    scores = [0.5, 0.7, 0.8, 0.9] if higher_is_better else [3.0, 1.5, 1.0, 0.7]
    entries = ["dummy-prior", "logistic-c1", "random-forest-100", "hist-gb-lr0.1"]
    frame = pl.DataFrame(
        {
            "board": ["public"] * 4 + ["private"] * 4,
            "score": scores + scores,
            "entry": entries + entries,
        }
    )
    snapshot = f"reference-{version}"
    board = rank_board(frame, higher_is_better, kind="reference", snapshot=snapshot)
    return write_snapshot(board, home.leaderboard_dir(slug), snapshot)
