"""The runtime's commands (run, evaluate, export), mounted by pipelines/cli.py into the `dojo` command."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from curation.layout import Home
from dojo.agents import AGENT_NAMES

USAGE_ERROR = 2


def _console(stream=None) -> Console:
    stream = stream or sys.stdout
    return Console(file=stream, highlight=False, width=None if stream.isatty() else 160)


def _fmt(value: Any, digits: int = 6) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _env_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "max_steps": args.max_steps,
        "time_budget_s": args.time_budget,
        "exec_timeout_s": args.exec_timeout,
        "memory_mb": args.memory_mb,
        "reward_mode": args.reward_mode,
        "allow_unsandboxed": args.allow_unsandboxed,
    }


def _agent_options(args: argparse.Namespace) -> dict[str, Any]:
    if args.agent != "openai":
        return {}
    options: dict[str, Any] = {"temperature": args.temperature}
    if args.model:
        options["model"] = args.model
    if args.base_url:
        options["base_url"] = args.base_url
    return options


def _usage(command: str, message: str) -> int:
    print(f"dojo {command}: {message}", file=sys.stderr)
    return USAGE_ERROR


def cmd_run(args: argparse.Namespace) -> int:
    """Play one episode and print live progress and a summary."""
    import dojo
    from dojo.agents import make_agent
    from dojo.agents.openai_agent import AgentError
    from dojo.env import default_run_dir
    from dojo.runner import run_episode
    from dojo.task import TaskNotFound

    progress = _console(sys.stderr)
    try:
        out_dir = args.out or default_run_dir(Home.from_env(), args.slug)  # kept, unlike the env's temporary default
        env = dojo.make(args.slug, release=args.release, out_dir=out_dir, **_env_options(args))
        agent = make_agent(args.agent, **_agent_options(args))
    except (TaskNotFound, ValueError, AgentError) as exc:
        return _usage("run", str(exc))

    def on_step(step: int, observation: dict[str, Any], reward: float, info: dict[str, Any]) -> None:
        score = f" score={_fmt(observation['score'])}" if observation["score"] is not None else ""
        position = f" position={observation['position_score']:.3f}" if observation["position_score"] is not None else ""
        error = f" [red]{observation['error_type']}[/red]" if observation["error_type"] else ""
        progress.print(
            f"step {step:>3} {observation['action']:<14} {observation['status']:<14}{error}{score}{position} "
            f"reward={reward:.4g} steps_left={observation['steps_left']} time_left={observation['time_left_s']:.0f}s"
        )

    try:
        summary = run_episode(env, agent, seed=args.seed, on_step=on_step)
    except AgentError as exc:
        progress.print(f"[red]agent stopped[/red]: {exc}")
        return 1
    finally:
        env.close()
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    table = Table(title=f"{args.slug}: {args.agent} agent")
    table.add_column("field")
    table.add_column("value")
    for key in (
        "metric",
        "steps",
        "best_public_score",
        "best_public_position",
        "private_score",
        "private_position",
        "medal",
        "exec_time_s",
        "trajectory",
    ):
        table.add_row(key, _fmt(summary.get(key)))
    _console().print(table)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate an agent on several tasks; write results.parquet/.csv and per-task plots."""
    from dojo.evaluate import evaluate, select_tasks

    home = Home.from_env()
    try:
        slugs = select_tasks(home, args.slugs or None, args.tag)
    except ValueError as exc:
        return _usage("evaluate", str(exc))
    if not slugs:
        return _usage("evaluate", f"no built task matches (tag={args.tag!r}) under {home.root}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    out_dir = (args.out or home.root / "evaluations" / f"{stamp}-{args.agent}").resolve()
    progress = _console(sys.stderr)
    progress.print(f"evaluating the {args.agent} agent on {len(slugs)} tasks -> {out_dir}")

    def on_result(row: dict[str, Any]) -> None:
        state = "[green]ok[/green]" if row["status"] == "ok" else "[red]error[/red]"
        progress.print(
            f"{row['task']:<40} {state} private={_fmt(row.get('private_score'))} "
            f"position={_fmt(row.get('private_position'), 3)} beats_dummy={_fmt(row.get('beats_dummy'))}"
        )
        if row["status"] != "ok":
            progress.print(str(row.get("error", "")).splitlines()[0])

    table = evaluate(
        slugs,
        args.agent,
        out_dir=out_dir,
        home=home,
        jobs=args.jobs,
        env_options=_env_options(args),
        agent_options=_agent_options(args),
        on_result=on_result,
    )
    if args.json:
        print(json.dumps({"out_dir": str(out_dir), "results": table.to_dicts()}, indent=1))
    else:
        columns = ("task", "status", "metric", "private_score", "private_position", "medal", "beats_dummy")
        view = Table(title=f"{args.agent} agent on {len(slugs)} tasks")
        for column in columns:
            view.add_column(column)
        for row in table.iter_rows(named=True):
            view.add_row(*(_fmt(row[column], 4) for column in columns))
        _console().print(view)
        ok = table.filter(table["status"] == "ok")
        beaten = int(ok["beats_dummy"].fill_null(False).sum())
        _console().print(
            f"{ok.height}/{table.height} tasks ran; {beaten} beat the dummy entry; results in {out_dir}/results.csv"
        )
    return 0 if (table["status"] == "ok").all() else 1


def cmd_export(args: argparse.Namespace) -> int:
    """Export every trajectory under a run dir as SFT chats or RL transitions."""
    from dojo.export import export_run
    from dojo.trajectory import TrajectoryError

    if not args.run_dir.is_dir():
        return _usage("export", f"run dir {args.run_dir} does not exist")
    try:
        count = export_run(args.kind, args.run_dir, args.out)
    except TrajectoryError as exc:
        return _usage("export", str(exc))
    print(f"wrote {count} {args.kind} records to {args.out}")
    return 0


def _add_episode_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agent", choices=AGENT_NAMES, default="baseline")
    parser.add_argument("--max-steps", type=int, default=20, help="steps per episode (default 20)")
    parser.add_argument("--time-budget", type=float, default=3600.0, help="seconds of code execution per episode")
    parser.add_argument("--exec-timeout", type=float, default=600.0, help="seconds per code run")
    parser.add_argument("--memory-mb", type=int, default=4096, help="address-space limit per process")
    parser.add_argument("--reward-mode", choices=["position", "raw", "delta"], default="position")
    parser.add_argument("--out", type=Path, help="output dir (default under DOJO_HOME)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    parser.add_argument(
        "--allow-unsandboxed", action="store_true", help="run code without bubblewrap (trusted code only)"
    )
    parser.add_argument("--model", help="openai agent: model name (default $DOJO_OPENAI_MODEL)")
    parser.add_argument("--base-url", help="openai agent: endpoint (default $OPENAI_BASE_URL or OpenAI's)")
    parser.add_argument("--temperature", type=float, default=0.0, help="openai agent: sampling temperature")


def cmd_agent_env(args: argparse.Namespace) -> int:
    """Create the agent interpreter's env, or tell where it is and whether it is complete."""
    from dojo.agent_env import AgentEnvError, AgentEnvMissing, create, default_path, status

    path = args.path or default_path(Home.from_env())
    if args.action == "create":
        try:
            create(path, with_torch=args.with_torch, log=lambda line: print(line, file=sys.stderr))
        except AgentEnvError as exc:
            print(f"dojo agent-env create: {exc}", file=sys.stderr)
            return 1
        print(path)
        return 0
    found = status(path)
    if args.action == "path":
        if not found.complete:
            print(f"dojo agent-env path: {AgentEnvMissing(path, found.reason)}", file=sys.stderr)
            return 1
        print(found.python)
        return 0
    torch = " (with torch)" if found.with_torch else ""
    print(f"{path}: {found.reason}{torch}")
    return 0 if found.complete else 1


def _add_agent_env_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `agent-env create|path|check`: the separate env that agent code runs in."""
    agent_env = subparsers.add_parser("agent-env", help="create or check the interpreter that agent code runs on")
    actions = agent_env.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="build the env (a no-op when it is complete and up to date)")
    create.add_argument("--with-torch", action="store_true", help="add torch and torchvision (several GB)")
    path = actions.add_parser("path", help="print the env's python if complete (exit 1 if not)")
    check = actions.add_parser("check", help="print where the env is and whether it is complete (exit 1 if not)")
    for action in (create, path, check):
        action.add_argument("--path", type=Path, help="the env's directory (default $DOJO_HOME/agent-env)")
    agent_env.set_defaults(func=cmd_agent_env)


def add_runtime_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `run`, `evaluate` and `export` to the `dojo` command's subparsers (each sets `func(args) -> int`)."""
    run = subparsers.add_parser("run", help="play one episode of a task with an agent")
    run.add_argument("slug")
    _add_episode_options(run)
    run.add_argument("--release", help="serve the task version pinned by this release")
    run.add_argument("--seed", type=int, help="seed passed to env.reset")
    run.set_defaults(func=cmd_run)

    evaluate = subparsers.add_parser("evaluate", help="run an agent on several tasks and tabulate the results")
    evaluate.add_argument("slugs", nargs="*", help="tasks (default: every built task)")
    evaluate.add_argument("--tag", help="only tasks with this tag")
    evaluate.add_argument("--jobs", type=int, help="parallel episodes (default: one per core)")
    _add_episode_options(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)

    export = subparsers.add_parser("export", help="turn trajectories into SFT or RL training data")
    export.add_argument("kind", choices=["sft", "rl"])
    export.add_argument("run_dir", type=Path, help="a run or evaluation dir (searched for trajectory.jsonl)")
    export.add_argument("out", type=Path, help="output JSONL file")
    export.set_defaults(func=cmd_export)

    _add_agent_env_commands(subparsers)


def main(argv: list[str] | None = None) -> int:
    """Run the runtime's commands on their own (`python -m dojo.cli`), as `dojo` does after mounting them."""
    parser = argparse.ArgumentParser(prog="dojo", description="MLE-Dojo runtime: run, evaluate, export.")
    add_runtime_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
