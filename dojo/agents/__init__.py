"""Agents that play MLE-Dojo episodes: `baseline` (scripted scikit-learn) and `openai` (any chat endpoint)."""

from __future__ import annotations

from typing import Any, Protocol

AGENT_NAMES = ("baseline", "openai")


class Agent(Protocol):
    """What the episode runner needs from an agent.

    `reset` sees the first observation and info; `act` returns the next action (dict or JSON string) from the
    latest observation and info; `step_meta` returns data to log with that action (tokens, cost, raw
    reply) or None.
    """

    name: str

    def reset(self, observation: dict[str, Any], info: dict[str, Any]) -> None: ...

    def act(self, observation: dict[str, Any], info: dict[str, Any]) -> dict[str, Any] | str: ...

    def step_meta(self) -> dict[str, Any] | None: ...


def make_agent(name: str, **options: Any) -> Agent:
    """An agent by name; options go to its constructor (the openai agent takes model, base_url, api_key, ...)."""
    if name == "baseline":
        from dojo.agents.baseline import BaselineAgent

        if options:
            raise ValueError(f"the baseline agent takes no options, got {sorted(options)}")
        return BaselineAgent()
    if name == "openai":
        from dojo.agents.openai_agent import OpenAIAgent

        return OpenAIAgent(**options)
    raise ValueError(f"unknown agent {name!r}; one of {', '.join(AGENT_NAMES)}")
