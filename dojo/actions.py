"""The action protocol: what an agent may send to the env, parsed and checked with messages written for an LLM."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

ACTION_NAMES = ("request_info", "validate_code", "execute_code", "get_history", "submit")
INFO_TYPES = ("overview", "data_structure", "sample_submission", "metric", "leaderboard", "all")
MAX_CODE_CHARS = 200_000

# Parameters each action accepts: name -> (required, optional).
_PARAMS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "request_info": (frozenset({"info_type"}), frozenset()),
    "validate_code": (frozenset({"code"}), frozenset()),
    "execute_code": (frozenset({"code"}), frozenset()),
    "get_history": (frozenset(), frozenset()),
    "submit": (frozenset(), frozenset({"step"})),
}

ACTION_FORMAT = """\
Send exactly one action per turn: a JSON object {"action": NAME, "params": {...}}.
Actions:
- {"action": "request_info", "params": {"info_type": T}} with T one of overview, data_structure,
  sample_submission, metric, leaderboard, all: read about the task.
- {"action": "validate_code", "params": {"code": "..."}}: run Python code and check that it wrote a
  well-formed submission.csv, without scoring it.
- {"action": "execute_code", "params": {"code": "..."}}: run Python code; if it writes submission.csv
  in the working directory, the submission is checked and scored on the public leaderboard.
- {"action": "get_history", "params": {}}: list the steps so far with their scores.
- {"action": "submit", "params": {}}: end the episode; your best public submission (or the one of
  {"step": N}) is scored on the private leaderboard.
Every action, valid or not, costs one step."""

SYSTEM_PROMPT = f"""\
You are an expert machine-learning engineer competing in a Kaggle-style task inside MLE-Dojo.
You improve a solution step by step: read the task, write Python code that trains a model and writes
submission.csv, look at the score and the errors you get back, improve, and submit your best work.

{ACTION_FORMAT}

Reply with one JSON object and nothing else, for example
{{"action": "execute_code", "params": {{"code": "import pandas as pd\\nprint(pd.read_csv('/data/train.csv').shape)"}}}}
Code may instead follow the JSON in a ```python fenced block (then leave out params.code).
Each code run is a fresh Python process: load data, fit and write submission.csv in the same code."""


class ActionError(ValueError):
    """An action that does not follow the protocol; the message says what is wrong and what is expected."""


@dataclass(frozen=True)
class Action:
    """One parsed, checked action."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.name, "params": dict(self.params)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


def parse_action(raw: Any) -> Action:
    """Turn an action (Action, dict or JSON string) into a checked Action; raise ActionError on anything else."""
    if isinstance(raw, Action):
        raw = raw.to_dict()
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise ActionError(f"the action is not valid JSON ({exc.msg} at {where})") from exc
    if not isinstance(raw, dict):
        raise ActionError(f"the action must be a JSON object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - {"action", "params"})
    if unknown:
        raise ActionError(f"unknown top-level keys {unknown}; only 'action' and 'params' are allowed")
    name = raw.get("action")
    if not isinstance(name, str) or name not in ACTION_NAMES:
        raise ActionError(f"'action' must be one of {', '.join(ACTION_NAMES)}; got {name!r}")
    params = raw.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ActionError(f"'params' of {name} must be a JSON object, got {type(params).__name__}")
    required, optional = _PARAMS[name]
    missing = sorted(required - set(params))
    if missing:
        raise ActionError(f"{name} needs params {missing}")
    extra = sorted(set(params) - required - optional)
    if extra:
        allowed = sorted(required | optional)
        raise ActionError(f"{name} does not take params {extra}; it takes {allowed or 'none'}")
    _check_values(name, params)
    return Action(name=name, params=dict(params))


def _check_values(name: str, params: dict[str, Any]) -> None:
    """Check the types and ranges of an action's parameters."""
    if name == "request_info" and params["info_type"] not in INFO_TYPES:
        raise ActionError(f"request_info info_type must be one of {', '.join(INFO_TYPES)}; got {params['info_type']!r}")
    if name in ("validate_code", "execute_code"):
        code = params["code"]
        if not isinstance(code, str) or not code.strip():
            raise ActionError(f"{name} needs 'code': a non-empty string of Python source")
        if len(code) > MAX_CODE_CHARS:
            raise ActionError(f"{name} code is {len(code):,} characters; the limit is {MAX_CODE_CHARS:,}")
    if name == "submit" and "step" in params:
        step = params["step"]
        if isinstance(step, bool) or not isinstance(step, int) or step < 1:
            raise ActionError(f"submit 'step' must be a positive integer step number; got {step!r}")
