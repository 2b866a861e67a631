"""Gymnasium spaces for the env's text observations and JSON actions (the built-in Text space has a fixed charset)."""

from __future__ import annotations

import json
import math
import string
from typing import Any

import numpy as np
from gymnasium import spaces

from dojo.actions import INFO_TYPES

_PRINTABLE = np.array(list(string.ascii_letters + string.digits + string.punctuation + " \n"))


class UnicodeText(spaces.Space[str]):
    """Any Python string of at most `max_length` characters (stdout, tracebacks and prose are arbitrary Unicode).

    With `optional`, None is also a member (e.g. no error type).
    """

    def __init__(
        self, max_length: int, *, optional: bool = False, seed: int | np.random.Generator | None = None
    ) -> None:
        super().__init__(shape=None, dtype=None, seed=seed)
        self.max_length = int(max_length)
        self.optional = optional

    def sample(self, mask: Any = None, probability: Any = None) -> str | None:
        if self.optional and self.np_random.random() < 0.1:
            return None
        length = int(self.np_random.integers(0, min(self.max_length, 64) + 1))
        return "".join(self.np_random.choice(_PRINTABLE, size=length))

    def contains(self, x: Any) -> bool:
        if x is None:
            return self.optional
        return isinstance(x, str) and len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText({self.max_length}{', optional' if self.optional else ''})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnicodeText) and (other.max_length, other.optional) == (self.max_length, self.optional)


class Number(spaces.Space[float]):
    """A Python int or float in [low, high]; with `optional`, also None (e.g. a score before anything was scored)."""

    def __init__(
        self,
        low: float = -math.inf,
        high: float = math.inf,
        *,
        integer: bool = False,
        optional: bool = False,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__(shape=None, dtype=None, seed=seed)
        self.low, self.high, self.integer, self.optional = low, high, integer, optional

    def sample(self, mask: Any = None, probability: Any = None) -> float | None:
        if self.optional and self.np_random.random() < 0.1:
            return None
        low = self.low if math.isfinite(self.low) else -1e6
        high = self.high if math.isfinite(self.high) else 1e6
        if self.integer:
            return int(self.np_random.integers(int(low), int(high) + 1))
        return float(self.np_random.uniform(low, high))

    def contains(self, x: Any) -> bool:
        if x is None:
            return self.optional
        if isinstance(x, bool) or not isinstance(x, int | float):
            return False
        if self.integer and not isinstance(x, int):
            return False
        return not math.isnan(x) and self.low <= x <= self.high

    def __repr__(self) -> str:
        kind = "int" if self.integer else "float"
        return f"Number({kind}, [{self.low}, {self.high}]{', optional' if self.optional else ''})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Number) and (other.low, other.high, other.integer, other.optional) == (
            self.low,
            self.high,
            self.integer,
            self.optional,
        )


class ActionSpace(spaces.Space[str]):
    """Actions as JSON strings or dicts; `sample` draws a side-effect-free action (an info request or the history).

    Sampling never draws code execution or submit, so random exploration (and Gymnasium's env checker) is cheap
    and deterministic; agents build code actions themselves.
    """

    def __init__(self, seed: int | np.random.Generator | None = None) -> None:
        super().__init__(shape=None, dtype=None, seed=seed)

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        choices = [{"action": "request_info", "params": {"info_type": kind}} for kind in INFO_TYPES]
        choices.append({"action": "get_history", "params": {}})
        return json.dumps(choices[int(self.np_random.integers(len(choices)))])

    def contains(self, x: Any) -> bool:
        return isinstance(x, str | dict)

    def __repr__(self) -> str:
        return "ActionSpace(JSON action string or dict)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActionSpace)
