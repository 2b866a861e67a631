"""task: the public/private split, rendered grader and task.json of each competition, with blocking checks."""

import json
import shutil
import tempfile
from pathlib import Path

import dagster as dg
import polars as pl

from assets.home_resource import DojoHomeResource, code_version_of, competitions_dir
from assets.partitions import competitions_partitions
from assets.raw_files import raw_files
from assets.task_checks import CHECKS_CODE_VERSION, TASK_CHECK_SPECS, check_results
from curation import checks, serving, sources, splits, task_integrity, tasks
from curation.layout import Home
from curation.secret import SECRET_FILE
from curation.sources import RawResult
from curation.spec import CompetitionSpec
from graders import metrics, render

# Target leaks, shared ids and test/sample/answer ids are checked by the leak audit and the GX suites
# (curation/checks.py: leak_*, gx_*); determinism needs the builder itself, so it is checked here too.
TASK_CHECKS = {
    "rerun_is_deterministic": "Building the task again from the same inputs gives byte-identical files.",
}


def raw_result(home: Home, slug: str) -> RawResult:
    """The raw stage's recorded result, read back from raw/<slug>/manifest.json."""
    raw_dir = home.raw_dir(slug)
    manifest_path = raw_dir / sources.MANIFEST_FILE
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{slug}: raw files are not fetched yet (no {manifest_path}); materialize raw_files")
    manifest = json.loads(manifest_path.read_text())
    return RawResult(slug, raw_dir, manifest["source_sha256"], manifest["files"], manifest["labeled_rows"], True)


def build(spec: CompetitionSpec, home: Home, *, raw: RawResult | None = None, force: bool = False) -> tasks.TaskResult:
    """Build one task with the metric's prediction kind and the rendered grader."""
    metric = metrics.get_metric(spec.metric.name)
    if spec.higher_is_better is not None and spec.higher_is_better != metric.higher_is_better:
        raise ValueError(
            f"{spec.slug}: higher_is_better={spec.higher_is_better} contradicts metric {metric.name} "
            f"(higher_is_better={metric.higher_is_better})"
        )
    return tasks.build_task(
        spec,
        home,
        raw or raw_result(home, spec.slug),
        prediction=metric.prediction,
        higher_is_better=metric.higher_is_better,
        render_grader=render.render_grader,
        grader_code=render.grader_code_version(),
        force=force,
    )


def _determinism(spec: CompetitionSpec, home: Home, result: tasks.TaskResult) -> checks.CheckOutcome:
    with tempfile.TemporaryDirectory(prefix="dojo-rerun-") as scratch:
        # Same raw data and secret salt, fresh home: any difference means the build depends on something else.
        secret = home.root / SECRET_FILE
        if secret.is_file():
            shutil.copy2(secret, Path(scratch) / SECRET_FILE)
        rerun = build(spec, Home(Path(scratch)), raw=raw_result(home, spec.slug))
        differences = task_integrity.checksum_differences(result.meta, rerun.meta)
    return checks.CheckOutcome(
        "rerun_is_deterministic",
        passed=not differences,
        blocking=True,
        metadata={"differing_files": ", ".join(differences) or "none"},
    )


def failure_description(slug: str, version: str, failed: list[checks.CheckOutcome]) -> str:
    """One line naming every failed blocking check and its reason."""
    lines = [f"{o.name}: {serving.check_reason({'name': o.name, 'metadata': o.metadata})}" for o in failed]
    return f"{slug} {version}: failed blocking checks: " + "; ".join(lines)


def _preview(task_dir: Path, meta: dict) -> str:
    train_entry = next(f for f in meta["files"] if f["role"] == "train")
    frame = sources.read_table(task_dir / train_entry["path"]).head(5)
    frame = frame.select(frame.columns[:8]).with_columns(pl.all().cast(pl.String).str.slice(0, 40))
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    return header + "\n".join("| " + " | ".join(str(v) for v in row) + " |" for row in frame.iter_rows())


@dg.asset(
    partitions_def=competitions_partitions,
    group_name="curation",
    deps=[raw_files],
    code_version=code_version_of(
        Path(tasks.__file__), Path(splits.__file__), Path(render.__file__), Path(metrics.__file__), competitions_dir()
    )
    + CHECKS_CODE_VERSION[:6],
    required_resource_keys={"dojo"},
    check_specs=[
        dg.AssetCheckSpec(name, asset="task", description=text, blocking=True, partitions_def=competitions_partitions)
        for name, text in TASK_CHECKS.items()
    ]
    + TASK_CHECK_SPECS,
    description="tasks/<slug>/<version>/: public files, private answers, rendered grader.py and task.json, "
    "checked (GX suites, leak audit, integrity, determinism); a failed blocking check fails the partition.",
)
def task(context: dg.AssetExecutionContext):
    """Split, write and check one task; an unchanged task is a cache hit that says so.

    The outcomes go to the task's checks.json. A failed blocking check records the failure and raises
    dg.Failure naming each check and its reason, so the partition is not materialized and nothing is served.
    """
    dojo: DojoHomeResource = context.resources.dojo
    home = dojo.home
    spec = dojo.spec(context.partition_key)
    if not spec.gradable:
        raise ValueError(f"{spec.slug}: not gradable from a CSV submission ({spec.notes}); it is catalogued only")
    result = build(spec, home)
    run = checks.check_task(result.task_dir, spec)
    outcomes = [*run.outcomes, _determinism(spec, home, result)]
    checks.write_checks(result.task_dir, spec, outcomes)
    results = check_results(run, outcomes, result.task_version)
    failed = checks.blocking_failures(outcomes)
    context.log.info(
        f"{spec.slug}: {len(outcomes) - len(failed)}/{len(outcomes)} checks passed"
        + (f"; failed: {', '.join(o.name for o in failed)}" if failed else "")
        + f" ({', '.join(f'{k} {v:.2f}s' for k, v in run.seconds.items())})"
    )
    if failed:
        yield from results
        description = failure_description(spec.slug, result.task_version, failed)
        serving.record_failure(home, spec.slug, description, result.task_version)
        serving.unmark_checked(home, spec.slug, result.task_version)
        raise dg.Failure(
            description=description,
            metadata={"task_version": result.task_version, "failed_checks": ", ".join(o.name for o in failed)},
        )
    serving.mark_checked(home, spec.slug, result.task_version)
    meta = result.meta
    files_table = "\n".join(
        f"| {f['path']} | {f['role']} | {f['rows'] if f['rows'] is not None else ''} | {f['bytes']} | "
        f"`{f['sha256'][:16]}` |"
        for f in meta["files"]
    )
    yield dg.MaterializeResult(
        metadata={
            "task_version": result.task_version,
            "cache_hit": result.cache_hit,
            "task_dir": dg.MetadataValue.path(str(result.task_dir)),
            "rows_train": meta["rows"]["train"],
            "rows_test": meta["rows"]["test"],
            "rows_public": meta["rows"]["public"],
            "rows_private": meta["rows"]["private"],
            "bytes": sum(f["bytes"] for f in meta["files"]),
            "metric": meta["metric"]["name"],
            "files": dg.MetadataValue.md(
                "| path | role | rows | bytes | sha256 |\n|---|---|---|---|---|\n" + files_table
            ),
            "preview": dg.MetadataValue.md(_preview(result.task_dir, meta)),
        },
        data_version=dg.DataVersion(result.task_version),
    )
    yield from results
