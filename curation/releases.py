"""Versioned, immutable releases of the benchmark: releases/<VERSION>/ with tables, task files and a manifest.

A release holds only tasks whose checks.json records no failed blocking check and that have a leaderboard
snapshot. Its directory mirrors a
DOJO_HOME, so it can serve tasks as they were released:

    releases/<VERSION>/
      manifest.json                       sha256 of every file, packages, git commit, creation time
      tables/<name>.parquet               competitions, task_files, metric_code, leaderboards, checks
      tasks/<slug>/CURRENT                the released task version
      tasks/<slug>/<task_version>/...     the task's files (hard links to DOJO_HOME's, or copies)
      leaderboards/<slug>/<snapshot>.parquet

Creating is atomic (everything is written to a hidden temp dir that is renamed into place last), and an
existing version is never replaced. catalog.duckdb gets a `releases` table, views
`release_<VERSION>_<table>` over each release's Parquet and `latest_<table>` views over the newest one.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from curation.checks import CHECKS_VERSION, check_rows, read_checks
from curation.kaggle_leaderboards import LEADERBOARD_SCHEMA
from curation.layout import TASK_POINTER, Home, file_lock, remove_abandoned_temps, temp_path_beside
from curation.sources import file_sha256
from curation.task_frames import TaskFilesError, load_task_meta

MANIFEST_FILE = "manifest.json"
TABLES_DIR = "tables"
TABLE_NAMES = ("competitions", "task_files", "metric_code", "leaderboards", "checks")
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "mle-dojo"
# catalog.duckdb allows one writer: a build's catalog step may hold it for a moment.
CATALOG_LOCK_RETRIES = 40
CATALOG_LOCK_WAIT = 0.25

TABLE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "competitions": {
        "slug": pl.String(),
        "title": pl.String(),
        "task_version": pl.String(),
        "task_type": pl.String(),
        "metric": pl.String(),
        "metric_params": pl.String(),
        "higher_is_better": pl.Boolean(),
        "prediction": pl.String(),
        "id_column": pl.String(),
        "target_columns": pl.List(pl.String()),
        "prediction_columns": pl.List(pl.String()),
        "submission_format": pl.String(),
        "classes": pl.List(pl.String()),
        "split_method": pl.String(),
        "test_fraction": pl.Float64(),
        "public_fraction": pl.Float64(),
        "rows_train": pl.Int64(),
        "rows_test": pl.Int64(),
        "rows_public": pl.Int64(),
        "rows_private": pl.Int64(),
        "tags": pl.List(pl.String()),
        "spec_sha256": pl.String(),
        "source_sha256": pl.String(),
        "split_code_version": pl.String(),
        "files": pl.Int64(),
        "bytes": pl.Int64(),
    },
    "task_files": {
        "slug": pl.String(),
        "task_version": pl.String(),
        "path": pl.String(),
        "role": pl.String(),
        "sha256": pl.String(),
        "rows": pl.Int64(),
        "bytes": pl.Int64(),
    },
    "metric_code": {
        "slug": pl.String(),
        "metric": pl.String(),
        "parameters": pl.String(),
        "source": pl.String(),
        "sha256": pl.String(),
    },
    "leaderboards": {"slug": pl.String(), **LEADERBOARD_SCHEMA},
    "checks": {
        "slug": pl.String(),
        "task_version": pl.String(),
        "included": pl.Boolean(),
        "name": pl.String(),
        "passed": pl.Boolean(),
        "blocking": pl.Boolean(),
        "metadata": pl.String(),
    },
}


class ReleaseError(Exception):
    """A release that cannot be created, read or found; the message says which and why."""


class ReleaseExistsError(ReleaseError):
    """The version already exists: releases are immutable."""


class NothingToReleaseError(ReleaseError):
    """No candidate task passes its checks; the message lists why each was left out."""


@dataclass(frozen=True)
class Exclusion:
    """A task left out of a release and why: its failed blocking checks, or missing or stale checks."""

    slug: str
    task_version: str | None
    reason: str
    failed_checks: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReleaseResult:
    """What `create` wrote: the release dir, the slugs in it and the tasks left out."""

    version: str
    path: Path
    included: list[str]
    excluded: list[Exclusion]
    manifest: dict[str, Any]


@dataclass(frozen=True)
class ReleaseInfo:
    """One release as `list_releases` shows it."""

    version: str
    created_at: str
    notes: str
    tasks: int
    excluded: int
    git_commit: str | None
    path: Path


@dataclass(frozen=True)
class TaskChange:
    """A task in both releases whose version or files differ; paths are relative to the task dir."""

    slug: str
    old_version: str
    new_version: str
    files_added: list[str]
    files_removed: list[str]
    files_modified: list[str]


@dataclass(frozen=True)
class ReleaseDiff:
    """Tasks added, removed, changed and unchanged from release `old` to release `new`, and changed tables."""

    old: str
    new: str
    added: list[str]
    removed: list[str]
    changed: list[TaskChange]
    unchanged: list[str]
    tables_changed: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Mismatch:
    """A file whose bytes do not match the manifest: modified, missing, or present but not listed."""

    path: str
    problem: str  # "modified" | "missing" | "unexpected"
    expected: str | None
    actual: str | None


@dataclass(frozen=True)
class VerifyResult:
    """Every file of a release rehashed against its manifest."""

    version: str
    files_checked: int
    mismatches: list[Mismatch]

    @property
    def ok(self) -> bool:
        return not self.mismatches


@dataclass(frozen=True)
class _Candidate:
    slug: str
    task_dir: Path
    meta: dict[str, Any]
    checks: dict[str, Any] | None


def validate_version(version: str) -> str:
    """A release version: letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64."""
    if not VERSION_PATTERN.match(version):
        raise ReleaseError(
            f"invalid release version {version!r}: use letters, digits, '.', '_' and '-', starting with a letter "
            "or digit (e.g. 2025.06 or v1)"
        )
    return version


def release_dir(home: Home, version: str) -> Path:
    return home.releases_dir / validate_version(version)


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _git_state() -> dict[str, Any]:
    """The project's commit and whether tracked files differ from it; nulls outside a git checkout."""
    if not (PROJECT_ROOT / ".git").exists():
        return {"commit": None, "dirty": None}
    try:
        commit = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def package_versions() -> dict[str, str]:
    """Installed versions of the project's pinned dependencies (and of the project itself)."""
    versions = {DISTRIBUTION: importlib.metadata.version(DISTRIBUTION)}
    for requirement in importlib.metadata.requires(DISTRIBUTION) or []:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[\s;<>=!~\[]", requirement, maxsplit=1)[0]
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return dict(sorted(versions.items()))


def _candidates(home: Home, slugs: list[str] | None) -> tuple[list[_Candidate], list[Exclusion]]:
    """Served tasks of DOJO_HOME (or of `slugs`) with their checks; unbuilt or unreadable ones as exclusions."""
    tasks_root = home.root / "tasks"
    present = (
        sorted(p.name for p in tasks_root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if tasks_root.is_dir()
        else []
    )
    if slugs is not None:
        unknown = sorted(set(slugs) - set(present))
        if unknown:
            raise ReleaseError(
                f"no task built for {', '.join(unknown)} in {home.root} (built: {', '.join(present) or 'none'})"
            )
        present = sorted(set(slugs))
    found, excluded = [], []
    for slug in present:
        task_dir = home.current_task_dir(slug)
        if task_dir is None:
            excluded.append(
                Exclusion(slug, None, f"no served version (tasks/{slug}/{TASK_POINTER} or task.json missing)")
            )
            continue
        try:
            meta = load_task_meta(task_dir)
            checks = read_checks(task_dir)
        except TaskFilesError as error:
            excluded.append(Exclusion(slug, task_dir.name, str(error)))
            continue
        found.append(_Candidate(slug, task_dir, meta, checks))
    return found, excluded


def _exclusion(home: Home, candidate: _Candidate) -> Exclusion | None:
    """Why a task may not enter a release, or None when its recorded checks all pass and are current.

    A task also needs a leaderboard snapshot: without one, a released task could not give position scores.
    """
    checks, meta = candidate.checks, candidate.meta
    version = meta["task_version"]
    if checks is None:
        return Exclusion(candidate.slug, version, "checks never ran (no checks.json): materialize the task checks")
    if checks.get("checks_version") != CHECKS_VERSION:
        return Exclusion(
            candidate.slug, version, f"checks.json is from {checks.get('checks_version')}, not {CHECKS_VERSION}: rerun"
        )
    if checks.get("task_version") != version or checks.get("spec_sha256") != meta["spec_sha256"]:
        return Exclusion(candidate.slug, version, "checks.json is about another task version or spec: rerun checks")
    failed = [c["name"] for c in checks.get("checks", []) if c.get("blocking") and not c.get("passed")]
    if failed:
        return Exclusion(candidate.slug, version, "failed blocking checks: " + ", ".join(failed), failed)
    if not _snapshots(home, candidate.slug):
        return Exclusion(candidate.slug, version, "no leaderboard snapshot: materialize its leaderboard")
    return None


def _snapshots(home: Home, slug: str) -> list[Path]:
    """The leaderboard snapshots of a competition (temp files of an unfinished write excluded)."""
    board_dir = home.leaderboard_dir(slug)
    if not board_dir.is_dir():
        return []
    return sorted(p for p in board_dir.glob("*.parquet") if not p.name.startswith("."))


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link every file of `source` under `target` (copy when linking is impossible, e.g. across devices).

    Tasks are written once, by temp-dir-then-rename, so sharing their inodes is safe; `verify` would
    catch any later in-place edit.
    """
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, destination)
        except OSError:
            shutil.copy2(path, destination)


def _competition_row(candidate: _Candidate) -> dict[str, Any]:
    meta = candidate.meta
    split, rows = meta.get("split") or {}, meta.get("rows") or {}
    return {
        "slug": candidate.slug,
        "title": meta.get("title"),
        "task_version": meta["task_version"],
        "task_type": meta.get("task_type"),
        "metric": (meta.get("metric") or {}).get("name"),
        "metric_params": json.dumps((meta.get("metric") or {}).get("params", {}), sort_keys=True),
        "higher_is_better": meta.get("higher_is_better"),
        "prediction": meta.get("prediction"),
        "id_column": meta["id_column"],
        "target_columns": list(meta["target_columns"]),
        "prediction_columns": list(meta["prediction_columns"]),
        "submission_format": meta["submission_format"],
        "classes": meta.get("classes"),
        "split_method": split.get("method"),
        "test_fraction": split.get("test_fraction"),
        "public_fraction": split.get("public_fraction"),
        "rows_train": rows.get("train"),
        "rows_test": rows.get("test"),
        "rows_public": rows.get("public"),
        "rows_private": rows.get("private"),
        "tags": list(meta.get("tags") or []),
        "spec_sha256": meta["spec_sha256"],
        "source_sha256": meta.get("source_sha256"),
        "split_code_version": meta.get("split_code_version"),
        "files": len(meta["files"]),
        "bytes": sum(int(entry.get("bytes") or 0) for entry in meta["files"]),
    }


def _leaderboard_rows(home: Home, slug: str) -> list[pl.DataFrame]:
    columns = [c for c in TABLE_SCHEMAS["leaderboards"] if c != "slug"]
    frames = []
    for path in _snapshots(home, slug):
        frame = pl.read_parquet(path)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ReleaseError(f"{path}: leaderboard snapshot lacks columns {missing}")
        frames.append(frame.select(columns).with_columns(pl.lit(slug).alias("slug")))
    return frames


def _tables(home: Home, included: list[_Candidate], candidates: list[_Candidate]) -> dict[str, pl.DataFrame]:
    """The release's Parquet tables, rows sorted so equal inputs give equal bytes."""
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLE_NAMES if name != "leaderboards"}
    for candidate in included:
        meta = candidate.meta
        rows["competitions"].append(_competition_row(candidate))
        for entry in meta["files"]:
            rows["task_files"].append(
                {"slug": candidate.slug, "task_version": meta["task_version"]}
                | {key: entry.get(key) for key in ("path", "role", "sha256", "rows", "bytes")}
            )
        grader = candidate.task_dir / "grader.py"
        source = grader.read_text(encoding="utf-8") if grader.is_file() else ""
        rows["metric_code"].append(
            {
                "slug": candidate.slug,
                "metric": (meta.get("metric") or {}).get("name"),
                "parameters": json.dumps((meta.get("metric") or {}).get("params", {}), sort_keys=True),
                "source": source,
                "sha256": file_sha256(grader) if grader.is_file() else None,
            }
        )
    included_slugs = {c.slug for c in included}
    for candidate in candidates:
        for row in check_rows(candidate.checks or {}):
            rows["checks"].append(row | {"slug": candidate.slug, "included": candidate.slug in included_slugs})
    tables = {name: pl.DataFrame(rows[name], schema=TABLE_SCHEMAS[name], orient="row") for name in rows}
    boards = [frame for c in included for frame in _leaderboard_rows(home, c.slug)]
    schema = TABLE_SCHEMAS["leaderboards"]
    tables["leaderboards"] = (
        pl.concat([frame.select(list(schema)).cast(schema) for frame in boards])
        if boards
        else pl.DataFrame(schema=schema)
    )
    sort_keys = {
        "competitions": ["slug"],
        "task_files": ["slug", "path"],
        "metric_code": ["slug"],
        "leaderboards": ["slug", "snapshot", "board", "rank", "entry"],
        "checks": ["slug", "name"],
    }
    return {name: tables[name].sort(sort_keys[name], nulls_last=True) for name in TABLE_NAMES}


def _write_table(frame: pl.DataFrame, path: Path) -> None:
    """Parquet without statistics or timestamps, so the same rows give the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path, compression="zstd", statistics=False)


def _file_inventory(root: Path) -> dict[str, dict[str, Any]]:
    """sha256 and size of every file under root except the manifest, by relative POSIX path."""
    inventory = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != MANIFEST_FILE:
            inventory[path.relative_to(root).as_posix()] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    return inventory


def remove_abandoned_temp_dirs(home: Home) -> list[Path]:
    """Delete temp dirs of release creations whose process is gone (killed mid-write); return them."""
    return remove_abandoned_temps(home.releases_dir)


def _existing_versions(home: Home) -> list[str]:
    if not home.releases_dir.is_dir():
        return []
    return sorted(p.name for p in home.releases_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def create(home: Home, version: str, notes: str = "", *, slugs: list[str] | None = None) -> ReleaseResult:
    """Cut release `version` from the served tasks (or `slugs`) whose blocking checks all passed.

    Refuses an existing version (also one differing only in case, as catalog view names would clash)
    and a release with no task. Writes to a hidden temp dir renamed into place last: a crash leaves no
    visible release, and the next create removes the leftovers.
    """
    final = release_dir(home, version)
    clash = [v for v in _existing_versions(home) if v.lower() == version.lower()]
    if clash:
        raise ReleaseExistsError(f"release {clash[0]} already exists in {home.releases_dir}; releases are immutable")
    remove_abandoned_temp_dirs(home)
    candidates, excluded = _candidates(home, slugs)
    included = []
    for candidate in candidates:
        exclusion = _exclusion(home, candidate)
        if exclusion:
            excluded.append(exclusion)
        else:
            included.append(candidate)
    excluded.sort(key=lambda e: e.slug)
    if not included:
        reasons = "; ".join(f"{e.slug}: {e.reason}" for e in excluded) or "no tasks are built"
        raise NothingToReleaseError(f"release {version}: no task passes its checks ({reasons})")

    home.releases_dir.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_beside(home.releases_dir / version)
    tmp.mkdir()
    try:
        for candidate in included:
            task_root = tmp / "tasks" / candidate.slug
            _link_tree(candidate.task_dir, task_root / candidate.task_dir.name)
            (task_root / TASK_POINTER).write_text(candidate.task_dir.name + "\n")
            for snapshot in _snapshots(home, candidate.slug):
                (tmp / "leaderboards" / candidate.slug).mkdir(parents=True, exist_ok=True)
                shutil.copy2(snapshot, tmp / "leaderboards" / candidate.slug / snapshot.name)
        tables = _tables(home, included, candidates)
        for name, frame in tables.items():
            _write_table(frame, tmp / TABLES_DIR / f"{name}.parquet")
        manifest = {
            "format": 1,
            "version": version,
            "notes": notes,
            "created_at": _utc_now(),
            "git": _git_state(),
            "python": platform.python_version(),
            "packages": package_versions(),
            "checks_version": CHECKS_VERSION,
            "tasks": {
                c.slug: {
                    "task_version": c.meta["task_version"],
                    "spec_sha256": c.meta["spec_sha256"],
                    "source_sha256": c.meta.get("source_sha256"),
                    "secret_sha256": c.meta.get("secret_sha256"),  # the salt that keyed ids and split
                    "path": f"tasks/{c.slug}/{c.task_dir.name}",
                }
                for c in included
            },
            "excluded": {
                e.slug: {"task_version": e.task_version, "reason": e.reason, "failed_checks": e.failed_checks}
                for e in excluded
            },
            "tables": {
                name: {"path": f"{TABLES_DIR}/{name}.parquet", "rows": frame.height} for name, frame in tables.items()
            },
            "files": _file_inventory(tmp),
        }
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        try:
            # rename(2) of a directory fails when the target exists and is not empty: a concurrent create of the
            # same version loses here instead of overwriting.
            os.rename(tmp, final)
        except OSError as exc:
            if final.exists():
                raise ReleaseExistsError(f"release {version} was created meanwhile; releases are immutable") from exc
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    try:
        register_releases(home)
    except (ReleaseError, duckdb.Error) as exc:
        raise ReleaseError(
            f"release {version} is complete at {final}, but catalog.duckdb was not updated ({exc}); "
            "the next release or catalog build registers it"
        ) from exc
    return ReleaseResult(version, final, [c.slug for c in included], excluded, manifest)


def read_manifest(home: Home, version: str) -> dict[str, Any]:
    """The manifest of an existing release; ReleaseError naming the known versions otherwise."""
    path = release_dir(home, version) / MANIFEST_FILE
    if not path.is_file():
        known = ", ".join(_existing_versions(home)) or "none"
        raise ReleaseError(f"no release {version!r} in {home.releases_dir} (releases: {known})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReleaseError(f"{path}: unreadable manifest: {exc}") from exc


def list_releases(home: Home) -> list[ReleaseInfo]:
    """Every complete release, oldest first (by creation time, then version)."""
    infos = []
    for version in _existing_versions(home):
        path = home.releases_dir / version / MANIFEST_FILE
        if not path.is_file():
            continue
        manifest = read_manifest(home, version)
        infos.append(
            ReleaseInfo(
                version=version,
                created_at=manifest.get("created_at", ""),
                notes=manifest.get("notes", ""),
                tasks=len(manifest.get("tasks", {})),
                excluded=len(manifest.get("excluded", {})),
                git_commit=(manifest.get("git") or {}).get("commit"),
                path=home.releases_dir / version,
            )
        )
    return sorted(infos, key=lambda info: (info.created_at, info.version))


def release_task_dir(home: Home, version: str, slug: str) -> Path:
    """The task dir of `slug` as released in `version` (for serving a task from a release)."""
    manifest = read_manifest(home, version)
    task = manifest.get("tasks", {}).get(slug)
    if task is None:
        released = ", ".join(sorted(manifest.get("tasks", {}))) or "none"
        raise ReleaseError(f"release {version} has no task {slug!r} (tasks: {released})")
    path = release_dir(home, version) / task["path"]
    if not (path / "task.json").is_file():
        raise ReleaseError(f"release {version}: {path} lacks task.json; run `dojo release verify {version}`")
    return path


def _task_files(manifest: dict[str, Any], slug: str) -> dict[str, str]:
    """sha256 by path of a task's files (relative to its task dir) and of its leaderboard snapshots."""
    prefix = manifest["tasks"][slug]["path"] + "/"
    boards = f"leaderboards/{slug}/"
    files = {}
    for path, entry in manifest["files"].items():
        if path.startswith(prefix):
            files[path[len(prefix) :]] = entry["sha256"]
        elif path.startswith(boards):
            files["leaderboard/" + path[len(boards) :]] = entry["sha256"]
    return files


def diff(home: Home, old: str, new: str) -> ReleaseDiff:
    """What changed from release `old` to release `new`: tasks added, removed, changed (with files) and tables."""
    a, b = read_manifest(home, old), read_manifest(home, new)
    tasks_a, tasks_b = a.get("tasks", {}), b.get("tasks", {})
    changed, unchanged = [], []
    for slug in sorted(tasks_a.keys() & tasks_b.keys()):
        files_a, files_b = _task_files(a, slug), _task_files(b, slug)
        version_a, version_b = tasks_a[slug]["task_version"], tasks_b[slug]["task_version"]
        if files_a == files_b and version_a == version_b:
            unchanged.append(slug)
            continue
        changed.append(
            TaskChange(
                slug=slug,
                old_version=version_a,
                new_version=version_b,
                files_added=sorted(files_b.keys() - files_a.keys()),
                files_removed=sorted(files_a.keys() - files_b.keys()),
                files_modified=sorted(p for p in files_a.keys() & files_b.keys() if files_a[p] != files_b[p]),
            )
        )
    tables_changed = sorted(
        name
        for name in TABLE_NAMES
        if a["files"].get(f"{TABLES_DIR}/{name}.parquet") != b["files"].get(f"{TABLES_DIR}/{name}.parquet")
    )
    return ReleaseDiff(
        old=old,
        new=new,
        added=sorted(tasks_b.keys() - tasks_a.keys()),
        removed=sorted(tasks_a.keys() - tasks_b.keys()),
        changed=changed,
        unchanged=unchanged,
        tables_changed=tables_changed,
    )


def verify(home: Home, version: str) -> VerifyResult:
    """Rehash every file of a release against its manifest; list each modified, missing or unlisted file."""
    manifest = read_manifest(home, version)
    root = release_dir(home, version)
    expected = manifest.get("files", {})
    mismatches = []
    for path, entry in sorted(expected.items()):
        file = root / path
        if not file.is_file():
            mismatches.append(Mismatch(path, "missing", entry["sha256"], None))
            continue
        actual = file_sha256(file)
        if actual != entry["sha256"]:
            mismatches.append(Mismatch(path, "modified", entry["sha256"], actual))
    for file in sorted(root.rglob("*")):
        relative = file.relative_to(root).as_posix()
        if file.is_file() and relative != MANIFEST_FILE and relative not in expected:
            mismatches.append(Mismatch(relative, "unexpected", None, file_sha256(file)))
    return VerifyResult(version, len(expected), mismatches)


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    """Open catalog.duckdb for writing (the caller holds catalog.duckdb.lock), waiting while a process that
    does not take the lock (a user's duckdb shell) holds it; a log left by a killed writer that no longer
    matches the file is dropped (everything written here is derived from releases/ and rewritten anyway)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wal = path.with_name(path.name + ".wal")
    for attempt in range(CATALOG_LOCK_RETRIES):
        try:
            return duckdb.connect(str(path))
        except duckdb.Error as exc:
            message = str(exc).lower()
            # DuckDB: 'Failure while replaying WAL file "...": WAL does not match database file.'
            if "replaying wal" in message and wal.exists() and attempt == 0:
                wal.unlink()
                continue
            if "lock" not in message or attempt == CATALOG_LOCK_RETRIES - 1:
                raise ReleaseError(f"{path}: cannot open the catalog to register releases: {exc}") from exc
            time.sleep(CATALOG_LOCK_WAIT)
    raise AssertionError("unreachable")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def release_view_name(version: str, table: str) -> str:
    return f"release_{version}_{table}"


def register_releases(home: Home) -> list[str]:
    """(Re)create catalog.duckdb's `releases` table, per-release views and `latest_*` views; return view names.

    Idempotent and derived from releases/ alone, so it can run after anything rebuilt the catalog file.
    """
    infos = list_releases(home)
    wanted: dict[str, Path] = {}
    for info in infos:
        for table in TABLE_NAMES:
            wanted[release_view_name(info.version, table)] = info.path / TABLES_DIR / f"{table}.parquet"
    if infos:
        for table in TABLE_NAMES:
            wanted[f"latest_{table}"] = infos[-1].path / TABLES_DIR / f"{table}.parquet"
    rows = pl.DataFrame(
        [
            {
                "version": info.version,
                "created_at": info.created_at,
                "notes": info.notes,
                "tasks": info.tasks,
                "excluded": info.excluded,
                "git_commit": info.git_commit,
                "path": str(info.path),
                "latest": info is infos[-1],
            }
            for info in infos
        ],
        schema={
            "version": pl.String,
            "created_at": pl.String,
            "notes": pl.String,
            "tasks": pl.Int64,
            "excluded": pl.Int64,
            "git_commit": pl.String,
            "path": pl.String,
            "latest": pl.Boolean,
        },
        orient="row",
    )
    # Every catalog writer holds this lock (curation.catalog.build_catalog too), so they take turns.
    with file_lock(home.catalog_path.with_name(home.catalog_path.name + ".lock")):
        _write_release_views(home.catalog_path, rows, wanted)
    return sorted(wanted)


def _write_release_views(catalog: Path, rows: pl.DataFrame, wanted: dict[str, Path]) -> None:
    """Replace the releases table and the release views of `catalog` in one transaction."""
    con = _connect(catalog)
    try:
        con.execute("BEGIN TRANSACTION")
        existing = [
            name
            for (name,) in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' "
                "AND (starts_with(view_name, 'release_') OR starts_with(view_name, 'latest_'))"
            ).fetchall()
        ]
        for name in existing:
            if name not in wanted:
                con.execute(f"DROP VIEW {_quote(name)}")
        con.register("release_rows", rows.to_arrow())
        con.execute("CREATE OR REPLACE TABLE releases AS SELECT * FROM release_rows")
        con.unregister("release_rows")
        for name, parquet in wanted.items():
            con.execute(
                f"CREATE OR REPLACE VIEW {_quote(name)} AS SELECT * FROM read_parquet({_literal(str(parquet))})"
            )
        con.execute("COMMIT")
    finally:
        con.close()
