"""The `dojo` command: build, ui, list, show, grade (+ the runtime's run/evaluate/export, releases, preflight)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from curation import catalog as catalog_module
from curation import serving
from curation.layout import Home
from curation.release_cli import add_release_commands
from curation.spec import CompetitionSpec, SpecError, load_catalog
from dojo.cli import add_runtime_commands

REPO_ROOT = Path(__file__).resolve().parent.parent
USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake in how the command was called: exit code 2 with the message."""


def _console(stream=None) -> Console:
    stream = stream or sys.stdout
    # Wide enough for the summary table when piped (rich assumes 80 columns without a terminal).
    width = None if stream.isatty() else 160
    return Console(file=stream, highlight=False, width=width)


# Dagster's console logger prints every step event at DEBUG; the progress bar and summary say enough.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _competitions_dir() -> Path:
    from assets.home_resource import competitions_dir

    return competitions_dir()


def prepare_dagster_home(home: Home) -> Path:
    """DAGSTER_HOME under DOJO_HOME with telemetry off; set in this process's environment."""
    dagster_home = home.dagster_home
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.is_file():
        config.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    os.environ["DOJO_HOME"] = str(home.root)
    return dagster_home


def _metric_direction(spec: CompetitionSpec) -> bool | None:
    from graders.metrics import METRICS

    metric = METRICS.get(spec.metric.name)
    return metric.higher_is_better if metric else spec.higher_is_better


def _listing(home: Home, specs: list[CompetitionSpec]) -> list[dict]:
    keys = (
        "slug",
        "title",
        "task_type",
        "metric",
        "higher_is_better",
        "source_kind",
        "split_method",
        "status",
        "task_version",
        "rows_train",
        "rows_test",
        "tags",
    )
    rows = []
    for spec in specs:
        row = catalog_module.competition_row(spec, home, _metric_direction(spec))
        rows.append({key: row[key] for key in keys} | {"error": row["error"], "gradable": row["gradable"]})
    return rows


def _step_failure(result):
    """The first step failure event of an in-process run, or None."""
    return next(
        (e for e in result.all_events if e.is_step_failure and e.step_failure_data and e.step_failure_data.error),
        None,
    )


def _failure_message(result) -> str:
    """The first step failure of an in-process run, in one paragraph: for a failed blocking check, each check
    and its reason (the dg.Failure's description)."""
    event = _step_failure(result)
    if event is None:
        return "run failed without a step failure (see the Dagster UI)"
    user = event.step_failure_data.user_failure_data
    if user is not None and user.description:
        return f"{event.step_key}: {user.description.strip()}"
    error = event.step_failure_data.error
    # Dagster wraps the user's exception; its cause holds the message worth showing.
    while error.cause is not None and error.cls_name == "DagsterExecutionStepExecutionError":
        error = error.cause
    return f"{event.step_key}: {error.message.strip()}"


def _failed_version(result) -> str | None:
    """The task version a failed run was about, when its failure says (a failed check names it)."""
    event = _step_failure(result)
    user = event.step_failure_data.user_failure_data if event is not None else None
    value = user.metadata.get("task_version") if user is not None else None
    return str(value.value) if value is not None else None


def build(slugs: list[str], *, tag: str | None, home: Home, console: Console) -> int:
    """Materialize raw_files -> task -> leaderboard per competition, then the catalog; returns the exit code."""
    prepare_dagster_home(home)
    import dagster as dg

    from pipelines.competitions_sensor import sync_partitions
    from pipelines.definitions import defs

    loaded = load_catalog(_competitions_dir())
    for error in loaded.errors:
        console.print(f"[red]invalid config[/red] {error}")
    invalid = {error.path.stem: str(error) for error in loaded.errors}
    if slugs:
        unknown = [s for s in slugs if s not in loaded.specs and s not in invalid]
        if unknown:
            raise UsageError(f"unknown competitions: {', '.join(unknown)} (see `dojo list`)")
        chosen = [s for s in slugs if tag is None or s in invalid or tag in loaded.specs[s].tags]
    elif tag is not None:
        # A tag names a subset on purpose (e.g. lite): Kaggle ones included, each failing alone without credentials.
        chosen = sorted(slug for slug, spec in loaded.specs.items() if spec.gradable and tag in spec.tags)
        if not chosen:
            raise UsageError(f"no gradable competitions carry the tag {tag!r}")
    else:
        # The default needs nothing but this machine: every competition that needs no credentials.
        chosen = sorted(
            [slug for slug, spec in loaded.specs.items() if not spec.needs_credentials and spec.gradable]
            + [slug for slug in invalid if slug not in loaded.specs]
        )

    instance = dg.DagsterInstance.get()
    sync_partitions(instance)
    job = defs.resolve_job_def("build_competition")
    outcomes: list[dict] = []
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        bar = progress.add_task("building", total=len(chosen))
        for slug in chosen:
            progress.update(bar, description=f"building {slug}")
            started = time.monotonic()
            if slug in invalid:
                error, version = invalid[slug], None
            else:
                result = job.execute_in_process(
                    partition_key=slug, instance=instance, raise_on_error=False, run_config=QUIET_RUN_CONFIG
                )
                error = None if result.success else _failure_message(result)
                version = None if result.success else _failed_version(result)
            if error:
                serving.record_failure(home, slug, error, version)
            else:
                serving.clear_failure(home, slug)
            outcomes.append({"slug": slug, "error": error, "seconds": time.monotonic() - started})
            progress.advance(bar)
        progress.update(bar, description="catalog")
        catalog_result = defs.resolve_job_def("build_catalog").execute_in_process(
            instance=instance, raise_on_error=False, run_config=QUIET_RUN_CONFIG
        )
    if not catalog_result.success:
        console.print(f"[red]catalog failed:[/red] {_failure_message(catalog_result)}")
    _print_build_summary(home, loaded.specs, outcomes, console)
    failed = sum(1 for o in outcomes if o["error"]) + (0 if catalog_result.success else 1)
    return 1 if failed else 0


