"""Trajectories to training data: SFT chat transcripts and RL transitions, one JSON object per line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dojo.actions import SYSTEM_PROMPT
from dojo.trajectory import Episode, TrajectoryError, find_episodes, load_episode

EXPORT_KINDS = ("sft", "rl")


def _assistant_text(step: dict[str, Any]) -> str:
    """What the policy said at a step: the model's raw reply when an LLM agent logged one, else the action."""
    agent = step.get("agent") or {}
    if agent.get("raw_reply"):
        return str(agent["raw_reply"])
    if step.get("action") is not None:
        return json.dumps(step["action"], ensure_ascii=False)
    return str(step.get("raw_action", ""))


def _episode_metadata(episode: Episode) -> dict[str, Any]:
    summary = episode.summary or {}
    return {
        "task": episode.reset.get("task"),
        "episode": episode.reset.get("episode"),
        "steps": len(episode.steps),
        "private_score": summary.get("private_score"),
        "private_position": summary.get("private_position"),
        "best_public_score": summary.get("best_public_score"),
        "reward_total": sum(float(step.get("reward") or 0.0) for step in episode.steps),
        "source": str(episode.path),
    }


def sft_example(episode: Episode) -> dict[str, Any]:
    """One chat transcript: system prompt, the task as the first user turn, then action/feedback turns.

    The last feedback (after the final action) is left out: a transcript ends on the assistant.
    """
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": episode.reset["observation"]["text"]},
    ]
    for index, step in enumerate(episode.steps):
        messages.append({"role": "assistant", "content": _assistant_text(step)})
        if index < len(episode.steps) - 1:
            messages.append({"role": "user", "content": step["observation"]["text"]})
    return {"messages": messages, "metadata": _episode_metadata(episode)}


def rl_transitions(episode: Episode) -> Iterator[dict[str, Any]]:
    """(obs, action, reward, next_obs, done) per step, observations as the text the policy reads."""
    previous = episode.reset["observation"]
    for step in episode.steps:
        terminated, truncated = bool(step["terminated"]), bool(step["truncated"])
        yield {
            "task": step.get("task"),
            "episode": step.get("episode"),
            "step": step["step"],
            "obs": previous["text"],
            "action": _assistant_text(step),
            "reward": float(step.get("reward") or 0.0),
            "next_obs": step["observation"]["text"],
            "done": terminated or truncated,
            "terminated": terminated,
            "truncated": truncated,
            "score": step["observation"].get("score"),
            "status": step["observation"].get("status"),
        }
        previous = step["observation"]


def export_run(kind: str, run_dir: Path, out_path: Path) -> int:
    """Write every episode under `run_dir` as `kind` ("sft" or "rl") JSONL to `out_path`; return lines written."""
    if kind not in EXPORT_KINDS:
        raise ValueError(f"export kind must be one of {EXPORT_KINDS}, got {kind!r}")
    episodes = find_episodes(run_dir)
    if not episodes:
        raise TrajectoryError(f"no trajectory.jsonl under {run_dir}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    count = 0
    with open(tmp, "w", encoding="utf-8") as handle:
        for episode_dir in episodes:
            episode = load_episode(episode_dir)
            rows = [sft_example(episode)] if kind == "sft" else list(rl_transitions(episode))
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
    tmp.replace(out_path)
    return count
