"""Evaluate an agent on many tasks: one episode per task in parallel processes, a results table and plots."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import polars as pl

from curation.layout import Home
from dojo.registration import built_slugs

RESULT_COLUMNS = {
    "task": pl.String,
    "agent": pl.String,
    "status": pl.String,
    "error": pl.String,
    "metric": pl.String,
    "higher_is_better": pl.Boolean,
    "steps": pl.Int64,
    "best_public_score": pl.Float64,
    "private_score": pl.Float64,
    "private_position": pl.Float64,
    "medal": pl.String,
    "dummy_private_score": pl.Float64,
    "beats_dummy": pl.Boolean,
    "exec_time_s": pl.Float64,
    "wall_s": pl.Float64,
    "trajectory": pl.String,
    "plot": pl.String,
}


def select_tasks(home: Home, slugs: list[str] | None = None, tag: str | None = None) -> list[str]:
    """Built tasks to evaluate: the given slugs (each must be built) or every built task, filtered by tag."""
    built = built_slugs(home)
    if slugs:
        missing = [slug for slug in slugs if slug not in built]
        if missing:
            raise ValueError(f"not built under {home.root}: {', '.join(missing)} (run `dojo build` first)")
        chosen = list(slugs)
    else:
        chosen = built
    if tag is not None:
        chosen = [slug for slug in chosen if tag in _task_tags(home, slug)]
    return chosen


def _task_tags(home: Home, slug: str) -> list[str]:
    task_dir = home.current_task_dir(slug)
    if task_dir is None:
        return []
    return list(json.loads((task_dir / "task.json").read_text(encoding="utf-8")).get("tags", []))


def beats(score: float | None, other: float | None, higher_is_better: bool) -> bool | None:
    """Whether `score` is strictly better than `other`; None when either is missing."""
    if score is None or other is None:
        return None
    return score > other if higher_is_better else score < other


def evaluate_task(
    slug: str,
    agent_name: str,
    out_dir: Path,
    home: str,
    env_options: dict[str, Any],
    agent_options: dict[str, Any],
) -> dict[str, Any]:
    """Play one episode of `slug` and return its result row (errors become a row, not an exception)."""
    import dojo
    from dojo.agents import make_agent
    from dojo.runner import run_episode
    from dojo.task import resolve_task
    from graders.leaderboards import dummy_score

    started = time.perf_counter()
    row: dict[str, Any] = {"task": slug, "agent": agent_name, "status": "error"}
    env = None
    try:
        task = resolve_task(slug, Home.from_env(home))
        board = task.leaderboard()
        row["dummy_private_score"] = dummy_score(board, "private") if board is not None else None
        row["metric"] = task.meta["metric"]["name"]
        row["higher_is_better"] = bool(task.meta["higher_is_better"])
        env = dojo.make(slug, home=home, out_dir=out_dir / slug, **env_options)
        summary = run_episode(env, make_agent(agent_name, **agent_options))
        row.update(
            status="ok",
            steps=summary["steps"],
            best_public_score=summary["best_public_score"],
            private_score=summary["private_score"],
            private_position=summary["private_position"],
            medal=summary["medal"],
            exec_time_s=summary["exec_time_s"],
            trajectory=summary["trajectory"],
        )
        row["beats_dummy"] = beats(row["private_score"], row["dummy_private_score"], row["higher_is_better"])
        if board is not None:
            row["plot"] = str(plot_leaderboard(board, row, out_dir / "plots" / f"{slug}.png"))
    except Exception as exc:  # one failing task becomes a row of the table; the others still run
        row["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
    finally:
        if env is not None:
            env.close()
    row["wall_s"] = round(time.perf_counter() - started, 3)
    return row


def plot_leaderboard(board: pl.DataFrame, row: dict[str, Any], path: Path) -> Path:
    """PNG of the private leaderboard's scores with the agent's private score (and the dummy's) marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = board.filter(pl.col("board") == "private")["score"].drop_nulls().to_list()
    figure, axis = plt.subplots(figsize=(7, 3.2))
    axis.hist(scores, bins=min(30, max(5, len(scores))), color="#9db4cf", edgecolor="#4a6a8f")
    if row.get("dummy_private_score") is not None:
        axis.axvline(row["dummy_private_score"], color="#888888", linestyle=":", label="dummy")
    if row.get("private_score") is not None:
        axis.axvline(row["private_score"], color="#d62728", linewidth=2, label=f"{row['agent']}")
    direction = "higher is better" if row.get("higher_is_better") else "lower is better"
    axis.set_title(f"{row['task']}: private leaderboard ({len(scores)} entries)")
    axis.set_xlabel(f"{row.get('metric', 'score')} ({direction})")
    axis.set_ylabel("entries")
    axis.legend(loc="best", fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def default_jobs(tasks: int) -> int:
    """Parallel episodes: one per core. Most of an episode is one busy process (interpreter start, imports,
    single-threaded fits) and idle OpenMP threads sleep in the sandbox, so cores are not oversubscribed."""
    return max(1, min(tasks, os.cpu_count() or 1))


def evaluate(
    slugs: list[str],
    agent_name: str,
    *,
    out_dir: Path,
    home: Home,
    jobs: int | None = None,
    env_options: dict[str, Any] | None = None,
    agent_options: dict[str, Any] | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> pl.DataFrame:
    """Run one episode per task (in `jobs` processes), write results.parquet and results.csv to out_dir."""
    env_options = dict(env_options or {})
    agent_options = dict(agent_options or {})
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = jobs or default_jobs(len(slugs))
    arguments = [(slug, agent_name, out_dir, str(home.root), env_options, agent_options) for slug in slugs]
    rows: list[dict[str, Any]] = []
    if jobs <= 1 or len(slugs) <= 1:
        for args in arguments:
            rows.append(evaluate_task(*args))
            if on_result:
                on_result(rows[-1])
    else:
        # spawn: workers start clean instead of inheriting this process's threads and open files.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = [pool.submit(evaluate_task, *args) for args in arguments]
            for future in as_completed(futures):
                rows.append(future.result())
                if on_result:
                    on_result(rows[-1])
    table = results_table(rows)
    table.write_parquet(out_dir / "results.parquet")
    table.write_csv(out_dir / "results.csv")
    return table


def results_table(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows in task order with every result column, typed."""
    ordered = sorted(rows, key=lambda row: row["task"])
    return pl.DataFrame(
        [{column: row.get(column) for column in RESULT_COLUMNS} for row in ordered], schema=RESULT_COLUMNS
    )
