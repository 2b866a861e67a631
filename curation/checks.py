"""The checks a task must pass to enter a release: GX suites, leak audit, leak attacks and integrity, in checks.json.

`run_task_checks(task_dir, spec)` always returns one outcome per name in TASK_CHECKS (a task that cannot
be read fails every check that needs its tables), and writes them to `<task_dir>/checks.json` so a
release can be cut without Dagster. checks.json holds no timings or paths: the same task gives the
same bytes on any machine, which the release manifests rely on.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from curation.expectations import SUITE_TABLES, ExpectationReport, validate_task
from curation.layout import atomic_write_bytes
from curation.leak_attacks import ATTACK_CHECKS, attack_task
from curation.leak_audit import LEAK_CHECKS, audit_task
from curation.serving import CHECKS_FILE
from curation.sources import file_sha256
from curation.spec import CompetitionSpec
from curation.task_frames import TaskFilesError, load_task_frames, load_task_meta

# What a task too malformed to check raises (a missing id or board column, a task.json key of the wrong type):
# the checks that need it fail with the message instead of the run stopping without a record.
MALFORMED_TASK_ERRORS = (pl.exceptions.PolarsError, KeyError, TypeError, ValueError)
# Bump when what a check accepts changes: releases refuse checks.json written by another version.
CHECKS_VERSION = "checks-2"

_GX_DESCRIPTIONS = {
    "train": "public train: id and targets present, ids non-null and unique, rows as in task.json, pinned types.",
    "test": "public test: train's columns without targets and train's types, ids non-null and unique, rows as in "
    "task.json and within the split's test fraction.",
    "sample_submission": "sample submission: id then prediction columns, complete, typed, probabilities in [0, 1].",
    "answers": "private answers: id, targets and board; targets non-null, of train's type and in train's domain.",
    "ids": "test, sample submission and answers hold exactly the same ids.",
}
TASK_CHECKS: dict[str, str] = {
    "task_matches_spec": "task.json was built from the current spec (same spec sha256, id and target columns).",
    "task_files_intact": "Every file task.json lists exists with its recorded sha256 and size.",
    **{f"gx_{table}": _GX_DESCRIPTIONS[table] for table in SUITE_TABLES},
    **{f"leak_{name}": text for name, text in LEAK_CHECKS.items()},
    **{f"leak_{name}": text for name, text in ATTACK_CHECKS.items()},
}


@dataclass(frozen=True)
class CheckOutcome:
    """One named check of a task: passed or not, whether failing blocks a release, and what it observed."""

    name: str  # a key of TASK_CHECKS
    passed: bool
    blocking: bool
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskCheckRun:
    """Outcomes of every check of one task, and seconds spent per stage (not persisted: they vary by machine)."""

    outcomes: list[CheckOutcome]
    seconds: dict[str, float]
    expectations: ExpectationReport | None

    @property
    def passed(self) -> bool:
        return not blocking_failures(self.outcomes)


def blocking_failures(outcomes: list[CheckOutcome]) -> list[CheckOutcome]:
    return [outcome for outcome in outcomes if outcome.blocking and not outcome.passed]


def _spec_outcome(meta: dict, spec: CompetitionSpec) -> CheckOutcome:
    differences = {}
    expected = {
        "slug": spec.slug,
        "spec_sha256": spec.content_hash(),
        "id_column": spec.id_column,
        "target_columns": list(spec.target_columns),
    }
    for key, value in expected.items():
        if meta.get(key) != value:
            differences[key] = {"task": meta.get(key), "spec": value}
    return CheckOutcome(
        "task_matches_spec", passed=not differences, blocking=True, metadata={"differences": differences}
    )


def _files_outcome(task_dir: Path, meta: dict) -> CheckOutcome:
    """Files against task.json: sha256 and bytes of each file; file count and bytes of each directory entry."""
    problems = []
    for entry in meta["files"]:
        path = task_dir / entry["path"]
        if path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file()]
            observed = (len(files), sum(p.stat().st_size for p in files))
            if entry.get("rows") is not None and observed != (entry["rows"], entry["bytes"]):
                recorded = f"recorded {entry['rows']} files, {entry['bytes']} bytes"
                problems.append(f"{entry['path']}: {observed[0]} files, {observed[1]} bytes; {recorded}")
        elif not path.is_file():
            problems.append(f"{entry['path']}: missing")
        elif path.stat().st_size != entry["bytes"] or file_sha256(path) != entry["sha256"]:
            problems.append(f"{entry['path']}: content differs from its recorded sha256")
    return CheckOutcome(
        "task_files_intact",
        passed=not problems,
        blocking=True,
        metadata={"files": len(meta["files"]), "problems": problems},
    )


def _expectation_outcomes(report: ExpectationReport) -> list[CheckOutcome]:
    outcomes = []
    for table in SUITE_TABLES:
        results = report.for_table(table)
        metadata = {
            outcome.name: {
                "success": outcome.success,
                "expectation": outcome.expectation,
                "observed": outcome.observed_value,
                "unexpected_count": outcome.unexpected_count,
                "examples": outcome.examples,
            }
            | ({"error": outcome.error} if outcome.error else {})
            for outcome in results
        }
        failed = [outcome.name for outcome in results if not outcome.success]
        outcomes.append(
            CheckOutcome(
                f"gx_{table}",
                passed=not failed,
                blocking=True,
                metadata={"expectations": len(results), "failed": failed, "results": metadata},
            )
        )
    return outcomes


def _unreadable(names: list[str], error: str) -> list[CheckOutcome]:
    return [CheckOutcome(name, passed=False, blocking=True, metadata={"error": error}) for name in names]


def check_task(task_dir: Path, spec: CompetitionSpec) -> TaskCheckRun:
    """Run every check of TASK_CHECKS on one built task; nothing is written."""
    task_dir = Path(task_dir)
    seconds: dict[str, float] = {}
    try:
        meta = load_task_meta(task_dir)
    except TaskFilesError as error:
        return TaskCheckRun(_unreadable(list(TASK_CHECKS), str(error)), seconds, None)
    outcomes = [_spec_outcome(meta, spec)]
    started = time.perf_counter()
    outcomes.append(_files_outcome(task_dir, meta))
    seconds["files"] = time.perf_counter() - started
    frame_checks = [name for name in TASK_CHECKS if name.startswith(("gx_", "leak_"))]
    try:
        started = time.perf_counter()
        frames = load_task_frames(task_dir)
        seconds["load"] = time.perf_counter() - started
    except TaskFilesError as error:
        return TaskCheckRun(outcomes + _unreadable(frame_checks, str(error)), seconds, None)
    gx_checks = [name for name in frame_checks if name.startswith("gx_")]
    leak_checks = [f"leak_{name}" for name in LEAK_CHECKS]
    report = None
    started = time.perf_counter()
    try:
        report = validate_task(task_dir, spec, frames)
        outcomes += _expectation_outcomes(report)
    except MALFORMED_TASK_ERRORS as error:
        outcomes += _unreadable(gx_checks, f"cannot derive the suites: {type(error).__name__}: {error}")
    seconds["expectations"] = time.perf_counter() - started
    started = time.perf_counter()
    try:
        findings = audit_task(frames, spec)
    except MALFORMED_TASK_ERRORS as error:
        outcomes += _unreadable(leak_checks, f"cannot audit: {type(error).__name__}: {error}")
    else:
        for finding in findings:
            metadata = {"value": finding.value, "threshold": finding.threshold} | finding.details
            outcomes.append(CheckOutcome(f"leak_{finding.name}", finding.passed, finding.blocking, metadata))
    seconds["leak_audit"] = time.perf_counter() - started
    started = time.perf_counter()
    # Each attack records its own error as a failed outcome, so one broken attack never hides the others.
    for finding in attack_task(frames, spec):
        metadata = {"value": finding.value, "threshold": finding.threshold} | finding.details
        outcomes.append(CheckOutcome(f"leak_{finding.name}", finding.passed, finding.blocking, metadata))
    seconds["leak_attacks"] = time.perf_counter() - started
    return TaskCheckRun(outcomes, seconds, report)


def checks_record(task_dir: Path, spec: CompetitionSpec, outcomes: list[CheckOutcome]) -> dict[str, Any]:
    """What checks.json holds: which task and spec the outcomes are about, and the outcomes."""
    try:
        task_version = load_task_meta(task_dir)["task_version"]
    except TaskFilesError:
        task_version = None
    return {
        "format": 1,
        "checks_version": CHECKS_VERSION,
        "slug": spec.slug,
        "task_version": task_version,
        "spec_sha256": spec.content_hash(),
        "passed": not blocking_failures(outcomes),
        "blocking_failures": [outcome.name for outcome in blocking_failures(outcomes)],
        "checks": [asdict(outcome) for outcome in outcomes],
    }


def write_checks(task_dir: Path, spec: CompetitionSpec, outcomes: list[CheckOutcome]) -> Path:
    """Write <task_dir>/checks.json atomically (a reader sees the old record or the new one)."""
    record = checks_record(task_dir, spec, outcomes)
    path = Path(task_dir) / CHECKS_FILE
    atomic_write_bytes(path, (json.dumps(record, indent=1, sort_keys=True, default=str) + "\n").encode())
    return path


def run_task_checks(task_dir: Path, spec: CompetitionSpec) -> list[CheckOutcome]:
    """Check one built task and record the outcomes in its checks.json."""
    outcomes = check_task(task_dir, spec).outcomes
    write_checks(task_dir, spec, outcomes)
    return outcomes


def read_checks(task_dir: Path) -> dict[str, Any] | None:
    """The checks.json of a task, or None when its checks never ran."""
    path = Path(task_dir) / CHECKS_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TaskFilesError(f"{path}: unreadable: {exc}") from exc


def check_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of a `checks` table from one checks.json record: slug, task_version, name, passed, blocking, metadata.

    metadata is JSON text, so catalog and release tables keep one schema whatever each check observed.
    """
    return [
        {
            "slug": record.get("slug"),
            "task_version": record.get("task_version"),
            "name": check.get("name"),
            "passed": check.get("passed"),
            "blocking": check.get("blocking"),
            "metadata": json.dumps(check.get("metadata", {}), sort_keys=True, default=str),
        }
        for check in record.get("checks", [])
    ]
