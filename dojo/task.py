"""Which task the runtime serves: the current build of a slug under DOJO_HOME, or the version a release pins."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from curation.layout import Home
from curation.serving import refusal
from dojo.registration import built_slugs
from graders.leaderboards import load_leaderboard


class TaskNotFound(LookupError):
    """No built task (or release entry) for a slug; the message says where it looked and what exists."""


class TaskRefused(TaskNotFound):
    """A task is built but may not be served: its checks failed or its last build failed (the message says which
    check and why)."""


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


def resolve_task(slug: str, home: Home, release: str | None = None) -> ServedTask:
    """The task to serve for `slug`: the CURRENT build, or the task and leaderboard that release `release`
    holds (releases/<version>/, immutable, verified by `dojo release verify`)."""
    if release is None:
        task_dir = home.current_task_dir(slug)
        if task_dir is None:
            built = built_slugs(home)
            listing = ", ".join(built[:20]) + (" ..." if len(built) > 20 else "") if built else "none"
            raise TaskNotFound(
                f"task {slug!r} is not built under {home.root} (built: {listing}); run `dojo build {slug}`"
            )
        problem = refusal(home, slug, task_dir)
        if problem:
            raise TaskRefused(f"task {slug!r} ({task_dir.name}) is not served: {problem}")
        return ServedTask(slug, task_dir, _read_meta(task_dir), home.leaderboard_dir(slug), None)
    # A release is laid out like a DOJO_HOME (tasks/, leaderboards/) and pinned by its manifest; it is served
    # in place, read-only. Imported here: the release module is heavier than the runtime needs otherwise.
    from curation.releases import ReleaseError, release_dir, release_task_dir

    try:
        task_dir = release_task_dir(home, release, slug)
    except ReleaseError as exc:
        raise TaskNotFound(str(exc)) from exc
    return ServedTask(slug, task_dir, _read_meta(task_dir), release_dir(home, release) / "leaderboards" / slug, release)


def _read_meta(task_dir: Path) -> dict:
    try:
        return json.loads((task_dir / "task.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TaskNotFound(f"{task_dir / 'task.json'} is unreadable: {exc}") from exc
