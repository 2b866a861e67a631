"""Leak attacks: each hole an id or a source package opened must fail its check; the honest task must pass.

The holes are rebuilt here as they were shipped, so the checks are tested on the real thing: ids that are a
slug-seeded permutation of a class-sorted table (the old row_ids scheme), ids that are a content hash of the
row including its target (the old content_ids scheme), and an offline task whose source table agent code
could load. Their honest versions (ids from a secret salt, a masked provider) must pass.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from release_fixtures import METRICS, fixture_spec, labeled_rows

from curation import leak_attacks
from curation.builtin_datasets import load_builtin
from curation.checks import check_task
from curation.leak_attacks import ATTACK_CHECKS, attack_task, content_hash, id_features, id_model, source_join
from curation.spec import CompetitionSpec
from curation.task_frames import TaskFrames, load_task_frames

SECRET = b"a salt the agent never sees"
# Multiclass fixture labels as small numbers, for ids that hide one in a digit or a parity.
LABEL_CODES = {"high": 0, "low": 1, "mid": 2}


def _file_entry(task_dir: Path, path: Path, role: str, rows: int | None) -> dict:
    return {
        "path": path.relative_to(task_dir).as_posix(),
        "role": role,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "bytes": path.stat().st_size,
        "rows": rows,
    }


def write_task(root: Path, spec: CompetitionSpec, labeled: pl.DataFrame, kind: str, *, seed: int = 0) -> Path:
    """A built task from a labeled table (id, features, target): a random 25% test split, half of it public."""
    rng = np.random.default_rng(seed + 1)
    n = labeled.height
    test_rows = rng.permutation(n)[: round(n * 0.25)]
    is_test = np.zeros(n, dtype=bool)
    is_test[test_rows] = True
    board = np.full(n, None, dtype=object)
    board[test_rows] = "private"
    board[test_rows[: test_rows.size // 2]] = "public"
    labeled = labeled.with_columns(pl.Series("board", board.tolist(), pl.String))
    features = [c for c in labeled.columns if c not in ("target", "board")]
    train = labeled.filter(~pl.Series(is_test)).select(*features, "target")
    test_full = labeled.filter(pl.Series(is_test))
    test, answers = test_full.select(features), test_full.select("id", "target", "board")
    classes = sorted(labeled["target"].cast(pl.String).unique().to_list()) if kind != "regression" else None
    if kind == "multiclass":
        assert classes is not None
        sample = test.select("id").with_columns(pl.lit(1.0 / len(classes)).alias(c) for c in classes)
    else:
        sample = test.select("id").with_columns(pl.lit(train["target"].mode().sort()[0]).alias("target"))
    task_dir = root / "tasks" / spec.slug / "v1"
    (task_dir / "public").mkdir(parents=True)
    (task_dir / "private").mkdir()
    entries = []
    for frame, name, role in ((train, "train.csv", "train"), (test, "test.csv", "test")):
        frame.write_csv(task_dir / "public" / name)
        entries.append(_file_entry(task_dir, task_dir / "public" / name, role, frame.height))
    sample.write_csv(task_dir / "public" / "sample_submission.csv")
    entries.append(_file_entry(task_dir, task_dir / "public" / "sample_submission.csv", "sample_submission", n))
    answers.write_parquet(task_dir / "private" / "answers.parquet")
    entries.append(_file_entry(task_dir, task_dir / "private" / "answers.parquet", "answers", answers.height))
    metric, prediction = METRICS[kind]
    meta = {
        "slug": spec.slug,
        "task_version": "v1",
        "spec_sha256": spec.content_hash(),
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
            "train": train.height,
            "test": test.height,
            "public": int((answers["board"] == "public").sum()),
            "private": int((answers["board"] == "private").sum()),
        },
        "files": entries,
    }
    (task_dir / "task.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return task_dir


def _finding(findings, name: str):
    return next(f for f in findings if f.name == name)


# ---------------------------------------------------------------- (a) slug-seeded permutation of a sorted table


def old_row_ids(rows: int, slug: str) -> np.ndarray:
    """The old row_ids scheme: a permutation of 1..rows seeded by sha256(slug), which anyone can redo."""
    seed = int.from_bytes(hashlib.sha256(slug.encode()).digest()[:8], "big")
    return np.random.default_rng(seed).permutation(rows).astype(np.int64) + 1


def salted_ids(rows: int, slug: str) -> np.ndarray:
    """A permutation seeded by a secret salt: what an honest build does."""
    seed = int.from_bytes(hmac.new(SECRET, slug.encode(), "sha256").digest()[:8], "big")
    return np.random.default_rng(seed).permutation(rows).astype(np.int64) + 1


def sorted_table(kind: str, rows: int = 2000) -> pl.DataFrame:
    """A package-like table: learnable rows sorted by their target, as many package tables are."""
    return labeled_rows(kind, rows, seed=3).drop("id").sort("target", maintain_order=True)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_ids_that_are_a_slug_seeded_permutation_of_a_sorted_table_fail_the_id_model(open_tmp: Path, kind: str) -> None:
    slug = f"sorted-{kind}"
    table = sorted_table(kind)
    leaky = table.with_columns(pl.Series("id", old_row_ids(table.height, slug))).sort("id")
    spec = fixture_spec(slug, kind)
    finding = id_model(load_task_frames(write_task(open_tmp / "leaky", spec, leaky, kind)), spec)
    assert not finding.passed and finding.blocking
    assert finding.value >= finding.threshold and finding.details["beats_dummy"]
    assert finding.details["test_sample_rows"] == 500
    # The ids are what gives it away: the same table with salted ids passes.
    honest = table.with_columns(pl.Series("id", salted_ids(table.height, slug))).sort("id")
    finding = id_model(load_task_frames(write_task(open_tmp / "honest", spec, honest, kind)), spec)
    assert finding.passed, finding.details
    assert finding.value < finding.threshold


def test_the_permutation_the_attacker_redoes_is_among_the_id_features() -> None:
    slug = "redo"
    ids = pl.Series("id", old_row_ids(1000, slug))
    features, names = id_features(ids, np.arange(1000), slug)
    position = features[:, names.index("position.default_rng.sha256[:8].big")]
    # Row i got id permutation[i] + 1: the inverse gives every row's original position back.
    assert np.array_equal(position, np.arange(1000, dtype=np.float64))


@pytest.mark.parametrize(
    ("name", "make_id"),
    [
        ("class prefix", lambda i, target: f"{str(target)[:1]}{i:06d}"),
        ("parity", lambda i, target: 2 * i + LABEL_CODES[target] % 2),
        ("hex with the label in a digit", lambda i, target: f"{i:07x}{LABEL_CODES[target]:x}"),
    ],
)
def test_other_ids_that_encode_the_label_fail_the_id_model(open_tmp: Path, name: str, make_id) -> None:
    table = labeled_rows("multiclass", 2000, seed=5).drop("id")
    order = np.random.default_rng(9).permutation(table.height)
    ids = [make_id(int(order[i]), target) for i, target in enumerate(table["target"].to_list())]
    leaky = table.with_columns(pl.Series("id", ids))
    spec = fixture_spec("encoded", "multiclass")
    finding = id_model(load_task_frames(write_task(open_tmp, spec, leaky, "multiclass")), spec)
    assert not finding.passed, (name, finding.details)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("ids", ["integers", "hex"])
def test_honest_random_ids_pass_the_id_model_on_many_seeds(open_tmp: Path, kind: str, ids: str) -> None:
    spec = fixture_spec(f"honest-{kind}", kind)
    for seed in range(5):
        table = labeled_rows(kind, 1200, seed=seed).drop("id")
        if ids == "hex":
            values = [hmac.new(SECRET, f"{seed}-{i}".encode(), "blake2b").hexdigest()[:16] for i in range(table.height)]
            honest = table.with_columns(pl.Series("id", values))
        else:
            honest = table.with_columns(pl.Series("id", salted_ids(table.height, f"{spec.slug}-{seed}")))
        finding = id_model(
            load_task_frames(write_task(open_tmp / f"{ids}-{seed}", spec, honest, kind, seed=seed)), spec
        )
        assert finding.passed, (seed, finding.details)


# ---------------------------------------------------------------- (b) content hash including the target


def old_content_ids(table: pl.DataFrame, algorithm: str = "blake2b8", separator: str = "\x1f") -> pl.Series:
    """The old content_ids scheme: a digest of the row's cells joined by a separator, nulls as NUL."""
    text = table.select(
        pl.concat_str([pl.col(c).cast(pl.String).fill_null("\x00") for c in table.columns], separator=separator)
    ).to_series()
    if algorithm == "blake2b8":
        digests = [hashlib.blake2b(row.encode(), digest_size=8).hexdigest() for row in text]
    else:
        digests = [hashlib.sha256(row.encode()).hexdigest()[:12] for row in text]
    return pl.Series("id", digests)


