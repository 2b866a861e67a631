"""MLE-Dojo runtime: `dojo.make(slug)` serves a curated task as a Gymnasium env. It never imports Dagster.

Importing dojo registers every built task as `mle-dojo/<slug>-v0`, so `gymnasium.make` finds them too.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from dojo.registration import env_id, register_envs

if TYPE_CHECKING:
    from dojo.env import DojoEnv

__all__ = ["env_id", "make", "register_envs"]


def make(
    slug: str,
    *,
    home: str | os.PathLike[str] | None = None,
    release: str | None = None,
    max_steps: int = 20,
    time_budget_s: float = 3600.0,
    exec_timeout_s: float = 600.0,
    memory_mb: int = 4096,
    reward_mode: str = "position",
    **options: Any,
) -> DojoEnv:
    """The env of task `slug` (see dojo.env.DojoEnv for the contract and the other options)."""
    # Imported here so that `import dojo` (and Gymnasium's registration) stays light.
    from dojo.env import DojoEnv

    return DojoEnv(
        slug,
        home=home,
        release=release,
        max_steps=max_steps,
        time_budget_s=time_budget_s,
        exec_timeout_s=exec_timeout_s,
        memory_mb=memory_mb,
        reward_mode=reward_mode,
        **options,
    )


register_envs()
