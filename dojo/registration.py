"""Gymnasium registration: every built task under DOJO_HOME becomes `mle-dojo/<slug>-v0`.

Kept light (no polars, no graders) because it runs on `import dojo` and from Gymnasium's plugin entry point.
"""

from __future__ import annotations

import os

import gymnasium as gym

from curation.layout import TASK_POINTER, Home

ENV_NAMESPACE = "mle-dojo"
ENTRY_POINT = "dojo.env:DojoEnv"


def env_id(slug: str) -> str:
    """The Gymnasium id of a task."""
    return f"{ENV_NAMESPACE}/{slug}-v0"


def built_slugs(home: Home) -> list[str]:
    """Slugs with a served build under home: tasks/<slug>/CURRENT pointing at a dir with task.json."""
    tasks_dir = home.root / "tasks"
    if not tasks_dir.is_dir():
        return []
    return sorted(
        pointer.parent.name
        for pointer in tasks_dir.glob(f"*/{TASK_POINTER}")
        if home.current_task_dir(pointer.parent.name) is not None
    )


def register_envs(home: str | os.PathLike[str] | None = None) -> list[str]:
    """Register `mle-dojo/<slug>-v0` for every built task under `home` (default DOJO_HOME); return the ids.

    Cheap (a directory listing) and never raises for a missing or unreadable home: nothing built, nothing
    registered. An id already registered for the same home is left as it is.
    """
    resolved = Home.from_env(home)
    try:
        slugs = built_slugs(resolved)
    except OSError:
        return []
    ids = []
    for slug in slugs:
        identifier = env_id(slug)
        kwargs = {"slug": slug, "home": str(resolved.root)}
        existing = gym.registry.get(identifier)
        if existing is None or existing.kwargs != kwargs:
            # Gymnasium warns on re-registration; only a changed home justifies it.
            gym.register(id=identifier, entry_point=ENTRY_POINT, kwargs=kwargs)
        ids.append(identifier)
    return ids