@pytest.mark.parametrize(
    ("recipe", "hashed", "algorithm", "separator"),
    [
        ("old content_ids", ["x0", "x1", "n", "color", "target"], "blake2b8", "\x1f"),
        ("sha256 prefix, comma", ["x0", "x1", "n", "color", "target"], "sha256", ","),
        ("features alone", ["x0", "x1", "n", "color"], "blake2b8", "|"),
    ],
)
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_content_hash_ids_fail_their_check(
    open_tmp: Path, kind: str, recipe: str, hashed: list[str], algorithm: str, separator: str
) -> None:
    table = labeled_rows(kind, 400, seed=1).drop("id")
    table = table.with_columns(pl.when(pl.int_range(pl.len()) % 7 == 0).then(None).otherwise(pl.col("n")).alias("n"))
    leaky = table.with_columns(old_content_ids(table.select(hashed), algorithm, separator))
    spec = fixture_spec("hashed", kind)
    finding = content_hash(load_task_frames(write_task(open_tmp, spec, leaky, kind)))
    assert not finding.passed, recipe
    assert finding.value == finding.details["hashable_ids"] == leak_attacks.CONTENT_HASH_ROWS  # every row is caught
    assert finding.details["matches"][0]["layout"] == (
        "features_only" if "target" not in hashed else "with_target_in_place"
    )
    # A keyed hash of the same cells is what an honest build may do: nobody can recompute it.
    keyed = [
        hmac.new(SECRET, "\x1f".join(map(str, row)).encode(), "blake2b").hexdigest()[:16]
        for row in table.select(hashed).iter_rows()
    ]
    honest = table.with_columns(pl.Series("id", keyed))
    finding = content_hash(load_task_frames(write_task(open_tmp / "honest", spec, honest, kind)))
    assert finding.passed and finding.details["hashable_ids"] == leak_attacks.CONTENT_HASH_ROWS


