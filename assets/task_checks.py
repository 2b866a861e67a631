"""task checks: GX suites, leak audit and integrity of each task partition; a failure keeps the task out of releases."""

from pathlib import Path
from typing import Any

import dagster as dg

from assets.home_resource import DojoHomeResource, code_version_of
from assets.partitions import competitions_partitions
from assets.task import task
from curation import checks, expectations, leak_audit, task_frames

TASK_CHECK_SPECS = [
    dg.AssetCheckSpec(name, asset=task, description=text, blocking=True, partitions_def=competitions_partitions)
    for name, text in checks.TASK_CHECKS.items()
]
# What shapes the outcomes: the rules themselves. Shown on the check op so a rule change marks results stale.
CHECKS_CODE_VERSION = code_version_of(
    Path(checks.__file__), Path(expectations.__file__), Path(leak_audit.__file__), Path(task_frames.__file__)
)


def _expectations_table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown table of one suite: expectation, success, observed value, unexpected count."""
    lines = ["| expectation | ok | observed | unexpected |", "|---|---|---|---|"]
    for name, result in results.items():
        observed = str(result.get("observed"))[:60].replace("|", "\\|")
        count = result.get("unexpected_count")
        lines.append(
            f"| {name} | {'yes' if result['success'] else '**no**'} | {observed} | {'' if count is None else count} |"
        )
    return "\n".join(lines)


def check_metadata(outcome: checks.CheckOutcome, seconds: dict[str, float]) -> dict[str, Any]:
    """Dagster metadata of one outcome: one entry per expectation for the GX suites, the findings otherwise."""
    metadata: dict[str, Any] = {}
    if outcome.name.startswith("gx_"):
        results = outcome.metadata.get("results", {})
        metadata["expectations"] = outcome.metadata.get("expectations", len(results))
        metadata["failed"] = ", ".join(outcome.metadata.get("failed", [])) or "none"
        metadata["results"] = dg.MetadataValue.md(_expectations_table(results))
        for name, result in results.items():
            metadata[name] = dg.MetadataValue.json(result)
        metadata["gx_seconds_all_tables"] = round(seconds.get("expectations", 0.0), 3)
    else:
        for key, value in outcome.metadata.items():
            metadata[key] = dg.MetadataValue.json(value) if isinstance(value, dict | list) else value
    if "error" in outcome.metadata:
        metadata["error"] = str(outcome.metadata["error"])
    return metadata


@dg.multi_asset_check(
    specs=TASK_CHECK_SPECS,
    required_resource_keys={"dojo"},
    op_tags={"dojo/checks_code_version": CHECKS_CODE_VERSION},
    description="GX suites (columns, types, ids, domains, row counts), leak audit and file integrity of a task; "
    "the outcomes are also written to the task's checks.json, which releases read.",
)
def task_checks(context: dg.AssetCheckExecutionContext):
    """Check the served version of one competition's task and record the outcomes in its checks.json."""
    dojo: DojoHomeResource = context.resources.dojo
    slug = context.partition_key
    spec = dojo.spec(slug)
    task_dir = dojo.home.current_task_dir(slug)
    if task_dir is None:
        raise FileNotFoundError(f"{slug}: no built task to check; materialize task first")
    run = checks.check_task(task_dir, spec)
    checks.write_checks(task_dir, spec, run.outcomes)
    failed = [o.name for o in checks.blocking_failures(run.outcomes)]
    context.log.info(
        f"{slug}: {len(run.outcomes) - len(failed)}/{len(run.outcomes)} checks passed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
        + f" ({', '.join(f'{k} {v:.2f}s' for k, v in run.seconds.items())})"
    )
    for outcome in run.outcomes:
        yield dg.AssetCheckResult(
            asset_key=task.key,
            check_name=outcome.name,
            passed=outcome.passed,
            metadata=check_metadata(outcome, run.seconds) | {"task_version": task_dir.name},
        )
