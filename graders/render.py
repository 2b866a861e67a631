"""Render the self-contained grader.py that ships with every task."""

from __future__ import annotations

import hashlib
import inspect
import json
from functools import cache
from types import ModuleType

from graders import limits, metrics, ranking, submission_checks

# Order matters: each module may use names defined by the ones before it.
EMBEDDED_MODULES: tuple[ModuleType, ...] = (metrics, ranking, limits, submission_checks)

_MAIN = """

# ---- command line ------------------------------------------------------------------------------
def main(argv=None) -> int:
    import argparse
    import json as _json
    import sys as _sys

    here = Path(__file__).resolve().parent
    defaults = task_limits(sample_bytes(here))
    parser = argparse.ArgumentParser(description="Grade a submission for " + TASK["slug"] + ".")
    parser.add_argument("submission", help="path to submission.csv")
    parser.add_argument("--board", choices=["public", "private"], default="public")
    parser.add_argument("--leaderboard", help="directory of leaderboard snapshots (default: beside the task)")
    parser.add_argument("--memory-mb", type=int, default=defaults.memory_mb, help="memory the grading may use")
    parser.add_argument("--timeout-s", type=float, default=defaults.timeout_s, help="time the grading may take")
    parser.add_argument(
        "--in-process", action="store_true", help="grade in this process, without limits (trusted files only)"
    )
    parser.add_argument("--limited", action="store_true", help=argparse.SUPPRESS)  # the child of a limited run
    args = parser.parse_args(argv)
    limits = GradeLimits(args.memory_mb, args.timeout_s)
    if not (args.in_process or args.limited):
        # A hostile file must not take this process's memory or time: grade in a child under limits.
        command = [_sys.executable, str(Path(__file__).resolve()), "--limited", *limits.to_args()]
        command += ["--board", args.board, *(["--leaderboard", args.leaderboard] if args.leaderboard else [])]
        report, stopped = run_limited([*command, "--", args.submission], limits)
        if report is None:
            report = invalid_report(TASK, args.board, stopped)
        _sys.stdout.write(_json.dumps(report, sort_keys=True) + "\\n")
        return 0
    if args.limited:
        warm_up()
        apply_limits(limits)
    answers = here / "private" / "answers.parquet"  # read after the submission: a lower peak on big boards
    board_dir = Path(args.leaderboard) if args.leaderboard else here.parents[2] / "leaderboards" / TASK["slug"]
    scores, teams = board_scores(board_dir, args.board)
    metric = METRICS[TASK["metric"]["name"]]
    max_bytes = max_submission_bytes(sample_bytes(here))
    try:
        report = grade(args.submission, answers, TASK, args.board, metric, scores, teams, max_bytes)
    except MemoryError:
        if args.limited:
            os._exit(MEMORY_EXIT)  # no clean-up: it could need the memory there is none of
        raise
    _sys.stdout.write(_json.dumps(report, sort_keys=True) + "\\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
"""


def _module_body(module: ModuleType) -> str:
    """A module's source without its `from __future__` and intra-package imports (they are embedded)."""
    lines = inspect.getsource(module).splitlines()
    kept = [line for line in lines if not line.startswith(("from __future__ import", "from graders."))]
    return "\n".join(kept).strip() + "\n"


@cache
def grader_code_version() -> str:
    """Hash of everything that goes into a rendered grader besides the task: part of task_version."""
    digest = hashlib.sha256(_MAIN.encode())
    for module in EMBEDDED_MODULES:
        digest.update(_module_body(module).encode())
    return digest.hexdigest()[:16]


def render_grader(meta: dict) -> str:
    """grader.py for a task: the embedded modules, the task's constants and a command line."""
    task = {key: value for key, value in meta.items() if key != "files"}
    header = (
        "#!/usr/bin/env python3\n"
        f'"""Grader for {meta["slug"]} (task version {meta["task_version"]}), rendered by MLE-Dojo.\n\n'
        "Usage: python grader.py submission.csv [--board public|private]\n"
        "Needs only numpy, polars and scikit-learn. Do not edit: it is regenerated from graders/.\n"
        '"""\n\n'
        "from __future__ import annotations\n\n"
        "import json as _task_json\n\n"
        f"TASK = _task_json.loads({json.dumps(task, sort_keys=True)!r})\n"
    )
    sections = [header]
    for module in EMBEDDED_MODULES:
        name = module.__name__.replace(".", "/")
        sections.append(f"\n# ---- {name}.py " + "-" * max(0, 80 - len(name) - 12) + "\n")
        sections.append(_module_body(module))
    sections.append(_MAIN)
    return "".join(sections)


def metric_source(name: str) -> str:
    """Source of one metric's function, for the catalog's metric_code table."""
    return inspect.getsource(metrics.get_metric(name).fn)