# ---------------------------------------------------------------- (c) an offline source agent code can load


def iris_task(root: Path, slug: str, *, perturb: bool = False) -> tuple[Path, CompetitionSpec]:
    """An offline task carved from sklearn's iris with salted ids; `perturb` moves every test feature."""
    table = load_builtin("sklearn:iris")
    if perturb:
        table = table.with_columns(pl.col("sepal_length_cm") + 0.05)
    table = table.with_columns(pl.Series("id", salted_ids(table.height, slug))).sort("id")
    spec = fixture_spec(slug, "multiclass", source={"kind": "builtin", "dataset": "sklearn:iris"})
    return write_task(root, spec, table.select("id", pl.exclude("id")), "multiclass"), spec


def test_an_unmasked_source_package_that_holds_the_test_rows_fails(open_tmp: Path) -> None:
    task_dir, spec = iris_task(open_tmp, "iris")
    frames = load_task_frames(task_dir)
    finding = source_join(frames, spec, hidden_providers=frozenset())
    assert not finding.passed and finding.blocking
    assert finding.details["masked"] is False
    assert finding.details["matched_share"] > 0.9  # iris repeats a few rows: those match no single package row
    assert {"package_column": "target", "target": "target", "how": "copy"} in finding.details["labels_carried"]
    # The same rows with the provider hidden by the sandbox pass, and say why.
    masked = source_join(frames, spec, hidden_providers=frozenset({"sklearn"}))
    assert masked.passed and masked.details["masked"] is True
    assert masked.details["matched_share"] == finding.details["matched_share"]
    assert masked.details["reason"] == f"{leak_attacks.MASKED_REASON} (rows match and carry labels)"


def test_the_real_mask_list_hides_the_provider(open_tmp: Path) -> None:
    task_dir, spec = iris_task(open_tmp, "iris-default")
    finding = source_join(load_task_frames(task_dir), spec)
    assert finding.passed and finding.details["masked"] is True
    assert finding.details["reason"].startswith(leak_attacks.MASKED_REASON)


def test_test_rows_that_match_no_package_row_pass_even_unmasked(open_tmp: Path) -> None:
    task_dir, spec = iris_task(open_tmp, "iris-moved", perturb=True)
    finding = source_join(load_task_frames(task_dir), spec, hidden_providers=frozenset())
    assert finding.passed and finding.details["matched_rows"] == 0