def _print_build_summary(home: Home, specs: dict, outcomes: list[dict], console: Console) -> None:
    from graders.leaderboards import load_leaderboard

    table = Table(title=f"MLE-Dojo build ({home.root})")
    for column in ("competition", "status", "task_version", "train", "test", "metric", "dummy", "best ref", "s"):
        table.add_column(column, justify="right" if column in ("train", "test", "dummy", "best ref", "s") else "left")
    for outcome in outcomes:
        slug = outcome["slug"]
        spec = specs.get(slug)
        task_dir = home.current_task_dir(slug)
        if outcome["error"] or task_dir is None:
            table.add_row(
                slug,
                "[red]failed[/red]",
                "",
                "",
                "",
                spec.metric.name if spec else "",
                "",
                "",
                f"{outcome['seconds']:.1f}",
            )
            continue
        meta = json.loads((task_dir / "task.json").read_text())
        board = load_leaderboard(home.leaderboard_dir(slug))
        dummy = best = ""
        if board is not None:
            # A running Kaggle competition has only a public board.
            chosen = "private" if (board["board"] == "private").any() else "public"
            ranked = board.filter(board["board"] == chosen).sort("rank")
            best = f"{ranked['score'][0]:.4g}" if ranked.height else ""
            dummies = ranked.filter(ranked["entry"].str.starts_with("dummy-"))
            dummy = f"{dummies['score'][0]:.4g}" if dummies.height else ""
        table.add_row(
            slug,
            "[green]built[/green]",
            meta["task_version"],
            str(meta["rows"]["train"]),
            str(meta["rows"]["test"]),
            meta["metric"]["name"],
            dummy,
            best,
            f"{outcome['seconds']:.1f}",
        )
    console.print(table)
    failed = [o for o in outcomes if o["error"]]
    console.print(f"{len(outcomes) - len(failed)} built, {len(failed)} failed; catalog at {home.catalog_path}")
    for outcome in failed:
        console.print(f"[red]{outcome['slug']}[/red]: {outcome['error']}")


def _spec_or_usage(slug: str) -> CompetitionSpec:
    path = _competitions_dir() / f"{slug}.yaml"
    if not path.is_file():
        raise UsageError(f"unknown competition {slug!r} (see `dojo list`)")
    from curation.spec import load_spec

    try:
        return load_spec(path)
    except SpecError as error:
        raise UsageError(str(error)) from error


def _built_task_dir(home: Home, slug: str) -> Path:
    task_dir = home.current_task_dir(slug)
    if task_dir is None:
        raise UsageError(f"{slug} is not built in {home.root}: run `dojo build {slug}`")
    return task_dir


def cmd_build(args: argparse.Namespace) -> int:
    return build(args.slugs, tag=args.tag, home=Home.from_env(), console=_console())


