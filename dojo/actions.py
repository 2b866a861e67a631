"""The action protocol: what an agent may send to the env, parsed and checked with messages written for an LLM."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

ACTION_NAMES = ("request_info", "validate_code", "execute_code", "get_history", "submit")
INFO_TYPES = ("overview", "data_structure", "sample_submission", "metric", "leaderboard", "all")
MAX_CODE_CHARS = 200_000
# A JSON action holds code escaped as \uXXXX at worst (6 characters each) plus a little structure.
MAX_ACTION_CHARS = 6 * MAX_CODE_CHARS + 10_000
MAX_JSON_DEPTH = 32  # an action nests 2 levels; the cap keeps json.loads far from the recursion limit
MAX_STEP_NUMBER = 10**9
_STRUCTURE = re.compile(r'\\.|["\[\]{}]', re.DOTALL)  # an escape pair, a quote or a bracket

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
    """Turn an action (Action, dict or JSON string) into a checked Action; raise ActionError on anything else.

    Anything an agent can send ends in an Action or an ActionError: over-long or over-deep JSON, numbers
    too long to convert, lone surrogates and values of any type are refused with a short reason.
    """
    try:
        return _parse(raw)
    except ActionError:
        raise
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        # A value built to break Python itself (e.g. a dict nested past the recursion limit) must still
        # become an explanation, never an exception out of env.step.
        raise ActionError(f"the action could not be read ({type(exc).__name__})") from exc


def action_text(raw: Any) -> str:
    """The action as sent, as text for the trajectory: JSON for dicts, capped, never raising."""
    if isinstance(raw, Action):
        raw = raw.to_dict()
    if isinstance(raw, bytes | bytearray):
        text = bytes(raw).decode("utf-8", errors="replace")
    elif isinstance(raw, str):
        text = raw
    else:
        try:
            text = json.dumps(raw, default=str, ensure_ascii=False)
        except Exception:  # default=str runs the value's own __str__, which may raise anything
            text = f"<a {type(raw).__name__} that is not JSON-serializable>"
    if len(text) > MAX_ACTION_CHARS:
        return text[:MAX_ACTION_CHARS] + f"[... {len(text) - MAX_ACTION_CHARS:,} characters cut ...]"
    return text


def describe(value: Any, limit: int = 80) -> str:
    """A short repr of an agent-sent value for an error message; never raises, however big or deep the value."""
    try:
        text = repr(value)
    except Exception:  # any value may arrive here, and its repr may raise anything
        return f"a value of type {type(value).__name__} that cannot be shown"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _names(keys: Any) -> str:
    """Keys of any types as a short bracketed list for a message."""
    shown = sorted(describe(key, 40) for key in keys)
    more = f", ... ({len(shown) - 10} more)" if len(shown) > 10 else ""
    return "[" + ", ".join(shown[:10]) + more + "]"


def _parse(raw: Any) -> Action:
    if isinstance(raw, Action):
        raw = raw.to_dict()
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, str):
        raw = _load_json(raw)
    if not isinstance(raw, dict):
        raise ActionError(f"the action must be a JSON object, got {type(raw).__name__}")
    unknown = set(raw) - {"action", "params"}
    if unknown:
        raise ActionError(f"unknown top-level keys {_names(unknown)}; only 'action' and 'params' are allowed")
    name = raw.get("action")
    if not isinstance(name, str) or name not in ACTION_NAMES:
        raise ActionError(f"'action' must be one of {', '.join(ACTION_NAMES)}; got {describe(name)}")
    params = raw.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ActionError(f"'params' of {name} must be a JSON object, got {type(params).__name__}")
    required, optional = _PARAMS[name]
    missing = required - set(params)
    if missing:
        raise ActionError(f"{name} needs params {_names(missing)}")
    extra = set(params) - required - optional
    if extra:
        allowed = _names(required | optional) if required | optional else "none"
        raise ActionError(f"{name} does not take params {_names(extra)}; it takes {allowed}")
    _check_values(name, params)
    return Action(name=name, params=dict(params))


def _load_json(text: str) -> Any:
    """Parse an action's JSON text, refusing what is too long or too deep to be an action."""
    if len(text) > MAX_ACTION_CHARS:
        raise ActionError(f"the action is {len(text):,} characters; the limit is {MAX_ACTION_CHARS:,}")
    depth = _max_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise ActionError(f"the action's JSON is nested {depth:,} levels deep; the limit is {MAX_JSON_DEPTH}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ActionError(f"the action is not valid JSON ({exc.msg} at {where})") from exc
    except ValueError as exc:  # int() refuses numbers past sys.get_int_max_str_digits()
        raise ActionError(f"the action holds a number too long to read ({str(exc).split(':')[0]})") from exc


def _max_depth(text: str) -> int:
    """How deep brackets nest in JSON text, outside strings (checked before json.loads recurses into it)."""
    # Only brackets and quotes matter; an escape pair (\\" included) is one token and never ends a string.
    depth = deepest = 0
    in_string = False
    for token in _STRUCTURE.findall(text):
        if token == '"':
            in_string = not in_string
        elif in_string or len(token) == 2:
            continue
        elif token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _check_values(name: str, params: dict[str, Any]) -> None:
    """Check the types and ranges of an action's parameters."""
    if name == "request_info" and params["info_type"] not in INFO_TYPES:
        got = describe(params["info_type"])
        raise ActionError(f"request_info info_type must be one of {', '.join(INFO_TYPES)}; got {got}")
    if name in ("validate_code", "execute_code"):
        code = params["code"]
        if not isinstance(code, str) or not code.strip():
            raise ActionError(f"{name} needs 'code': a non-empty string of Python source")
        if len(code) > MAX_CODE_CHARS:
            raise ActionError(f"{name} code is {len(code):,} characters; the limit is {MAX_CODE_CHARS:,}")
        try:
            code.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = describe(code[exc.start])
            raise ActionError(
                f"{name} code has a lone surrogate {bad} at character {exc.start}; send valid Unicode text"
            ) from exc
    if name == "submit" and "step" in params:
        step = params["step"]
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= MAX_STEP_NUMBER:
            raise ActionError(f"submit 'step' must be a positive integer step number; got {describe(step)}")
