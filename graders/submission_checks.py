"""Submission checks, scoring against answers, and the grade report.

Self-contained (numpy and polars only, plus `from graders.` imports of other embedded modules, which
render.py removes): render.py embeds this module's source in every task's grader.py, so the
in-package grader and the shipped one run the same code.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from graders.ranking import medal, position_score

MAX_LISTED = 5  # how many offending ids or rows a message names before "and N more"


class SubmissionError(Exception):
    """A submission that cannot be scored; the message names the column or row at fault."""


def _listing(values: list[Any]) -> str:
    shown = ", ".join(repr(v) for v in values[:MAX_LISTED])
    more = len(values) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def read_submission(source: str | Path | pl.DataFrame) -> pl.DataFrame:
    """Every column as text, so that type problems are reported by the checks and not by the reader."""
    if isinstance(source, pl.DataFrame):
        return source.select(pl.all().cast(pl.String))
    path = Path(source)
    if not path.is_file():
        raise SubmissionError(f"submission file {path} does not exist")
    if path.stat().st_size == 0:
        raise SubmissionError(f"submission file {path} is empty")
    try:
        return pl.read_csv(path, infer_schema=False, raise_if_empty=True)
    except (pl.exceptions.PolarsError, UnicodeDecodeError, OSError) as exc:
        raise SubmissionError(f"submission file {path} is not a readable CSV: {exc}") from exc


def _parse_numbers(sub: pl.DataFrame, column: str, id_column: str, allow_nan: bool) -> pl.Series:
    parsed = sub[column].str.strip_chars().cast(pl.Float64, strict=False)
    bad = sub.filter(parsed.is_null() & ~(sub[column].is_null() & allow_nan))
    if bad.height:
        rows = [f"{row[id_column]}={row[column]!r}" for row in bad.head(MAX_LISTED).iter_rows(named=True)]
        raise SubmissionError(f"column {column!r}: {bad.height} values are not numbers (id=value: {', '.join(rows)})")
    if not allow_nan:
        nonfinite = sub.filter(~parsed.is_finite())
        if nonfinite.height:
            ids = nonfinite[id_column].to_list()
            raise SubmissionError(f"column {column!r}: NaN or infinite values at ids {_listing(ids)}")
    return parsed


def _parse_labels(sub: pl.DataFrame, column: str, id_column: str, answer_dtype: pl.DataType) -> pl.Series:
    values = sub[column].str.strip_chars()
    missing = sub.filter(values.is_null() | (values == ""))
    if missing.height:
        raise SubmissionError(f"column {column!r}: empty labels at ids {_listing(missing[id_column].to_list())}")
    if answer_dtype.is_integer():
        as_float = values.cast(pl.Float64, strict=False)
        bad = sub.filter(as_float.is_null() | (as_float != as_float.round(0)))
        if bad.height:
            raise SubmissionError(
                f"column {column!r}: labels must be integers; bad values {_listing(bad[column].to_list())}"
            )
        return as_float.cast(pl.Int64)
    if answer_dtype.is_float():
        return _parse_numbers(sub, column, id_column, allow_nan=False)
    if answer_dtype == pl.Boolean:
        lowered = values.str.to_lowercase()
        bad = sub.filter(~lowered.is_in(["true", "false", "1", "0"]))
        if bad.height:
            raise SubmissionError(
                f"column {column!r}: expected True/False; bad values {_listing(bad[column].to_list())}"
            )
        return lowered.is_in(["true", "1"])
    return values


def align(sub: pl.DataFrame, answers: pl.DataFrame, meta: dict) -> pl.DataFrame:
    """Check columns and ids; return the submission with typed prediction columns, in answers' id order."""
    id_column = meta["id_column"]
    expected = [id_column, *meta["prediction_columns"]]
    missing = [c for c in expected if c not in sub.columns]
    extra = [c for c in sub.columns if c not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing columns {missing}")
        if extra:
            parts.append(f"unexpected columns {extra}")
        raise SubmissionError("; ".join(parts) + f" (expected exactly {expected}, as in sample_submission.csv)")
    sub = sub.select(expected)
    ids = sub[id_column].str.strip_chars()
    if ids.null_count():
        raise SubmissionError(f"column {id_column!r}: {ids.null_count()} empty ids")
    duplicated = ids.filter(ids.is_duplicated()).unique(maintain_order=True).to_list()
    if duplicated:
        raise SubmissionError(f"column {id_column!r}: duplicated ids {_listing(duplicated)}")
    answer_ids = answers[id_column].cast(pl.String)
    unknown = ids.filter(~ids.is_in(answer_ids.implode())).to_list()
    if unknown:
        raise SubmissionError(f"column {id_column!r}: ids not in the test set {_listing(unknown)}")
    absent = answer_ids.filter(~answer_ids.is_in(ids.implode())).to_list()
    if absent:
        raise SubmissionError(f"column {id_column!r}: {len(absent)} test ids are missing: {_listing(absent)}")
    return sub.with_columns(ids.alias(id_column))


def _typed_predictions(sub: pl.DataFrame, answers: pl.DataFrame, meta: dict, allows_nan: bool) -> pl.DataFrame:
    id_column, kind = meta["id_column"], meta["prediction"]
    typed = {id_column: sub[id_column]}
    for index, column in enumerate(meta["prediction_columns"]):
        if kind in ("number", "probability", "class_probabilities"):
            values = _parse_numbers(sub, column, id_column, allow_nan=allows_nan)
            if kind != "number":
                outside = sub.filter((values < 0) | (values > 1))
                if outside.height:
                    raise SubmissionError(
                        f"column {column!r}: probabilities must lie in [0, 1]; "
                        f"ids {_listing(outside[id_column].to_list())} do not"
                    )
        elif kind == "label":
            target = meta["target_columns"][index]
            values = _parse_labels(sub, column, id_column, answers.schema[target])
            classes = meta.get("classes")
            if classes is not None:
                unknown = sub.filter(~values.cast(pl.String).is_in(classes))
                if unknown.height:
                    raise SubmissionError(
                        f"column {column!r}: labels {_listing(unknown[column].unique().to_list())} are not among the "
                        f"classes {_listing(classes)}"
                    )
        else:
            values = sub[column].fill_null("")
        typed[column] = values
    return pl.DataFrame(typed)


def _as_array(frame: pl.DataFrame, columns: list[str]) -> np.ndarray:
    if len(columns) == 1:
        return frame[columns[0]].to_numpy()
    return frame.select(columns).to_numpy()


def score_submission(source: str | Path | pl.DataFrame, answers: pl.DataFrame, meta: dict, board: str, metric) -> float:
    """Check a submission and score it on `board`; raise SubmissionError with a clear message if it is invalid.

    `metric` is a graders.metrics.Metric; `meta` is the task.json dict.
    """
    if board not in ("public", "private"):
        raise SubmissionError(f"board must be 'public' or 'private', not {board!r}")
    sub = align(read_submission(source), answers, meta)
    typed = _typed_predictions(sub, answers, meta, metric.allows_nan)
    id_column = meta["id_column"]
    on_board = answers.filter(pl.col("board") == board).with_columns(pl.col(id_column).cast(pl.String))
    if on_board.is_empty():
        raise SubmissionError(f"the {board} board has no rows")
    joined = on_board.join(typed, on=id_column, how="left", suffix="__pred", maintain_order="left")
    pred_columns = [f"{c}__pred" if c in meta["target_columns"] else c for c in meta["prediction_columns"]]
    y_true = _as_array(joined, meta["target_columns"])
    y_pred = _as_array(joined, pred_columns)
    params = dict(metric.defaults) | dict(meta["metric"].get("params") or {})
    if meta["prediction"] == "class_probabilities":
        params["labels"] = list(meta["prediction_columns"])
        y_true = y_true.astype(str)
    try:
        value = float(metric.fn(y_true, y_pred, **params))
    except (ValueError, TypeError, ZeroDivisionError, IndexError, KeyError) as exc:
        raise SubmissionError(f"metric {metric.name} could not score this submission: {exc}") from exc
    if math.isnan(value):
        raise SubmissionError(f"metric {metric.name} is undefined for this submission (NaN)")
    return value


def board_scores(leaderboard_dir: Path, board: str) -> tuple[list[float], int | None]:
    """Scores of the newest leaderboard snapshot on `board` (falling back to private) and its team count."""
    snapshots = sorted(leaderboard_dir.glob("*.parquet")) if leaderboard_dir.is_dir() else []
    if not snapshots:
        return [], None
    frame = pl.read_parquet(snapshots[-1])
    chosen = board if (frame["board"] == board).any() else "private"
    rows = frame.filter(pl.col("board") == chosen).drop_nulls("score")
    teams = rows["team_count"].max() if "team_count" in rows.columns and rows.height else None
    return rows["score"].cast(pl.Float64).to_list(), int(teams) if teams is not None else None


def grade(
    source: str | Path | pl.DataFrame,
    answers: pl.DataFrame,
    meta: dict,
    board: str,
    metric,
    scores_on_board: list[float],
    team_count: int | None,
) -> dict:
    """The grade report: never raises for a bad submission, it says what is wrong in `error`."""
    report: dict = {
        "competition": meta["slug"],
        "valid": False,
        "score": None,
        "board": board,
        "error": None,
        "position_score": None,
        "medal": None,
        "higher_is_better": bool(meta["higher_is_better"]),
    }
    try:
        value = score_submission(source, answers, meta, board, metric)
    except SubmissionError as exc:
        report["error"] = str(exc)
        return report
    report["valid"] = True
    report["score"] = value
    if scores_on_board:
        report["position_score"] = position_score(value, scores_on_board, meta["higher_is_better"])
        report["medal"] = medal(value, scores_on_board, meta["higher_is_better"], team_count)
    return report