def test_a_date_that_csv_turned_into_text_still_joins_to_the_package(open_tmp: Path) -> None:
    # A forecast task whose only feature is the date: public CSV holds "2012-01-01T00:00:00.000000", the
    # package a datetime. Agent code parses one and joins; so must the check.
    table = load_builtin("vega:seattle-weather").select("date", pl.col("temp_max").alias("target"))
    table = table.with_columns(pl.Series("id", salted_ids(table.height, "weather"))).sort("id")
    spec = fixture_spec("weather", "regression", source={"kind": "builtin", "dataset": "vega:seattle-weather"})
    frames = load_task_frames(write_task(open_tmp, spec, table.select("id", "date", "target"), "regression"))
    assert frames.test.schema["date"] == pl.String
    finding = source_join(frames, spec, hidden_providers=frozenset())
    assert not finding.passed and finding.details["matched_share"] == 1.0
    assert {"package_column": "temp_max", "target": "target", "how": "copy"} in finding.details["labels_carried"]


def test_check_task_records_the_attacks(open_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    task_dir, spec = iris_task(open_tmp, "iris-checked")
    outcomes = {o.name: o for o in check_task(task_dir, spec).outcomes}
    assert {f"leak_{name}" for name in ATTACK_CHECKS} <= set(outcomes)
    assert outcomes["leak_source_join"].passed and outcomes["leak_source_join"].metadata["masked"] is True
    monkeypatch.setattr(leak_attacks, "is_masked", lambda provider, hidden=None: False)
    outcomes = {o.name: o for o in check_task(task_dir, spec).outcomes}
    assert not outcomes["leak_source_join"].passed
    assert outcomes["leak_id_model"].passed and outcomes["leak_content_hash"].passed


# ---------------------------------------------------------------- robustness and cost


def test_an_attack_that_errors_is_a_failed_finding_not_a_crash(open_tmp: Path) -> None:
    task_dir, spec = iris_task(open_tmp, "iris-broken")
    meta_path = task_dir / "task.json"
    meta = json.loads(meta_path.read_text())
    meta["metric"]["name"] = "no_such_metric"
    meta_path.write_text(json.dumps(meta))
    findings = attack_task(load_task_frames(task_dir), spec)
    assert [f.name for f in findings] == list(ATTACK_CHECKS)
    broken = _finding(findings, "id_model")
    assert not broken.passed and "no_such_metric" in broken.details["error"]
    assert _finding(findings, "content_hash").passed


def test_the_id_model_samples_a_million_row_task_in_seconds() -> None:
    rng = np.random.default_rng(0)
    rows = 1_000_000
    ids = rng.permutation(rows).astype(np.int64) + 1
    target = (ids % 2).astype(np.int64)  # the label is the id's parity: a leak the model must still find
    x = rng.normal(size=rows)
    n_test = rows // 5
    meta = {
        "slug": "big",
        "task_type": "binary",
        "metric": {"name": "accuracy", "params": {}},
        "prediction": "label",
        "id_column": "id",
        "target_columns": ["target"],
        "prediction_columns": ["target"],
        "classes": ["0", "1"],
        "split": {"method": "random"},
    }
    frames = TaskFrames(
        task_dir=Path("/nonexistent"),
        meta=meta,
        train=pl.DataFrame({"id": ids[n_test:], "x": x[n_test:], "target": target[n_test:]}),
        test=pl.DataFrame({"id": ids[:n_test], "x": x[:n_test]}),
        sample_submission=pl.DataFrame({"id": ids[:n_test], "target": np.zeros(n_test, dtype=np.int64)}),
        answers=pl.DataFrame({"id": ids[:n_test], "target": target[:n_test], "board": ["public"] * n_test}),
        paths={},
    )
    started = time.perf_counter()
    finding = id_model(frames, fixture_spec("big", "binary"))
    elapsed = time.perf_counter() - started
    assert not finding.passed
    assert finding.details["train_sample_rows"] == leak_attacks.ID_MODEL_TRAIN_ROWS
    assert finding.details["test_sample_rows"] == leak_attacks.ID_MODEL_TEST_ROWS
    assert elapsed < 30, f"{elapsed:.1f}s"  # a few seconds on a quiet machine; generous for a shared one
