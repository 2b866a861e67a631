"""Play one episode: an agent against an env, every step reported to an optional callback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym

from dojo.agents import Agent

StepCallback = Callable[[int, dict[str, Any], float, dict[str, Any]], None]


def run_episode(
    env: gym.Env, agent: Agent, *, seed: int | None = None, on_step: StepCallback | None = None
) -> dict[str, Any]:
    """Reset, let the agent act until the episode terminates or is truncated; return the episode summary.

    `on_step(step, observation, reward, info)` is called after every step (for live progress).
    """
    observation, info = env.reset(seed=seed)
    agent.reset(observation, info)
    while True:
        action = agent.act(observation, info)
        meta = agent.step_meta()
        if meta:
            env.unwrapped.annotate_next_step(meta)
        observation, reward, terminated, truncated, info = env.step(action)
        if on_step is not None:
            on_step(int(info.get("step", 0)), observation, float(reward), info)
        if terminated or truncated:
            return dict(info["final"])