def cmd_list(args: argparse.Namespace) -> int:
    loaded = load_catalog(_competitions_dir())
    specs = [
        spec
        for spec in loaded.specs.values()
        if (args.source is None or spec.source.kind == args.source) and (args.tag is None or args.tag in spec.tags)
    ]
    rows = _listing(Home.from_env(), sorted(specs, key=lambda s: s.slug))
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    console = _console()
    table = Table(title=f"{len(rows)} competitions")
    for column in ("slug", "task_type", "metric", "source", "split", "status", "train", "test"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["slug"],
            row["task_type"],
            row["metric"],
            row["source_kind"],
            row["split_method"],
            row["status"],
            str(row["rows_train"] or ""),
            str(row["rows_test"] or ""),
        )
    console.print(table)
    for error in loaded.errors:
        console.print(f"[red]invalid config[/red] {error}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    spec = _spec_or_usage(args.slug)
    home = Home.from_env()
    row = _listing(home, [spec])[0]
    task_dir = home.current_task_dir(spec.slug)
    detail = row | {
        "description": spec.description,
        "task_dir": str(task_dir) if task_dir else None,
        "public_dir": str(task_dir / "public") if task_dir else None,
        "private_dir": str(task_dir / "private") if task_dir else None,
        "files": [],
    }
    if task_dir:
        meta = json.loads((task_dir / "task.json").read_text())
        detail["files"] = [{k: f[k] for k in ("path", "role", "sha256", "rows", "bytes")} for f in meta["files"]]
        detail["rows"] = meta["rows"]
    if args.json:
        print(json.dumps(detail, indent=1))
        return 0
    console = _console()
    console.print(
        f"[bold]{spec.title}[/bold] ({spec.slug}): {spec.task_type}, metric {spec.metric.name}, status {row['status']}"
    )
    if task_dir:
        console.print(f"task dir: {task_dir}")
        for entry in detail["files"]:
            console.print(
                f"  {entry['role']:<18} {entry['path']:<40} rows={entry['rows']} sha256={entry['sha256'][:16]}"
            )
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from graders.isolation import grade_isolated, limits_for
    from graders.limits import GradeLimits

    spec = _spec_or_usage(args.slug)
    task_dir = _built_task_dir(Home.from_env(), spec.slug)
    if not Path(args.file).exists():
        raise UsageError(f"submission file {args.file} does not exist")
    defaults = limits_for(task_dir)
    try:
        limits = GradeLimits(
            defaults.memory_mb if args.memory_mb is None else args.memory_mb,
            defaults.timeout_s if args.timeout_s is None else args.timeout_s,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    # In a child process under limits: the file may be hostile (an agent's or anyone's).
    result = grade_isolated(task_dir, Path(args.file), args.board, limits=limits)
    if args.json:
        print(json.dumps(result.to_json(), sort_keys=True))
        return 0
    console = _console()
    if result.valid:
        position = f", position score {result.position_score:.3f}" if result.position_score is not None else ""
        medal = f", {result.medal} medal" if result.medal else ""
        console.print(f"{spec.slug} {result.board} score: {result.score:.6g}{position}{medal}")
    else:
        console.print(f"[red]invalid submission[/red]: {escape(result.error or '')}")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    home = Home.from_env()
    prepare_dagster_home(home)
    workspace = REPO_ROOT / "workspace.yaml"
    target = ["-w", str(workspace)] if workspace.is_file() else ["-m", "pipelines.definitions", "-a", "defs"]
    command = [str(Path(sys.executable).parent / "dagster"), "dev", *target, "-h", args.host, "-p", str(args.port)]
    print(f"Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={home.dagster_home})", flush=True)
    return subprocess.call(command, cwd=REPO_ROOT if workspace.is_file() else None)


def cmd_preflight(args: argparse.Namespace) -> int:
    from curation.preflight import exit_code, format_table, format_total, preflight_specs, to_json
    from pipelines.kaggle_resource import KaggleResource

    loaded = load_catalog(_competitions_dir())
    if args.slugs:
        unknown = [s for s in args.slugs if s not in loaded.specs]
        if unknown:
            raise UsageError(f"unknown competitions: {', '.join(unknown)} (see `dojo list --source kaggle`)")
        specs = [loaded.specs[s] for s in args.slugs]
    else:
        specs = [spec for spec in loaded.specs.values() if args.tag is None or args.tag in spec.tags]
    rows = preflight_specs(sorted(specs, key=lambda s: s.slug), Home.from_env(), client=KaggleResource().client())
    if args.json:
        print(to_json(rows))
    else:
        print(format_table(rows))
        print(format_total(rows))
    return exit_code(rows)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="dojo", description="MLE-Dojo: build, serve and grade ML-engineering tasks.")
    sub = root.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="materialize competitions through the Dagster definitions")
    p.add_argument("slugs", nargs="*", help="competitions to build (default: all that need no credentials)")
    p.add_argument("--tag", help="only competitions with this tag")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("list", help="list competitions and their build status")
    p.add_argument("--json", action="store_true")
    p.add_argument("--source", choices=["builtin", "synthetic", "kaggle", "local"])
    p.add_argument("--tag")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="show one competition and its files")
    p.add_argument("slug")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("grade", help="grade a submission file")
    p.add_argument("slug")
    p.add_argument("file")
    p.add_argument("--board", choices=["public", "private"], default="public")
    p.add_argument("--json", action="store_true")
    p.add_argument("--memory-mb", type=int, help="memory the grading may use (default: 1024, more for big tasks)")
    p.add_argument("--timeout-s", type=float, help="seconds the grading may take (default: 60)")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("ui", help="start the Dagster UI on 127.0.0.1")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("preflight", help="check Kaggle credentials, rules, sizes and cache before a build")
    p.add_argument("slugs", nargs="*", help="Kaggle competitions (default: every Kaggle competition)")
    p.add_argument("--tag", help="only competitions with this tag")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_preflight)

    add_release_commands(sub)
    add_runtime_commands(sub)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as error:
        print(f"dojo {args.command}: {error}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
