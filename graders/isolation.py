"""Grade an untrusted submission in a child process under memory and time limits.

The env, `dojo grade` and other callers that grade files they did not write use grade_isolated: a
submission that would take gigabytes or minutes to read stops the child, not the caller, and comes back
as an invalid GradeResult saying which limit it hit. `python -m graders.isolation` is the child's side.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from graders.grading import GradeResult, grade_submission, load_task
from graders.limits import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_S,
    MEMORY_EXIT,
    GradeLimits,
    apply_limits,
    run_limited,
    task_limits,
)
from graders.submission_checks import invalid_report, sample_bytes, warm_up

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # on the child's path, whether or not the repo is installed
_REPORT_KEYS = frozenset(GradeResult.__dataclass_fields__)


def limits_for(task_dir: Path) -> GradeLimits:
    """The default grading limits of a built task (more memory for large answers)."""
    return task_limits(sample_bytes(Path(task_dir)))


def grade_isolated(
    task_dir: Path,
    submission: str | Path,
    board: str = "public",
    *,
    leaderboard_dir: Path | None = None,
    limits: GradeLimits | None = None,
) -> GradeResult:
    """grade_submission in a child process under `limits` (default: limits_for(task_dir)).

    Never raises for a bad submission: a limit hit or a crashed child gives an invalid result whose error
    says which. Raises FileNotFoundError for a task dir that is not a built task, as grade_submission does.
    """
    task_dir = Path(task_dir)
    meta = load_task(task_dir)
    limits = limits or limits_for(task_dir)
    # -P: the caller's working directory is not put on the child's import path.
    command = [sys.executable, "-P", "-m", "graders.isolation", *limits.to_args(), "--board", board]
    if leaderboard_dir is not None:
        command += ["--leaderboard", str(leaderboard_dir)]
    command += ["--", str(task_dir), str(submission)]
    python_path = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH")) if p)
    report, stopped = run_limited(command, limits, {"PYTHONPATH": python_path})
    if report is None or set(report) != _REPORT_KEYS:
        return GradeResult(
            **invalid_report(meta, board, stopped or "grading stopped: the grader's report is malformed")
        )
    return GradeResult(**report)


def main(argv: list[str] | None = None) -> int:
    """The child: apply the limits, grade, print the report as one JSON line."""
    parser = argparse.ArgumentParser(description="Grade one submission under memory and time limits.")
    parser.add_argument("task_dir")
    parser.add_argument("submission")
    parser.add_argument("--board", choices=["public", "private"], default="public")
    parser.add_argument("--leaderboard", help="directory of leaderboard snapshots (default: beside the task)")
    parser.add_argument("--memory-mb", type=int, default=DEFAULT_MEMORY_MB)
    parser.add_argument("--timeout-s", type=float, default=DEFAULT_TIMEOUT_S)
    args = parser.parse_args(argv)
    warm_up()
    apply_limits(GradeLimits(args.memory_mb, args.timeout_s))
    leaderboard_dir = Path(args.leaderboard) if args.leaderboard else None
    try:
        result = grade_submission(Path(args.task_dir), args.submission, args.board, leaderboard_dir=leaderboard_dir)
    except MemoryError:
        os._exit(MEMORY_EXIT)  # no clean-up: it could need the memory there is none of
    sys.stdout.write(json.dumps(result.to_json(), sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
