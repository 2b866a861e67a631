"""Leak audit of a built task: what in the public files gives the private answers away.

- target_columns: no target, copy of a target or 1:1 mapping of one in test, extra tables or the sample submission;
- shared_ids: no id in both public train and public test;
- duplicate_rows: share of private-test rows whose features exactly repeat a train row (blocking above
  spec.leak.max_duplicate_share);
- order_correlation: |association| between a target and the file order or the id's rank, in train and in
  test (blocking above spec.leak.max_order_correlation when significant at SIGNIFICANCE);
- board_sizes: public and private boards non-empty, of task.json's sizes and of the configured fraction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from curation.spec import CompetitionSpec
from curation.task_frames import TaskFrames, column_kind, size_tolerance

LEAK_CHECKS = {
    "target_columns": "No target, copy of a target or 1:1 mapping of a target in test, extra tables or the sample "
    "submission.",
    "shared_ids": "No id is in both public train and public test.",
    "duplicate_rows": "Share of private-test rows whose features exactly repeat a train row is at most "
    "spec.leak.max_duplicate_share.",
    "order_correlation": "|Association| of each target with file order and id rank is at most "
    "spec.leak.max_order_correlation, or not significant.",
    "board_sizes": "Public and private boards are non-empty, of task.json's sizes and of the configured fraction.",
}
EXAMPLES = 10
# An order association blocks only when it is also this unlikely by chance: small tasks have noisy ranks.
SIGNIFICANCE = 1e-3
# A column is a monotone image of a continuous target when their rank correlation is this close to 1.
MONOTONE_RHO = 0.9999


@dataclass(frozen=True)
class LeakFinding:
    """One leak check: passed or not, whether a failure blocks a release, the measured value and its limit."""

    name: str  # a key of LEAK_CHECKS
    passed: bool
    blocking: bool
    value: float | int | None
    threshold: float | None
    details: dict[str, Any] = field(default_factory=dict)


def _aligned(frame: pl.DataFrame, answers: pl.DataFrame, id_column: str, column: str, target: str) -> pl.DataFrame:
    """(value, target) pairs of the rows of `frame` whose id is in the answers, nulls dropped."""
    left = frame.select(pl.col(id_column).cast(pl.String).alias("_id"), pl.col(column).alias("_value"))
    right = answers.select(pl.col(id_column).cast(pl.String).alias("_id"), pl.col(target).alias("_target"))
    return left.join(right, on="_id", how="inner").drop("_id").drop_nulls()


def _derivation(pairs: pl.DataFrame) -> str | None:
    """How `_value` derives from `_target`, if it does: "copy", "mapping" (1:1) or "monotone"; else None."""
    n = pairs.height
    if n < 2:
        return None
    value, target = pairs["_value"], pairs["_target"]
    distinct = target.n_unique()
    if distinct < 2:
        return None
    both_numeric = value.dtype.is_numeric() and target.dtype.is_numeric()
    if both_numeric:
        same = (value.cast(pl.Float64) == target.cast(pl.Float64)).all()
    else:
        same = (value.cast(pl.String) == target.cast(pl.String)).all()
    if same:
        return "copy"
    if value.n_unique() != distinct:
        return None
    if distinct < n:
        # Same partition of the rows: each value goes with one target value and back.
        pairs_distinct = pairs.select(pl.struct("_value", "_target").n_unique()).item()
        return "mapping" if pairs_distinct == distinct else None
    # Every target value is unique, so any unique column is trivially 1:1; only a monotone image gives it away.
    if both_numeric:
        rho = pairs.select(pl.corr("_value", "_target", method="spearman")).item()
        if rho is not None and np.isfinite(rho) and abs(rho) >= MONOTONE_RHO:
            return "monotone"
    return None


def target_leaks(frames: TaskFrames) -> list[dict[str, str]]:
    """Every public column besides train's that is a target by name, a copy of one, or a 1:1 mapping of one."""
    id_column, targets, answers = frames.id_column, frames.target_columns, frames.answers
    tables: list[tuple[str, pl.DataFrame, bool]] = [
        (frames.paths["test"], frames.test, True),
        *((path, table, True) for path, table in frames.extras.items()),
        # The sample submission legitimately has columns named like the targets; only its values can leak.
        (frames.paths["sample_submission"], frames.sample_submission, False),
    ]
    found = []
    for path, table, check_names in tables:
        for column in table.columns:
            if column == id_column:
                continue
            for target in targets:
                if check_names and column == target:
                    found.append({"file": path, "column": column, "target": target, "how": "named"})
                    continue
                if id_column not in table.columns or target not in answers.columns:
                    continue
                how = _derivation(_aligned(table, answers, id_column, column, target))
                if how:
                    found.append({"file": path, "column": column, "target": target, "how": how})
    return found


