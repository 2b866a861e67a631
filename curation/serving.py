"""What is served: tasks/<slug>/CURRENT moves here only, after a build's blocking checks and leaderboard passed.

A build's failure is remembered in failures/<slug>.json (with the task version it was about, when known), and
the runtime refuses a served version whose checks failed or whose last build failed. Kept light (json and
paths only): the runtime imports it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from curation.layout import CHECKED_POINTER, TASK_POINTER, Home, atomic_write_bytes, read_pointer, set_pointer

CHECKS_FILE = "checks.json"  # each task's check outcomes (written by curation.checks)
REASON_CHARS = 240


class ServeError(RuntimeError):
    """A version may not be served: its checks failed, never ran, or it has no leaderboard."""


def failure_path(home: Home, slug: str) -> Path:
    return home.failures_dir / f"{slug}.json"


def record_failure(home: Home, slug: str, error: str, task_version: str | None = None) -> None:
    """Remember why a competition failed to build (and which task version, when known)."""
    record = {"slug": slug, "error": error, "task_version": task_version}
    atomic_write_bytes(failure_path(home, slug), json.dumps(record).encode())


def clear_failure(home: Home, slug: str) -> None:
    failure_path(home, slug).unlink(missing_ok=True)


def read_failure(home: Home, slug: str) -> dict[str, Any] | None:
    """The failure record of a competition's last build, or None when it did not fail."""
    path = failure_path(home, slug)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return {"slug": slug, "error": f"{path}: unreadable failure record: {exc}", "task_version": None}
    return record if isinstance(record, dict) else {"slug": slug, "error": str(record), "task_version": None}


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 3] + "..."


def check_reason(check: dict[str, Any]) -> str:
    """Why one recorded check (an entry of checks.json) failed, in one short line."""
    metadata = check.get("metadata") or {}
    for key in ("reason", "error", "message"):
        if metadata.get(key):
            return _short(str(metadata[key]))
    if check.get("name", "").startswith("gx_") and metadata.get("failed"):
        results = metadata.get("results") or {}
        parts = []
        for name in metadata["failed"][:3]:
            result = results.get(name) or {}
            detail = result.get("error") or f"observed {result.get('observed')!r}"
            if result.get("unexpected_count"):
                detail += f", {result['unexpected_count']} unexpected"
            if result.get("examples"):
                detail += f", e.g. {result['examples'][:3]}"
            parts.append(f"{name} ({detail})")
        return _short("; ".join(parts))
    if metadata.get("problems"):
        return _short("; ".join(str(p) for p in metadata["problems"][:3]))
    if metadata.get("differences"):
        diffs = metadata["differences"]
        return _short(", ".join(f"{key}: task {d.get('task')!r}, spec {d.get('spec')!r}" for key, d in diffs.items()))
    if "value" in metadata and "threshold" in metadata:
        details = {k: v for k, v in metadata.items() if k not in ("value", "threshold")}
        extra = f" ({json.dumps(details, default=str)})" if details else ""
        return _short(f"value {metadata['value']} against threshold {metadata['threshold']}{extra}")
    return _short(json.dumps(metadata, sort_keys=True, default=str)) if metadata else "failed"


def blocking_failure_lines(record: dict[str, Any]) -> list[str]:
    """`name: reason` for each failed blocking check of a checks.json record."""
    return [
        f"{check.get('name')}: {check_reason(check)}"
        for check in record.get("checks", [])
        if check.get("blocking") and not check.get("passed")
    ]


def read_checks_record(task_dir: Path) -> dict[str, Any] | None:
    """checks.json of a task dir, or None when its checks never ran; ServeError when unreadable."""
    path = task_dir / CHECKS_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ServeError(f"{path}: unreadable: {exc}") from exc
    if not isinstance(record, dict):
        raise ServeError(f"{path}: not a checks record")
    return record


def checks_problem(task_dir: Path, *, required: bool) -> str | None:
    """Why the recorded checks of a task dir forbid serving it, or None; `required`: missing checks.json counts."""
    try:
        record = read_checks_record(task_dir)
    except ServeError as exc:
        return str(exc)
    if record is None:
        return f"checks never ran on version {task_dir.name} (no {CHECKS_FILE})" if required else None
    if record.get("task_version") != task_dir.name:
        return f"{CHECKS_FILE} is about version {record.get('task_version')}, not {task_dir.name}: rerun the build"
    failed = blocking_failure_lines(record)
    if failed:
        return "failed blocking checks: " + "; ".join(failed)
    return None


def _has_leaderboard(home: Home, slug: str) -> bool:
    board_dir = home.leaderboard_dir(slug)
    return board_dir.is_dir() and any(not p.name.startswith(".") for p in board_dir.glob("*.parquet"))


def checked_version(home: Home, slug: str) -> str | None:
    """The version the last task step built and checked (tasks/<slug>/CHECKED), or None."""
    return read_pointer(home.task_root(slug), CHECKED_POINTER)


def mark_checked(home: Home, slug: str, version: str) -> None:
    """Record that `version`'s blocking checks passed; the leaderboard step builds on it, then serves it."""
    problem = checks_problem(home.task_dir(slug, version), required=True)
    if problem:
        raise ServeError(f"{slug} {version}: {problem}")
    set_pointer(home.task_root(slug), CHECKED_POINTER, version)


def unmark_checked(home: Home, slug: str, version: str) -> None:
    """Drop tasks/<slug>/CHECKED when it names `version`, whose checks have just failed."""
    if checked_version(home, slug) == version:
        (home.task_root(slug) / CHECKED_POINTER).unlink(missing_ok=True)


def serve(home: Home, slug: str, version: str) -> Path:
    """Point tasks/<slug>/CURRENT at `version`: the last step of a successful build, and the only writer.

    Refuses (ServeError naming the check and its reason) unless task.json exists, checks.json is about this
    version and records no failed blocking check, and the competition has a leaderboard snapshot. Until it
    succeeds the previously served version stays served. Clears the competition's failure record.
    """
    task_dir = home.task_dir(slug, version)
    if not (task_dir / "task.json").is_file():
        raise ServeError(f"{slug}: version {version} is not built (no {task_dir / 'task.json'})")
    problem = checks_problem(task_dir, required=True)
    if problem:
        raise ServeError(f"{slug} {version} not served: {problem}")
    if not _has_leaderboard(home, slug):
        raise ServeError(f"{slug} {version} not served: no leaderboard snapshot in {home.leaderboard_dir(slug)}")
    set_pointer(home.task_root(slug), TASK_POINTER, version)
    clear_failure(home, slug)
    return task_dir


def refusal(home: Home, slug: str, task_dir: Path) -> str | None:
    """Why the served `task_dir` of `slug` must not be handed to an agent, or None when it may be.

    Refused: a version whose recorded checks failed or are about another version, and any version when the
    competition's last build failed on it or before it had a version (a failed rebuild of a NEW version keeps
    the previous good one served).
    """
    failure = read_failure(home, slug)
    if failure is not None and failure.get("task_version") in (None, task_dir.name):
        return f"its last build failed: {failure.get('error')}"
    return checks_problem(task_dir, required=False)
