"""task checks: GX suites, leak audit and integrity of each task partition, run inside the task asset; a blocking
failure fails the partition and the task is not served."""

from pathlib import Path
from typing import Any

import dagster as dg

from assets.home_resource import code_version_of
from assets.partitions import competitions_partitions
from curation import checks, expectations, leak_audit, task_frames

TASK_CHECK_SPECS = [
    dg.AssetCheckSpec(name, asset="task", description=text, blocking=True, partitions_def=competitions_partitions)
    for name, text in checks.TASK_CHECKS.items()
]
# What shapes the outcomes: the rules themselves. Part of the task asset's code version: a rule change marks it stale.
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


def check_results(run: checks.TaskCheckRun, outcomes: list[checks.CheckOutcome], version: str):
    """One AssetCheckResult on `task` per outcome, with Dagster metadata."""
    return [
        dg.AssetCheckResult(
            asset_key=dg.AssetKey("task"),
            check_name=outcome.name,
            passed=outcome.passed,
            metadata=check_metadata(outcome, run.seconds) | {"task_version": version},
        )
        for outcome in outcomes
    ]