def shared_ids(frames: TaskFrames) -> list[Any]:
    """Ids in both public train and public test (compared as text), sorted."""
    id_column = frames.id_column
    if id_column not in frames.train.columns or id_column not in frames.test.columns:
        return []
    train = frames.train[id_column].cast(pl.String).drop_nulls().unique()
    test = frames.test[id_column].cast(pl.String).drop_nulls().unique()
    return sorted(test.filter(test.is_in(train.implode())).to_list())


def _comparable(train: pl.DataFrame, test: pl.DataFrame, columns: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Feature columns cast so equal values compare equal across files (numbers as floats, the rest as text)."""
    casts = []
    for column in columns:
        numeric = column_kind(train.schema[column]) == column_kind(test.schema[column]) == "numeric"
        casts.append(pl.col(column).cast(pl.Float64 if numeric else pl.String))
    return train.select(casts), test.select(casts)


def duplicate_rows(frames: TaskFrames) -> dict[str, Any]:
    """Private-test rows whose features exactly repeat a train row (nulls equal to nulls); public ones for reference."""
    id_column = frames.id_column
    columns = [c for c in frames.feature_columns if c in frames.train.columns]
    private_ids = frames.answers.filter(pl.col("board") == "private")[id_column].cast(pl.String)
    is_private = frames.test[id_column].cast(pl.String).is_in(private_ids.implode())
    n_private = int(is_private.sum())
    result: dict[str, Any] = {"feature_columns": len(columns), "private_rows": n_private}
    if not columns or n_private == 0:
        return result | {
            "private_duplicates": 0,
            "share": 0.0,
            "private_duplicates_same_target": 0,
            "public_duplicates": 0,
        }
    train, test = _comparable(frames.train, frames.test, columns)
    repeated = test.join(train.unique(), on=columns, how="semi", nulls_equal=True).height
    private_rows = test.with_columns(frames.test[id_column].cast(pl.String).alias("_id")).filter(is_private)
    private = private_rows.join(train.unique(), on=columns, how="semi", nulls_equal=True)
    # For reading the share: duplicates whose twin in train also has the same answer give the answer away.
    targets = [t for t in frames.target_columns if t in frames.train.columns and t in frames.answers.columns]
    same_target = 0
    if targets and private.height:
        answers = frames.answers.select(pl.col(id_column).cast(pl.String).alias("_id"), *targets)
        twins = frames.train.select(targets).with_columns(train.select(columns)).unique()
        with_answers = private.join(answers, on="_id", how="left")
        cast = [pl.col(t).cast(pl.String) for t in targets]
        same_target = (
            with_answers.with_columns(cast)
            .join(twins.with_columns(cast), on=[*columns, *targets], how="semi", nulls_equal=True)
            .height
        )
    return result | {
        "private_duplicates": private.height,
        "share": private.height / n_private,
        "private_duplicates_same_target": same_target,
        "public_duplicates": repeated - private.height,
    }


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), as Spearman's correlation needs."""
    return pl.Series(values).rank("average").to_numpy().astype(np.float64)


def _rank_correlation(ranks: np.ndarray, labels: pl.Series) -> tuple[float, float]:
    """|Spearman rho| between order ranks and the labels' own ranks (numeric or lexicographic), with its t-test."""
    n = ranks.size
    values = labels.rank("average").to_numpy().astype(np.float64)
    if np.std(values) == 0:
        return 0.0, 1.0
    rho = float(min(1.0, abs(np.corrcoef(ranks, values)[0, 1])))
    if rho >= 1.0:
        return 1.0, 0.0
    t = rho * np.sqrt((n - 2) / (1.0 - rho**2))
    return rho, float(2 * stats.t.sf(t, n - 2))


def association(order: np.ndarray, target: pl.Series, categorical: bool) -> tuple[float, float]:
    """How strongly a target follows an ordering, in [0, 1], and the p-value of "not at all".

    Labels: the correlation ratio of the order's ranks by label (F-test), adjusted for the number of
    labels like adjusted R^2, so that many small classes do not look ordered by chance alone. Numbers,
    free text and labels too many for their rows to group: |Spearman rho| against the values' own
    order (t-test), which finds a file sorted by the target.
    """
    mask = ~target.is_null().to_numpy()
    ranks, labels = _ranks(order[mask]), target.filter(pl.Series(mask))
    n = ranks.size
    if n < 4 or labels.n_unique() < 2 or np.std(ranks) == 0:
        return 0.0, 1.0
    k = labels.n_unique()
    if not categorical or 2 * k > n:
        return _rank_correlation(ranks, labels)
    codes = labels.cast(pl.String).to_frame("label").select(pl.col("label").rank("dense")).to_series().to_numpy()
    centered = ranks - ranks.mean()
    total = float(centered @ centered)
    sums = np.bincount(codes - 1, weights=centered, minlength=k)
    counts = np.bincount(codes - 1, minlength=k)
    eta_squared = min(1.0, float(np.sum(sums[counts > 0] ** 2 / counts[counts > 0])) / total)
    adjusted = float(np.sqrt(max(0.0, 1.0 - (1.0 - eta_squared) * (n - 1) / (n - k))))
    if eta_squared >= 1.0:
        return adjusted, 0.0
    f = (eta_squared / (k - 1)) / ((1.0 - eta_squared) / (n - k))
    return adjusted, float(stats.f.sf(f, k - 1, n - k))


def _id_rank(ids: pl.Series) -> np.ndarray:
    return ids.rank("average").to_numpy().astype(np.float64)


def order_correlations(frames: TaskFrames) -> dict[str, tuple[float, float]]:
    """'<file>.<order>.<target>' -> (association, p-value) of the target with file order and id rank, train and test."""
    id_column = frames.id_column
    test_targets = frames.test.select(pl.col(id_column).cast(pl.String).alias("_id")).join(
        frames.answers.with_columns(pl.col(id_column).cast(pl.String).alias("_id")),
        on="_id",
        how="left",
        maintain_order="left",
    )
    found: dict[str, tuple[float, float]] = {}
    for target in frames.target_columns:
        categorical = frames.target_is_categorical(target)
        for name, frame, values in (
            ("train", frames.train, frames.train[target] if target in frames.train.columns else None),
            ("test", frames.test, test_targets[target] if target in test_targets.columns else None),
        ):
            if values is None or id_column not in frame.columns:
                continue
            positions = np.arange(frame.height, dtype=np.float64)
            found[f"{name}.file_order.{target}"] = association(positions, values, categorical)
            found[f"{name}.id_rank.{target}"] = association(_id_rank(frame[id_column]), values, categorical)
    return found


def board_sizes(frames: TaskFrames) -> dict[str, Any]:
    """Rows per board in the answers against task.json's counts and the configured public fraction."""
    meta, answers = frames.meta, frames.answers
    split = meta["split"]
    boards = answers["board"] if "board" in answers.columns else pl.Series("board", [], pl.String)
    public, private = int((boards == "public").sum()), int((boards == "private").sum())
    n = answers.height
    expected_public = round(n * float(split["public_fraction"]))
    largest_group = 0
    group_column = split.get("group_column")
    if split.get("method") == "group" and group_column in frames.test.columns:
        largest_group = int(frames.test[group_column].value_counts()["count"].max() or 0)
    tolerance = size_tolerance(n, split.get("method", "random"), largest_group)
    problems = []
    if public == 0 or private == 0:
        problems.append(f"empty board: public={public}, private={private}")
    if public + private != n:
        problems.append(f"{n - public - private} answer rows on no board")
    if (public, private) != (meta["rows"]["public"], meta["rows"]["private"]):
        problems.append(
            f"task.json says public={meta['rows']['public']}, private={meta['rows']['private']}; "
            f"answers have {public}, {private}"
        )
    if abs(public - expected_public) > tolerance:
        problems.append(f"public board has {public} rows, expected {expected_public} ± {tolerance}")
    return {
        "public": public,
        "private": private,
        "expected_public": expected_public,
        "tolerance": tolerance,
        "problems": problems,
    }


def audit_task(frames: TaskFrames, spec: CompetitionSpec) -> list[LeakFinding]:
    """Every leak check of one task, each blocking when it fails."""
    leaks = target_leaks(frames)
    shared = shared_ids(frames)
    duplicates = duplicate_rows(frames)
    correlations = order_correlations(frames)
    boards = board_sizes(frames)
    # Time splits write files in time order and time is a feature: order there says nothing time does not.
    time_split = frames.meta["split"].get("method") == "time"
    counted = [
        value
        for key, (value, p_value) in correlations.items()
        if p_value < SIGNIFICANCE and not (time_split and ".file_order." in key)
    ]
    strongest = max(counted, default=0.0)
    max_duplicates = spec.leak.max_duplicate_share
    max_order = spec.leak.max_order_correlation
    return [
        LeakFinding(
            "target_columns",
            passed=not leaks,
            blocking=True,
            value=len(leaks),
            threshold=0,
            details={"found": leaks[:EXAMPLES]},
        ),
        LeakFinding(
            "shared_ids",
            passed=not shared,
            blocking=True,
            value=len(shared),
            threshold=0,
            details={"examples": shared[:EXAMPLES]},
        ),
        LeakFinding(
            "duplicate_rows",
            passed=duplicates["share"] <= max_duplicates,
            blocking=True,
            value=round(duplicates["share"], 6),
            threshold=max_duplicates,
            details=duplicates,
        ),
        LeakFinding(
            "order_correlation",
            passed=strongest <= max_order,
            blocking=True,
            value=round(strongest, 6),
            threshold=max_order,
            details={
                "associations": {k: round(v, 6) for k, (v, _) in sorted(correlations.items())},
                "p_values": {k: float(f"{p:.3g}") for k, (_, p) in sorted(correlations.items())},
                "significance": SIGNIFICANCE,
            }
            | ({"not_counted": "file order of a time split"} if time_split else {}),
        ),
        LeakFinding(
            "board_sizes",
            passed=not boards["problems"],
            blocking=True,
            value=boards["public"],
            threshold=None,
            details=boards,
        ),
    ]
