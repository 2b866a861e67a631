"""Grade a submission against a built task's private answers and its leaderboard."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from graders.metrics import get_metric
from graders.submission_checks import board_scores, grade, max_submission_bytes, sample_bytes


def load_task(task_dir: Path) -> dict:
    """The task.json of a built task."""
    path = Path(task_dir) / "task.json"
    if not path.is_file():
        raise FileNotFoundError(f"{task_dir} is not a built task: no task.json")
    return json.loads(path.read_text())


def leaderboard_dir_for(task_dir: Path, slug: str) -> Path:
    """leaderboards/<slug>/ of the home (or release) the task dir lives in: <root>/tasks/<slug>/<version>."""
    return Path(task_dir).resolve().parents[2] / "leaderboards" / slug


@dataclass(frozen=True)
class GradeResult:
    """The outcome of grading one submission.

    `valid` is False when the submission failed a check; `error` then says which column or row is at
    fault and `score` is None. `position_score` is (N - p + 1) / N on the task's leaderboard for the
    same board (None without a leaderboard); `medal` follows Kaggle's thresholds by team count.
    """

    competition: str
    valid: bool
    score: float | None
    board: str
    error: str | None
    position_score: float | None
    medal: str | None
    higher_is_better: bool

    def to_json(self) -> dict:
        return asdict(self)


def grade_submission(
    task_dir: Path,
    submission: str | Path | pl.DataFrame,
    board: str = "public",
    *,
    leaderboard_dir: Path | None = None,
) -> GradeResult:
    """Check and score a submission (file or frame) in this process; never raises for a bad submission.

    For trusted callers (the reference ladder, tests, benchmarks): a hostile file can take this process's
    memory and time, so untrusted submissions go through graders.isolation.grade_isolated.
    """
    task_dir = Path(task_dir)
    meta = load_task(task_dir)
    answers = task_dir / "private" / "answers.parquet"  # read after the submission: a lower peak on big boards
    scores, teams = board_scores(leaderboard_dir or leaderboard_dir_for(task_dir, meta["slug"]), board)
    metric = get_metric(meta["metric"]["name"])
    max_bytes = max_submission_bytes(sample_bytes(task_dir))
    report = grade(submission, answers, meta, board, metric, scores, teams, max_bytes)
    return GradeResult(**report)
