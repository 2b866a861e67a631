"""Which task the runtime serves: the current build of a slug under DOJO_HOME, or the version a release pins."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from curation.layout import Home
from dojo.registration import built_slugs
from graders.leaderboards import load_leaderboard


class TaskNotFound(LookupError):
    """No built task (or release entry) for a slug; the message says where it looked and what exists."""


@dataclass(frozen=True)
class ServedTask:
    """A built task as the runtime sees it: its directory, task.json and the leaderboard it is graded against."""

    slug: str
    task_dir: Path
    meta: dict
    leaderboard_dir: Path
    release: str | None

    @property
    def public_dir(self) -> Path:
        return self.task_dir / "public"

    @property
    def private_dir(self) -> Path:
        return self.task_dir / "private"

    def public_file(self, role: str) -> str | None:
        """Path relative to public/ of the first file with `role` (train, test, sample_submission, ...)."""
        for entry in self.meta["files"]:
            if entry["role"] == role:
                return entry["path"].removeprefix("public/")
        return None

    def leaderboard(self) -> pl.DataFrame | None:
        """The newest leaderboard snapshot (both boards), or None."""
        return load_leaderboard(self.leaderboard_dir)


def resolve_task(slug: str, home: Home, release: str | None = None, *, scratch: Path | None = None) -> ServedTask:
    """The task to serve for `slug`: the CURRENT build, or the build that release `release` pins.

    A release dir (releases/<version>/) is read through two of its tables: `competitions.parquet`
    (columns slug, task_version) pins the task dir tasks/<slug>/<task_version>/, and `leaderboards.parquet`
    (slug + the leaderboard columns), when present, is the leaderboard graded against; its rows for `slug`
    are written to `scratch`/leaderboard/ (the release itself is immutable) so the graders read them like
    any snapshot dir. Without that table the live leaderboards/<slug>/ is used.
    """
    if release is None:
        task_dir = home.current_task_dir(slug)
        if task_dir is None:
            built = built_slugs(home)
            listing = ", ".join(built[:20]) + (" ..." if len(built) > 20 else "") if built else "none"
            raise TaskNotFound(
                f"task {slug!r} is not built under {home.root} (built: {listing}); run `dojo build {slug}`"
            )
        return ServedTask(slug, task_dir, _read_meta(task_dir), home.leaderboard_dir(slug), None)
    release_dir = home.releases_dir / release
    table = release_dir / "competitions.parquet"
    if not table.is_file():
        raise TaskNotFound(f"release {release!r} not found: {table} does not exist")
    rows = pl.read_parquet(table, columns=["slug", "task_version"]).filter(pl.col("slug") == slug)
    if rows.is_empty():
        raise TaskNotFound(f"release {release!r} has no task {slug!r} ({table})")
    task_dir = home.task_dir(slug, str(rows["task_version"][0]))
    if not (task_dir / "task.json").is_file():
        raise TaskNotFound(f"release {release!r} pins {task_dir}, which is missing or has no task.json")
    leaderboard_dir = home.leaderboard_dir(slug)
    if (release_dir / "leaderboards.parquet").is_file():
        if scratch is None:
            raise ValueError("serving from a release with its own leaderboards needs a scratch dir")
        leaderboard_dir = _release_leaderboard(release_dir / "leaderboards.parquet", slug, scratch / "leaderboard")
    return ServedTask(slug, task_dir, _read_meta(task_dir), leaderboard_dir, release)


def _read_meta(task_dir: Path) -> dict:
    try:
        return json.loads((task_dir / "task.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TaskNotFound(f"{task_dir / 'task.json'} is unreadable: {exc}") from exc


def _release_leaderboard(table: Path, slug: str, target: Path) -> Path:
    """Write the release's leaderboard rows of `slug` as a snapshot in `target`; return `target`."""
    rows = pl.read_parquet(table).filter(pl.col("slug") == slug).drop("slug")
    target.mkdir(parents=True, exist_ok=True)
    rows.write_parquet(target / "release.parquet")
    return target
