"""Seeded synthetic tables: `generate(generator, rows, seed, params)`, vectorized with numpy.

Generators:
- `tabular_binary`: `id`, numeric features `num_0..`, categorical features `cat_0..` and a 0/1 `target` drawn
  from a known nonlinear function of the features plus Gaussian noise, thresholded at a chosen positive rate.
  Params (all optional): `n_numeric` (>= 4, default 8), `n_categorical` (>= 1, default 3), `n_levels` (2..26,
  default 6), `noise` (>= 0, default 1.0), `positive_rate` (0..1 exclusive, default 0.3).
  Ten million rows take a few seconds and about 1 GB: features are float32, categories are polars Enums.

The same (generator, rows, seed, params) give the same table, bit for bit, on any machine with the pinned numpy.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl


class SyntheticError(ValueError):
    """A generator name or parameter that cannot produce a table; the message says which and why."""


TABULAR_BINARY_DEFAULTS: dict[str, Any] = {
    "n_numeric": 8,
    "n_categorical": 3,
    "n_levels": 6,
    "noise": 1.0,
    "positive_rate": 0.3,
}


def generate(generator: str, rows: int, seed: int, params: dict[str, Any]) -> pl.DataFrame:
    """Generate `rows` rows with `generator`; SyntheticError for an unknown generator or bad parameters."""
    make = _GENERATORS.get(generator)
    if make is None:
        raise SyntheticError(f"unknown synthetic generator {generator!r}; one of {sorted(_GENERATORS)}")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows <= 0:
        raise SyntheticError(f"generator {generator!r}: rows must be a positive integer, got {rows!r}")
    return make(rows, seed, params)


def _tabular_binary_params(params: dict[str, Any]) -> dict[str, Any]:
    """Defaults merged with `params`, each checked; SyntheticError names the bad key."""
    unknown = sorted(set(params) - set(TABULAR_BINARY_DEFAULTS))
    if unknown:
        raise SyntheticError(f"tabular_binary: unknown params {unknown}; known: {sorted(TABULAR_BINARY_DEFAULTS)}")
    merged = {**TABULAR_BINARY_DEFAULTS, **params}
    checks: dict[str, tuple[type, Callable[[Any], bool], str]] = {
        "n_numeric": (int, lambda v: 4 <= v <= 1000, "an integer from 4 to 1000"),
        "n_categorical": (int, lambda v: 1 <= v <= 100, "an integer from 1 to 100"),
        "n_levels": (int, lambda v: 2 <= v <= 26, "an integer from 2 to 26"),
        "noise": (float, lambda v: v >= 0, "a number >= 0"),
        "positive_rate": (float, lambda v: 0 < v < 1, "a number strictly between 0 and 1"),
    }
    for key, (kind, valid, what) in checks.items():
        value = merged[key]
        type_ok = isinstance(value, int) if kind is int else isinstance(value, int | float)
        if isinstance(value, bool) or not type_ok or not valid(value):
            raise SyntheticError(f"tabular_binary: param {key!r} must be {what}, got {value!r}")
    return merged


def _tabular_binary(rows: int, seed: int, params: dict[str, Any]) -> pl.DataFrame:
    """Binary classification with a known nonlinear decision function (see the module docstring)."""
    p = _tabular_binary_params(params)
    n_numeric, n_categorical, n_levels = p["n_numeric"], p["n_categorical"], p["n_levels"]
    rng = np.random.default_rng(seed)
    numeric = [rng.standard_normal(rows, dtype=np.float32) for _ in range(n_numeric)]
    # Heavier-tailed and skewed columns, so the features are not all alike: a lognormal and a uniform one.
    numeric[n_numeric - 1] = np.exp(numeric[n_numeric - 1], dtype=np.float32)
    numeric[n_numeric - 2] = rng.random(rows, dtype=np.float32) * np.float32(10.0)
    codes = [rng.integers(0, n_levels, size=rows, dtype=np.uint8) for _ in range(n_categorical)]
    # Per-level effect of the first categorical feature: fixed by the seed, so a model has something to learn.
    level_effect = rng.normal(0.0, 1.0, size=n_levels).astype(np.float32)

    x0, x1, x2, x3 = numeric[0], numeric[1], numeric[2], numeric[3]
    score = np.float32(1.5) * np.sin(np.float32(2.0) * x0)
    score += x1 * x2
    score += np.abs(x3) - np.float32(0.8)
    score += level_effect[codes[0]]
    if n_numeric >= 6:
        # Uniform column on [0, 10): a step at 6 that trees find and linear models miss.
        score += np.where(numeric[n_numeric - 2] > 6.0, np.float32(1.0), np.float32(-0.5))
    score += np.float32(p["noise"]) * rng.standard_normal(rows, dtype=np.float32)
    threshold = np.quantile(score, 1.0 - float(p["positive_rate"]))
    target = (score > threshold).astype(np.int8)
    del score

    levels = pl.Series(list(string.ascii_lowercase[:n_levels]), dtype=pl.Enum(string.ascii_lowercase[:n_levels]))
    columns: list[pl.Series] = [pl.Series("id", np.arange(1, rows + 1, dtype=np.int64))]
    columns += [pl.Series(f"num_{i}", values) for i, values in enumerate(numeric)]
    # Gather from the level list: polars cannot cast integer codes to an Enum, and strings per row are slow.
    columns += [levels.gather(values).alias(f"cat_{i}") for i, values in enumerate(codes)]
    columns.append(pl.Series("target", target))
    return pl.DataFrame(columns)


_GENERATORS: dict[str, Callable[[int, int, dict[str, Any]], pl.DataFrame]] = {
    "tabular_binary": _tabular_binary,
}
