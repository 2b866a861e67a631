"""Metric registry: name -> scoring function, direction, prediction kind and default parameters.

Self-contained on purpose (stdlib, numpy, scipy and scikit-learn only, no `from __future__`): render.py embeds
this source verbatim into every task's grader.py.

Every metric is `fn(y_true, y_pred, **params) -> float`. Bad shapes, values or parameters, and inputs for which
the score is undefined (NaN), raise ValueError; the message starts with the metric's name and counts rows from 0.

Input conventions, by `Metric.prediction`:
- label: one column of class labels, ints or strings, the same kind on both sides; accuracy and the F-scores
  also take (n, k) 0/1 indicator matrices (multilabel).
- probability: y_true 0/1, y_pred scores in [0, 1]; (n, k) for the column-wise and ranking metrics.
- class_probabilities: y_pred is (n, k) with its columns in the order of params["labels"]; y_true holds labels
  (kl_divergence also takes (n, k) target distributions). Predictions are clipped to [eps, 1 - eps] and each row
  is divided by its sum, as Kaggle does.
- number: finite floats; multi-target arrays are (n, k) in target column order and, as in scikit-learn, the
  score is the uniform average of the per-column scores.
- text: strings the metric parses; missing cells (None or NaN) count as empty strings (allows_nan=True).
An (n, 1) array is always read as one column. Class names in params (labels, weights keys) match labels by their
text, so 3, 3.0 and "3" name the same class.

Text formats:
- lists (map_at_k, ndcg_at_k, top_k_error, jaccard_sets): space-separated tokens, best first.
- boxes (mean_average_precision_boxes): truth "x y w h x y w h ...", prediction "conf x y w h conf x y w h ...",
  pixel coordinates of the top-left corner, width and height. A match needs IoU strictly above the threshold.
- masks (iou_map_rle, dice_rle): run-length encoding "start length start length ...", 1-indexed and column-major
  (down each column, then the next column to the right), as in the Data Science Bowl 2018 and Airbus; one image
  per row, its instance masks separated by "|"; every image is params height x width. Runs outside the image and
  instances sharing a pixel are errors (DSB 2018 rejected overlapping masks, and its TP count assumes none).
"""

import difflib
import functools
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class _LazyModule:
    """A module imported on first attribute use: importing scikit-learn costs ~80 MB of memory and SciPy's
    stats ~70 MB, which a grader whose metric does not use them (ROC AUC, RMSE, ...) need not pay."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        import importlib

        return getattr(importlib.import_module(self._name), attribute)


skm = _LazyModule("sklearn.metrics")
special = _LazyModule("scipy.special")
stats = _LazyModule("scipy.stats")

PREDICTION_KINDS = ("label", "probability", "class_probabilities", "number", "text")
# Kaggle clips probabilities to [1e-15, 1 - 1e-15] in its log-loss style metrics.
KAGGLE_EPS = 1e-15
BOX_IOU_THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75)
MASK_IOU_THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


@dataclass(frozen=True)
class Metric:
    """A registered metric.

    name: registry key, as written in a competition spec's `metric.name`.
    fn: `fn(y_true, y_pred, **params) -> float`. Raises ValueError, with a message starting with `name`, on a
        shape mismatch, a bad value, an unknown or missing parameter, or a score that is undefined (NaN).
    higher_is_better: direction of the score.
    prediction: kind of y_pred: "label" | "probability" | "class_probabilities" | "number" | "text".
    allows_nan: True when a missing prediction cell is valid input (read as an empty prediction).
    description: one line naming the formula and its source.
    defaults: values of the optional parameters; required ones (e.g. `labels`, `k`) are absent.
    """

    name: str
    fn: Callable[..., float]
    higher_is_better: bool
    prediction: str
    allows_nan: bool
    description: str
    defaults: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.prediction not in PREDICTION_KINDS:
            raise ValueError(f"metric {self.name!r}: prediction {self.prediction!r} is not one of {PREDICTION_KINDS}")


METRICS: dict[str, Metric] = {}


def get_metric(name: str) -> Metric:
    """The registered metric `name`; KeyError naming the closest registered names."""
    try:
        return METRICS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(METRICS), n=5, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"known metrics: {', '.join(sorted(METRICS))}"
        raise KeyError(f"unknown metric {name!r}; {hint}") from None


def score(name: str, y_true: Any, y_pred: Any, **params: Any) -> float:
    """Score y_pred against y_true with the metric `name`; params override its defaults."""
    return get_metric(name).fn(y_true, y_pred, **params)


def _register(
    name: str, *, higher_is_better: bool, prediction: str, allows_nan: bool = False
) -> Callable[[Callable[..., float]], Callable[..., float]]:
    """Decorator adding a metric function to METRICS, guarded by parameter and result checks."""

    def add(fn: Callable[..., float]) -> Callable[..., float]:
        doc = inspect.getdoc(fn)
        if not doc:
            raise ValueError(f"metric {name!r} needs a one-line docstring")
        METRICS[name] = Metric(
            name=name,
            fn=_guarded(name, fn),
            higher_is_better=higher_is_better,
            prediction=prediction,
            allows_nan=allows_nan,
            description=doc.splitlines()[0],
            defaults=_defaults(fn),
        )
        return fn

    return add


def _keyword_params(fn: Callable[..., float]) -> list[inspect.Parameter]:
    """The keyword-only parameters of a metric function: its params."""
    return [p for p in inspect.signature(fn).parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]


def _defaults(fn: Callable[..., float]) -> dict[str, Any]:
    """Default values of a metric function's optional params."""
    return {p.name: p.default for p in _keyword_params(fn) if p.default is not inspect.Parameter.empty}


def _guarded(name: str, fn: Callable[..., float]) -> Callable[..., float]:
    """fn with unknown/missing params, non-finite results and error messages made explicit and named."""
    accepted = [p.name for p in _keyword_params(fn)]
    required = [p.name for p in _keyword_params(fn) if p.default is inspect.Parameter.empty]

    @functools.wraps(fn)
    def call(y_true: Any, y_pred: Any, **params: Any) -> float:
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            raise ValueError(f"{name}: unknown parameter(s) {unknown}; accepted: {accepted or 'none'}")
        missing = [p for p in required if p not in params]
        if missing:
            raise ValueError(f"{name}: missing required parameter(s) {missing}")
        try:
            value = float(fn(y_true, y_pred, **params))
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from err
        if not math.isfinite(value):
            raise ValueError(f"{name}: the score is undefined for these inputs (got {value})")
        return value

    return call


# ---------------------------------------------------------------- input checks


def _array(y: Any, name: str) -> np.ndarray:
    """y as a non-empty 1-D or 2-D array; an (n, 1) array becomes 1-D."""
    a = np.asarray(y)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    return a


def _first_row(bad: np.ndarray) -> int:
    """Index of the first row with a True cell."""
    return int(np.flatnonzero(bad.reshape(len(bad), -1).any(axis=1))[0])


def _numbers(y: Any, name: str) -> np.ndarray:
    """y as finite floats, 1-D or 2-D."""
    a = _array(y, name)
    try:
        a = np.asarray(a, dtype=float)  # no copy of a float array: metrics never write to their inputs
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must hold numbers ({err})") from None
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"{name} row {_first_row(bad)} is missing, NaN or infinite")
    return a


def _columns(a: np.ndarray) -> np.ndarray:
    """a as (n, k): a 1-D array becomes one column."""
    return a.reshape(len(a), -1)


def _check_rows(n_true: int, n_pred: int) -> None:
    """Both sides must have the same number of rows."""
    if n_true != n_pred:
        raise ValueError(f"y_pred has {n_pred} rows but y_true has {n_true}")


def _same_shape(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    """Both sides must have the same shape."""
    _check_rows(len(y_true), len(y_pred))
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_pred has shape {y_pred.shape} but y_true has shape {y_true.shape}")


def _number_pair(y_true: Any, y_pred: Any, *, columns: bool) -> tuple[np.ndarray, np.ndarray]:
    """Finite float arrays of the same shape; `columns` allows (n, k) multi-target arrays."""
    t, p = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred")
    _same_shape(t, p)
    if not columns and t.ndim != 1:
        raise ValueError(f"expected one column, got shape {t.shape}")
    return t, p


def _is_missing(value: Any) -> bool:
    """None or a float NaN, as pandas reads an empty cell."""
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def _labels(y: Any, name: str, *, multilabel: bool) -> np.ndarray:
    """y as labels: a str array or a numeric array; 2-D only for multilabel indicators."""
    a = _array(y, name)
    if a.ndim == 2 and not multilabel:
        raise ValueError(f"{name} must be one column of labels, got shape {a.shape}")
    if a.dtype.kind == "O":
        cells = a.ravel()
        missing = np.array([_is_missing(v) for v in cells]).reshape(a.shape)
        if missing.any():
            raise ValueError(f"{name} row {_first_row(missing)} is missing")
        is_str = np.array([isinstance(v, str) for v in cells])
        if is_str.all():
            return a.astype(str)
        if is_str.any():
            raise ValueError(f"{name} mixes strings and numbers")
        return _numbers(a, name)
    if a.dtype.kind == "f":
        return _numbers(a, name)
    if a.dtype.kind not in "biuU":
        raise ValueError(f"{name} must hold ints or strings, got dtype {a.dtype}")
    return a


def _label_pair(y_true: Any, y_pred: Any, *, multilabel: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Label arrays of the same shape and the same kind (strings or numbers)."""
    t = _labels(y_true, "y_true", multilabel=multilabel)
    p = _labels(y_pred, "y_pred", multilabel=multilabel)
    _same_shape(t, p)
    if (t.dtype.kind == "U") != (p.dtype.kind == "U"):
        kinds = {True: "strings", False: "numbers"}
        raise ValueError(f"y_true holds {kinds[t.dtype.kind == 'U']} but y_pred holds {kinds[p.dtype.kind == 'U']}")
    return t, p


def _binary(y: Any, name: str) -> np.ndarray:
    """y as 0/1 ints, 1-D or 2-D."""
    a = _array(y, name)
    if a.dtype.kind not in "biu":  # integers need no float round trip (two copies on a big board)
        a = _numbers(a, name)
    bad = (a != 0) & (a != 1)
    if bad.any():
        raise ValueError(f"{name} row {_first_row(bad)} is not 0 or 1")
    return a.astype(int, copy=False)


def _unit_interval(y: Any, name: str) -> np.ndarray:
    """y as floats in [0, 1], 1-D or 2-D."""
    a = _numbers(y, name)
    bad = (a < 0) | (a > 1)
    if bad.any():
        raise ValueError(f"{name} row {_first_row(bad)} is outside [0, 1]")
    return a


def _text(value: Any) -> str:
    """A cell as text: missing -> "", integral floats (ints read back as float) -> "3", not "3.0"."""
    if _is_missing(value):
        return ""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _text_pair(y_true: Any, y_pred: Any) -> tuple[list[str], list[str]]:
    """Both sides as lists of strings, one per row."""
    t, p = _array(y_true, "y_true"), _array(y_pred, "y_pred")
    for a, name in ((t, "y_true"), (p, "y_pred")):
        if a.ndim != 1:
            raise ValueError(f"{name} must be one column of text, got shape {a.shape}")
    _check_rows(len(t), len(p))
    return [_text(v) for v in t], [_text(v) for v in p]


def _label_key(value: Any) -> str:
    """Canonical text of a label, so that 3, 3.0, np.int64(3) and "3" name the same class."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    return _text(value)


def _positive_int(value: Any, param: str) -> int:
    """An integer parameter >= 1."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"parameter {param} must be an integer >= 1, got {value!r}")
    return int(value)


def _positive_float(value: Any, param: str) -> float:
    """A finite float parameter > 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"parameter {param} must be a number > 0, got {value!r}")
    return float(value)


def _flag(value: Any, param: str) -> bool:
    """A boolean parameter."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"parameter {param} must be true or false, got {value!r}")
    return bool(value)


def _choice(value: Any, param: str, allowed: Sequence[Any]) -> Any:
    """A parameter restricted to a few values."""
    if value not in allowed:
        raise ValueError(f"parameter {param} must be one of {list(allowed)}, got {value!r}")
    return value


def _eps(value: Any) -> float:
    """The probability clipping bound, in (0, 0.5)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 0.5:
        raise ValueError(f"parameter eps must be in (0, 0.5), got {value!r}")
    return float(value)


def _thresholds(value: Any) -> np.ndarray:
    """IoU thresholds: a non-empty list of numbers in (0, 1)."""
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray) or len(value) == 0:
        raise ValueError(f"parameter iou_thresholds must be a non-empty list of numbers, got {value!r}")
    try:
        t = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"parameter iou_thresholds must be a list of numbers, got {value!r}") from None
    if t.ndim != 1 or not ((t > 0) & (t < 1)).all():
        raise ValueError(f"parameter iou_thresholds must be numbers in (0, 1), got {value!r}")
    return t


def _class_list(labels: Any) -> list[str]:
    """The canonical keys of params["labels"], the classes in y_pred's column order."""
    if isinstance(labels, str | bytes) or not isinstance(labels, Sequence | np.ndarray):
        raise ValueError(f"parameter labels must be a list of classes, got {labels!r}")
    keys = [_label_key(v) for v in labels]
    if len(keys) < 2:
        raise ValueError(f"parameter labels must name at least 2 classes, got {list(labels)!r}")
    if len(set(keys)) != len(keys):
        raise ValueError(f"parameter labels has duplicates: {list(labels)!r}")
    return keys


def _class_index(y_true: Any, classes: list[str]) -> np.ndarray:
    """Column index of each true label in y_pred."""
    t = _labels(y_true, "y_true", multilabel=False)
    column = {key: j for j, key in enumerate(classes)}
    index = np.empty(len(t), dtype=int)
    for row, value in enumerate(t):
        key = _label_key(value)
        if key not in column:
            raise ValueError(f"y_true row {row} is {key!r}, not one of labels {classes}")
        index[row] = column[key]
    return index


def _class_probabilities(y_pred: Any, n_classes: int, eps: float | None) -> np.ndarray:
    """y_pred (n, k) clipped to [eps, 1 - eps] (when eps is given) and divided by its row sums, as Kaggle does."""
    p = _numbers(y_pred, "y_pred")
    if p.ndim != 2 or p.shape[1] != n_classes:
        raise ValueError(f"y_pred must have {n_classes} columns, one per label, got shape {p.shape}")
    if eps is not None:
        p = np.clip(p, eps, 1 - eps)
    if (p < 0).any():
        raise ValueError(f"y_pred row {_first_row(p < 0)} has a negative probability")
    sums = p.sum(axis=1, keepdims=True)
    if (sums <= 0).any():
        raise ValueError(f"y_pred row {_first_row(sums <= 0)} sums to 0")
    return p / sums


def _class_weights(weights: Any, classes: list[str]) -> np.ndarray:
    """One weight per class from a {label: weight} mapping."""
    if not isinstance(weights, Mapping):
        raise ValueError(f"parameter weights must map each class to a weight, got {weights!r}")
    by_key = {_label_key(k): v for k, v in weights.items()}
    out = np.empty(len(classes))
    for j, key in enumerate(classes):
        if key not in by_key:
            raise ValueError(f"parameter weights has no entry for class {key!r}")
        value = by_key[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"parameter weights[{key!r}] must be a number >= 0, got {value!r}")
        out[j] = value
    return out


# ---------------------------------------------------------------- classification: labels


@_register("accuracy", higher_is_better=True, prediction="label")
def accuracy(y_true: Any, y_pred: Any) -> float:
    """Share of exact matches (sklearn accuracy_score; subset accuracy for (n, k) indicators)."""
    t, p = _label_pair(y_true, y_pred, multilabel=True)
    return skm.accuracy_score(t, p)


@_register("balanced_accuracy", higher_is_better=True, prediction="label")
def balanced_accuracy(y_true: Any, y_pred: Any, *, adjusted: bool = False) -> float:
    """Mean per-class recall (sklearn balanced_accuracy_score)."""
    t, p = _label_pair(y_true, y_pred)
    return skm.balanced_accuracy_score(t, p, adjusted=_flag(adjusted, "adjusted"))


@_register("weighted_accuracy", higher_is_better=True, prediction="label")
def weighted_accuracy(y_true: Any, y_pred: Any, *, weights: Mapping[Any, float]) -> float:
    """Accuracy with each row weighted by its true class: sum(w[y] * [y == p]) / sum(w[y])."""
    t, p = _label_pair(y_true, y_pred)
    classes = sorted({_label_key(v) for v in t})
    per_class = dict(zip(classes, _class_weights(weights, classes), strict=True))
    row_weights = np.array([per_class[_label_key(v)] for v in t])
    return skm.accuracy_score(t, p, sample_weight=row_weights)


@_register("top_k_error", higher_is_better=False, prediction="text", allows_nan=True)
def top_k_error(y_true: Any, y_pred: Any, *, k: int = 5) -> float:
    """Share of rows whose true label is not among the first k space-separated predictions (ImageNet top-k)."""
    k = _positive_int(k, "k")
    truth, guesses = _text_pair(y_true, y_pred)
    misses = [t.strip() not in g.split()[:k] for t, g in zip(truth, guesses, strict=True)]
    return float(np.mean(misses))


@_register("f1", higher_is_better=True, prediction="label")
def f1(y_true: Any, y_pred: Any, *, pos_label: Any = 1) -> float:
    """F1 of the positive class (sklearn f1_score, average="binary")."""
    t, p = _label_pair(y_true, y_pred)
    return skm.f1_score(t, p, pos_label=pos_label, average="binary", zero_division=0.0)


@_register("f1_macro", higher_is_better=True, prediction="label")
def f1_macro(y_true: Any, y_pred: Any) -> float:
    """Unweighted mean of per-class F1 (sklearn f1_score, average="macro")."""
    t, p = _label_pair(y_true, y_pred, multilabel=True)
    return skm.f1_score(t, p, average="macro", zero_division=0.0)


@_register("f1_micro", higher_is_better=True, prediction="label")
def f1_micro(y_true: Any, y_pred: Any) -> float:
    """F1 of the pooled per-class counts (sklearn f1_score, average="micro")."""
    t, p = _label_pair(y_true, y_pred, multilabel=True)
    return skm.f1_score(t, p, average="micro", zero_division=0.0)


@_register("f1_weighted", higher_is_better=True, prediction="label")
def f1_weighted(y_true: Any, y_pred: Any) -> float:
    """Support-weighted mean of per-class F1 (sklearn f1_score, average="weighted")."""
    t, p = _label_pair(y_true, y_pred, multilabel=True)
    return skm.f1_score(t, p, average="weighted", zero_division=0.0)


@_register("fbeta", higher_is_better=True, prediction="label")
def fbeta(y_true: Any, y_pred: Any, *, beta: float, average: str = "binary", pos_label: Any = 1) -> float:
    """F-beta score (sklearn fbeta_score); average="samples" on (n, k) indicators is Planet's mean F2."""
    average = _choice(average, "average", ("binary", "micro", "macro", "weighted", "samples"))
    t, p = _label_pair(y_true, y_pred, multilabel=True)
    beta = _positive_float(beta, "beta")
    return skm.fbeta_score(t, p, beta=beta, average=average, pos_label=pos_label, zero_division=0.0)


@_register("mcc", higher_is_better=True, prediction="label")
def mcc(y_true: Any, y_pred: Any) -> float:
    """Matthews correlation coefficient (sklearn matthews_corrcoef)."""
    t, p = _label_pair(y_true, y_pred)
    return skm.matthews_corrcoef(t, p)


@_register("cohen_kappa", higher_is_better=True, prediction="label")
def cohen_kappa(y_true: Any, y_pred: Any, *, weights: str | None = None) -> float:
    """Cohen's kappa, unweighted by default (sklearn cohen_kappa_score)."""
    weights = _choice(weights, "weights", (None, "linear", "quadratic"))
    t, p = _label_pair(y_true, y_pred)
    return skm.cohen_kappa_score(t, p, weights=weights)


@_register("qwk", higher_is_better=True, prediction="label")
def qwk(y_true: Any, y_pred: Any, *, min_rating: int | None = None, max_rating: int | None = None) -> float:
    """Quadratic weighted kappa over the integer ratings min..max (Kaggle ml_metrics; sklearn cohen_kappa_score)."""
    t, p = _label_pair(y_true, y_pred)
    if t.dtype.kind == "U" or not (np.all(t == np.round(t)) and np.all(p == np.round(p))):
        raise ValueError("ratings must be integers")
    # Kaggle's weights use the numeric distance between ratings, so ratings absent from both sides still count:
    # pass the full range to sklearn, which otherwise weighs by position among the labels present.
    lo = int(min(t.min(), p.min())) if min_rating is None else min_rating
    hi = int(max(t.max(), p.max())) if max_rating is None else max_rating
    for param, value in (("min_rating", lo), ("max_rating", hi)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"parameter {param} must be an integer, got {value!r}")
    if lo > hi:
        raise ValueError(f"min_rating {lo} is above max_rating {hi}")
    outside = (t < lo) | (t > hi) | (p < lo) | (p > hi)
    if outside.any():
        raise ValueError(f"row {_first_row(outside)} has a rating outside [{lo}, {hi}]")
    return skm.cohen_kappa_score(t, p, labels=np.arange(lo, hi + 1), weights="quadratic")


# ---------------------------------------------------------------- classification: scores and probabilities


def _roc_auc_binary(t: np.ndarray, p: np.ndarray, where: str) -> float:
    """ROC AUC as the Mann-Whitney U statistic, ties counting one half: equal to sklearn's roc_auc_score
    (its trapezoids over tied scores are the same half-counts). Each positive's score is looked up among
    the sorted negatives, so the work is two sorts of the halves and exact integer counts."""
    if t.min() == t.max():
        raise ValueError(f"{where} holds only one class; ROC AUC is undefined")
    is_positive = t == 1
    positives, negatives = p[is_positive], p[~is_positive]
    positives.sort()  # in place: boolean indexing already made copies
    negatives.sort()
    below = int(np.searchsorted(negatives, positives, side="left").sum(dtype=np.int64))
    not_above = int(np.searchsorted(negatives, positives, side="right").sum(dtype=np.int64))
    return (below + not_above) / (2 * len(positives) * len(negatives))


@_register("roc_auc", higher_is_better=True, prediction="probability")
def roc_auc(y_true: Any, y_pred: Any) -> float:
    """Area under the ROC curve (sklearn roc_auc_score)."""
    t, p = _binary(y_true, "y_true"), _numbers(y_pred, "y_pred")
    _same_shape(t, p)
    if t.ndim != 1:
        raise ValueError(f"expected one column, got shape {t.shape}; use mean_columnwise_roc_auc")
    return _roc_auc_binary(t, p, "y_true")


@_register("roc_auc_ovr", higher_is_better=True, prediction="class_probabilities")
def roc_auc_ovr(y_true: Any, y_pred: Any, *, labels: Sequence[Any], average: str = "macro") -> float:
    """One-vs-rest multiclass ROC AUC, macro or prevalence-weighted (sklearn roc_auc_score multi_class="ovr")."""
    average = _choice(average, "average", ("macro", "weighted"))
    classes = _class_list(labels)
    index = _class_index(y_true, classes)
    # sklearn requires rows summing to 1; Kaggle rescales rows, which changes the per-column ranking too.
    p = _class_probabilities(y_pred, len(classes), eps=None)
    _check_rows(len(index), len(p))
    aucs = [_roc_auc_binary((index == j).astype(int), p[:, j], f"y_true vs class {c!r}") for j, c in enumerate(classes)]
    prevalence = np.bincount(index, minlength=len(classes))
    return float(np.average(aucs, weights=prevalence if average == "weighted" else None))


@_register("mean_columnwise_roc_auc", higher_is_better=True, prediction="probability")
def mean_columnwise_roc_auc(y_true: Any, y_pred: Any) -> float:
    """Mean over target columns of ROC AUC (Jigsaw toxic comments; sklearn roc_auc_score per column)."""
    t, p = _columns(_binary(y_true, "y_true")), _columns(_numbers(y_pred, "y_pred"))
    _same_shape(t, p)
    return float(np.mean([_roc_auc_binary(t[:, j], p[:, j], f"y_true column {j}") for j in range(t.shape[1])]))


def _gini(actual: np.ndarray, pred: np.ndarray) -> float:
    """Porto Seguro's Gini: actuals sorted by descending prediction (ties by row order), cumulated."""
    order = np.lexsort((np.arange(len(actual)), -pred))
    ranked = actual[order]
    total = ranked.sum()
    if total == 0:
        raise ValueError("y_true sums to 0; the Gini coefficient is undefined")
    return float((ranked.cumsum().sum() / total - (len(actual) + 1) / 2) / len(actual))


@_register("gini_normalized", higher_is_better=True, prediction="number")
def gini_normalized(y_true: Any, y_pred: Any) -> float:
    """Normalized Gini gini(actual, pred) / gini(actual, actual) (Porto Seguro; 2 * AUC - 1 for 0/1 actuals)."""
    t, p = _number_pair(y_true, y_pred, columns=False)
    best = _gini(t, t)
    if best == 0:
        raise ValueError("y_true is constant; the normalized Gini is undefined")
    return _gini(t, p) / best


@_register("log_loss", higher_is_better=False, prediction="probability")
def log_loss(y_true: Any, y_pred: Any, *, eps: float = KAGGLE_EPS) -> float:
    """Binary cross-entropy with p clipped to [eps, 1 - eps] (Kaggle; sklearn log_loss)."""
    eps = _eps(eps)
    t, p = _binary(y_true, "y_true"), _unit_interval(y_pred, "y_pred")
    _same_shape(t, p)
    if t.ndim != 1:
        raise ValueError(f"expected one column, got shape {t.shape}; use mean_columnwise_log_loss")
    return skm.log_loss(t, np.clip(p, eps, 1 - eps), labels=[0, 1])


@_register("multiclass_log_loss", higher_is_better=False, prediction="class_probabilities")
def multiclass_log_loss(y_true: Any, y_pred: Any, *, labels: Sequence[Any], eps: float = KAGGLE_EPS) -> float:
    """Mean -log p(true class), rows clipped to [eps, 1 - eps] and rescaled to sum 1 (Kaggle; sklearn log_loss)."""
    classes = _class_list(labels)
    index = _class_index(y_true, classes)
    p = _class_probabilities(y_pred, len(classes), _eps(eps))
    _check_rows(len(index), len(p))
    return skm.log_loss(index, p, labels=np.arange(len(classes)))


@_register("weighted_multiclass_log_loss", higher_is_better=False, prediction="class_probabilities")
def weighted_multiclass_log_loss(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Sequence[Any],
    weights: Mapping[Any, float] | None = None,
    eps: float = KAGGLE_EPS,
) -> float:
    """-sum_c w_c mean_{i in c} log p_ic / sum_c w_c over classes present in y_true (PLAsTiCC; ICR balanced)."""
    classes = _class_list(labels)
    index = _class_index(y_true, classes)
    p = _class_probabilities(y_pred, len(classes), _eps(eps))
    _check_rows(len(index), len(p))
    w = np.ones(len(classes)) if weights is None else _class_weights(weights, classes)
    log_p = np.log(p[np.arange(len(index)), index])
    # A class absent from y_true has no mean log-probability; Kaggle's formula divides by its count, so skip it.
    present = [j for j in range(len(classes)) if (index == j).any()]
    per_class = np.array([log_p[index == j].mean() for j in present])
    return float(-np.sum(w[present] * per_class) / np.sum(w[present]))


@_register("mean_columnwise_log_loss", higher_is_better=False, prediction="probability")
def mean_columnwise_log_loss(y_true: Any, y_pred: Any, *, eps: float = KAGGLE_EPS) -> float:
    """Mean over target columns of binary log loss, p clipped to [eps, 1 - eps] (MoA; sklearn log_loss)."""
    eps = _eps(eps)
    t, p = _columns(_binary(y_true, "y_true")), _columns(_unit_interval(y_pred, "y_pred"))
    _same_shape(t, p)
    p = np.clip(p, eps, 1 - eps)
    return float(np.mean([skm.log_loss(t[:, j], p[:, j], labels=[0, 1]) for j in range(t.shape[1])]))


@_register("kl_divergence", higher_is_better=False, prediction="class_probabilities")
def kl_divergence(y_true: Any, y_pred: Any, *, labels: Sequence[Any], eps: float = KAGGLE_EPS) -> float:
    """Mean over rows of sum_c t_c log(t_c / p_c), 0 log 0 = 0 (HMS); y_true labels (one-hot) or (n, k) rows."""
    classes = _class_list(labels)
    p = _class_probabilities(y_pred, len(classes), _eps(eps))
    if np.asarray(y_true).ndim == 2 and np.asarray(y_true).shape[1] > 1:
        t = _numbers(y_true, "y_true")
        if t.shape[1] != len(classes):
            raise ValueError(f"y_true must have {len(classes)} columns, one per label, got shape {t.shape}")
        if (t < 0).any():
            raise ValueError(f"y_true row {_first_row(t < 0)} has a negative probability")
        sums = t.sum(axis=1, keepdims=True)
        if (sums <= 0).any():
            raise ValueError(f"y_true row {_first_row(sums <= 0)} sums to 0")
        # Vote counts become distributions; rows that already sum to 1 are unchanged.
        t = t / sums
    else:
        t = np.eye(len(classes))[_class_index(y_true, classes)]
    _check_rows(len(t), len(p))
    return float(np.mean(special.rel_entr(t, p).sum(axis=1)))


@_register("label_ranking_average_precision", higher_is_better=True, prediction="probability")
def label_ranking_average_precision(y_true: Any, y_pred: Any) -> float:
    """Label ranking average precision over (n, k) 0/1 targets and scores (sklearn LRAP)."""
    t, p = _columns(_binary(y_true, "y_true")), _columns(_numbers(y_pred, "y_pred"))
    _same_shape(t, p)
    return skm.label_ranking_average_precision_score(t, p)


# ---------------------------------------------------------------- regression


@_register("rmse", higher_is_better=False, prediction="number")
def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error (sklearn root_mean_squared_error)."""
    return skm.root_mean_squared_error(*_number_pair(y_true, y_pred, columns=True))


@_register("mse", higher_is_better=False, prediction="number")
def mse(y_true: Any, y_pred: Any) -> float:
    """Mean squared error (sklearn mean_squared_error)."""
    return skm.mean_squared_error(*_number_pair(y_true, y_pred, columns=True))


@_register("mae", higher_is_better=False, prediction="number")
def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error (sklearn mean_absolute_error)."""
    return skm.mean_absolute_error(*_number_pair(y_true, y_pred, columns=True))


@_register("median_absolute_error", higher_is_better=False, prediction="number")
def median_absolute_error(y_true: Any, y_pred: Any) -> float:
    """Median absolute error (sklearn median_absolute_error)."""
    return skm.median_absolute_error(*_number_pair(y_true, y_pred, columns=True))


@_register("weighted_mae", higher_is_better=False, prediction="number")
def weighted_mae(y_true: Any, y_pred: Any, *, weights: Sequence[float]) -> float:
    """sum_j w_j MAE_j / sum_j w_j over target columns (sklearn mean_absolute_error, multioutput=weights)."""
    t, p = (_columns(a) for a in _number_pair(y_true, y_pred, columns=True))
    if isinstance(weights, str) or not isinstance(weights, Sequence | np.ndarray) or len(weights) != t.shape[1]:
        raise ValueError(f"parameter weights must list one weight per target column ({t.shape[1]}), got {weights!r}")
    w = np.asarray(weights, dtype=float)
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() == 0:
        raise ValueError(f"parameter weights must be numbers >= 0 with a positive sum, got {weights!r}")
    return skm.mean_absolute_error(t, p, multioutput=w)


@_register("rmsle", higher_is_better=False, prediction="number")
def rmsle(y_true: Any, y_pred: Any) -> float:
    """Root mean squared log(1 + y) error (sklearn root_mean_squared_log_error)."""
    return skm.root_mean_squared_log_error(*_number_pair(y_true, y_pred, columns=True))


@_register("msle", higher_is_better=False, prediction="number")
def msle(y_true: Any, y_pred: Any) -> float:
    """Mean squared log(1 + y) error (sklearn mean_squared_log_error)."""
    return skm.mean_squared_log_error(*_number_pair(y_true, y_pred, columns=True))


@_register("mcrmse", higher_is_better=False, prediction="number")
def mcrmse(y_true: Any, y_pred: Any) -> float:
    """Mean over target columns of RMSE (Feedback Prize ELL; sklearn root_mean_squared_error per column)."""
    t, p = (_columns(a) for a in _number_pair(y_true, y_pred, columns=True))
    return skm.root_mean_squared_error(t, p, multioutput="uniform_average")


@_register("mcrmsle", higher_is_better=False, prediction="number")
def mcrmsle(y_true: Any, y_pred: Any) -> float:
    """Mean over target columns of RMSLE (sklearn root_mean_squared_log_error per column)."""
    t, p = (_columns(a) for a in _number_pair(y_true, y_pred, columns=True))
    return skm.root_mean_squared_log_error(t, p, multioutput="uniform_average")


@_register("mcmae", higher_is_better=False, prediction="number")
def mcmae(y_true: Any, y_pred: Any) -> float:
    """Mean over target columns of MAE (sklearn mean_absolute_error per column)."""
    t, p = (_columns(a) for a in _number_pair(y_true, y_pred, columns=True))
    return skm.mean_absolute_error(t, p, multioutput="uniform_average")


@_register("mape", higher_is_better=False, prediction="number")
def mape(y_true: Any, y_pred: Any) -> float:
    """Mean |y - p| / |y| as a fraction, zero actuals divided by machine eps (sklearn MAPE)."""
    return skm.mean_absolute_percentage_error(*_number_pair(y_true, y_pred, columns=True))


@_register("smape", higher_is_better=False, prediction="number")
def smape(y_true: Any, y_pred: Any) -> float:
    """100 * mean 2|p - y| / (|y| + |p|) over all cells, 0/0 = 0 (Kaggle web traffic forecasting)."""
    t, p = _number_pair(y_true, y_pred, columns=True)
    denominator = np.abs(t) + np.abs(p)
    ratio = np.divide(2 * np.abs(p - t), denominator, out=np.zeros_like(t), where=denominator > 0)
    return float(100 * ratio.mean())


@_register("rmspe", higher_is_better=False, prediction="number")
def rmspe(y_true: Any, y_pred: Any) -> float:
    """sqrt(mean(((y - p) / y)^2)) over cells with y != 0 (Rossmann store sales)."""
    t, p = _number_pair(y_true, y_pred, columns=True)
    nonzero = t != 0
    if not nonzero.any():
        raise ValueError("every y_true value is 0; RMSPE ignores zero actuals, so nothing is left to score")
    return float(np.sqrt(np.mean(((t[nonzero] - p[nonzero]) / t[nonzero]) ** 2)))


@_register("r2", higher_is_better=True, prediction="number")
def r2(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination (sklearn r2_score)."""
    return skm.r2_score(*_number_pair(y_true, y_pred, columns=True))


def _correlation(t: np.ndarray, p: np.ndarray, statistic: Callable[..., Any], where: str) -> float:
    """A scipy correlation; a constant prediction carries no information and scores 0 (scipy gives NaN)."""
    if np.ptp(t) == 0:
        raise ValueError(f"{where} is constant; the correlation is undefined")
    if np.ptp(p) == 0:
        return 0.0
    return float(statistic(t, p).statistic)


@_register("pearson", higher_is_better=True, prediction="number")
def pearson(y_true: Any, y_pred: Any) -> float:
    """Pearson correlation (scipy pearsonr); a constant prediction scores 0."""
    return _correlation(*_number_pair(y_true, y_pred, columns=False), stats.pearsonr, "y_true")


@_register("spearman", higher_is_better=True, prediction="number")
def spearman(y_true: Any, y_pred: Any) -> float:
    """Spearman rank correlation, ties averaged (scipy spearmanr); a constant prediction scores 0."""
    return _correlation(*_number_pair(y_true, y_pred, columns=False), stats.spearmanr, "y_true")


@_register("mean_columnwise_spearman", higher_is_better=True, prediction="number")
def mean_columnwise_spearman(y_true: Any, y_pred: Any) -> float:
    """Mean over target columns of Spearman correlation (Google QUEST); a constant column prediction scores 0."""
    t, p = (_columns(a) for a in _number_pair(y_true, y_pred, columns=True))
    return float(
        np.mean([_correlation(t[:, j], p[:, j], stats.spearmanr, f"y_true column {j}") for j in range(t.shape[1])])
    )


@_register("kendall_tau", higher_is_better=True, prediction="number")
def kendall_tau(y_true: Any, y_pred: Any) -> float:
    """Kendall's tau-b (scipy kendalltau); a constant prediction scores 0."""
    return _correlation(*_number_pair(y_true, y_pred, columns=False), stats.kendalltau, "y_true")


# ---------------------------------------------------------------- ranking and text


def _average_precision_at_k(actual: list[str], predicted: list[str], k: int) -> float:
    """apk from Kaggle's ml_metrics: precision at each new hit in the first k, over min(len(actual), k)."""
    if not actual:
        return 0.0
    relevant, seen = set(actual), set()
    hits, total = 0, 0.0
    for rank, item in enumerate(predicted[:k], start=1):
        if item in relevant and item not in seen:
            hits += 1
            total += hits / rank
        seen.add(item)
    return total / min(len(actual), k)


@_register("map_at_k", higher_is_better=True, prediction="text", allows_nan=True)
def map_at_k(y_true: Any, y_pred: Any, *, k: int) -> float:
    """Mean average precision at k of space-separated predictions vs space-separated truth (ml_metrics mapk)."""
    k = _positive_int(k, "k")
    truth, guesses = _text_pair(y_true, y_pred)
    return float(
        np.mean([_average_precision_at_k(t.split(), g.split(), k) for t, g in zip(truth, guesses, strict=True)])
    )


def _ndcg_at_k(actual: list[str], predicted: list[str], k: int) -> float:
    """Binary-relevance NDCG@k: sum 1/log2(rank + 1) over new hits, over the ideal; 0 when nothing is relevant."""
    relevant, seen = set(actual), set()
    gain = 0.0
    for rank, item in enumerate(predicted[:k], start=1):
        if item in relevant and item not in seen:
            gain += 1 / math.log2(rank + 1)
        seen.add(item)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return gain / ideal if ideal else 0.0


@_register("ndcg_at_k", higher_is_better=True, prediction="text", allows_nan=True)
def ndcg_at_k(y_true: Any, y_pred: Any, *, k: int) -> float:
    """Mean NDCG@k of space-separated predictions vs space-separated relevant items (Airbnb new users)."""
    k = _positive_int(k, "k")
    truth, guesses = _text_pair(y_true, y_pred)
    return float(np.mean([_ndcg_at_k(t.split(), g.split(), k) for t, g in zip(truth, guesses, strict=True)]))


def _jaccard(a: set[str], b: set[str]) -> float:
    """|a & b| / |a | b|, two empty sets scoring 1."""
    union = len(a | b)
    return len(a & b) / union if union else 1.0


@_register("jaccard_words", higher_is_better=True, prediction="text", allows_nan=True)
def jaccard_words(y_true: Any, y_pred: Any) -> float:
    """Mean Jaccard of lower-cased word sets (Tweet Sentiment Extraction); two empty texts score 1."""
    truth, guesses = _text_pair(y_true, y_pred)
    pairs = zip(truth, guesses, strict=True)
    return float(np.mean([_jaccard(set(t.lower().split()), set(g.lower().split())) for t, g in pairs]))


@_register("jaccard_sets", higher_is_better=True, prediction="text", allows_nan=True)
def jaccard_sets(y_true: Any, y_pred: Any) -> float:
    """Mean Jaccard of space-separated token sets, case-sensitive; two empty sets score 1."""
    truth, guesses = _text_pair(y_true, y_pred)
    return float(np.mean([_jaccard(set(t.split()), set(g.split())) for t, g in zip(truth, guesses, strict=True)]))


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: fewest single-character insertions, deletions and substitutions."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


@_register("levenshtein_mean", higher_is_better=False, prediction="text", allows_nan=True)
def levenshtein_mean(y_true: Any, y_pred: Any, *, normalize: bool = False) -> float:
    """Mean Levenshtein distance; normalize=True divides each by max(len(y), len(p)) (0 for two empty strings)."""
    normalize = _flag(normalize, "normalize")
    truth, guesses = _text_pair(y_true, y_pred)
    distances = []
    for t, g in zip(truth, guesses, strict=True):
        d = _edit_distance(t, g)
        distances.append(d / max(len(t), len(g), 1) if normalize else d)
    return float(np.mean(distances))


# ---------------------------------------------------------------- detection and segmentation


def _matched_precision(iou: np.ndarray, thresholds: np.ndarray) -> float:
    """Mean over thresholds of TP / (TP + FP + FN); predictions (columns, in order) greedily take the free truth
    with the highest IoU above the threshold. No truth and no prediction scores 1."""
    n_true, n_pred = iou.shape
    if n_true == 0 and n_pred == 0:
        return 1.0
    precisions = []
    for threshold in thresholds:
        free = np.ones(n_true, dtype=bool)
        hits = 0
        for j in range(n_pred if n_true else 0):
            candidates = np.where(free, iou[:, j], 0.0)
            best = int(np.argmax(candidates))
            if candidates[best] > threshold:
                free[best] = False
                hits += 1
        precisions.append(hits / (n_true + n_pred - hits))
    return float(np.mean(precisions))


def _boxes(text: str, width: int, where: str) -> np.ndarray:
    """Space-separated numbers as (m, width) rows, the last four x y w h with w, h >= 0."""
    tokens = text.split()
    if len(tokens) % width:
        raise ValueError(f"{where}: expected groups of {width} numbers, got {len(tokens)} tokens")
    try:
        values = np.array(tokens, dtype=float).reshape(-1, width)
    except ValueError:
        raise ValueError(f"{where}: not a list of numbers: {text[:60]!r}") from None
    if not np.isfinite(values).all() or (values[:, -2:] < 0).any():
        raise ValueError(f"{where}: boxes need finite numbers and width, height >= 0: {text[:60]!r}")
    return values


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of x y w h boxes a (m, 4) and b (p, 4)."""
    overlap_w = np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2]) - np.maximum(
        a[:, None, 0], b[None, :, 0]
    )
    overlap_h = np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3]) - np.maximum(
        a[:, None, 1], b[None, :, 1]
    )
    intersection = np.clip(overlap_w, 0, None) * np.clip(overlap_h, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)


@_register("mean_average_precision_boxes", higher_is_better=True, prediction="text", allows_nan=True)
def mean_average_precision_boxes(
    y_true: Any, y_pred: Any, *, iou_thresholds: Sequence[float] = BOX_IOU_THRESHOLDS
) -> float:
    """Mean over images of TP/(TP+FP+FN) averaged over IoU thresholds; "conf x y w h ..." vs "x y w h ..." (Wheat)."""
    thresholds = _thresholds(iou_thresholds)
    truth, guesses = _text_pair(y_true, y_pred)
    scores = []
    for row, (t, g) in enumerate(zip(truth, guesses, strict=True)):
        true_boxes = _boxes(t, 4, f"y_true row {row}")
        predicted = _boxes(g, 5, f"y_pred row {row}")
        # Boxes are matched in order of confidence, highest first; ties keep the submitted order.
        predicted = predicted[np.argsort(-predicted[:, 0], kind="stable"), 1:]
        scores.append(_matched_precision(_box_iou(true_boxes, predicted), thresholds))
    return float(np.mean(scores))


def _rle_instances(text: str, size: int, where: str) -> tuple[np.ndarray, int]:
    """Decode "|"-separated RLE masks ("start length ...", 1-indexed, column-major) into a flat label image."""
    image = np.zeros(size, dtype=np.int64)
    masks = [m for m in text.split("|") if m.strip()]
    for number, mask in enumerate(masks, start=1):
        tokens = mask.split()
        if len(tokens) % 2:
            raise ValueError(f"{where}: RLE mask {number} needs start/length pairs, got {len(tokens)} numbers")
        try:
            runs = np.array(tokens, dtype=np.int64).reshape(-1, 2)
        except ValueError:
            raise ValueError(f"{where}: RLE mask {number} is not a list of integers: {mask[:60]!r}") from None
        for start, length in runs:
            if start < 1 or length < 1 or start + length - 1 > size:
                raise ValueError(f"{where}: RLE run {start} {length} is outside the {size} pixels of the image")
            segment = image[start - 1 : start - 1 + length]
            if segment.any():
                raise ValueError(f"{where}: masks overlap at pixel {start + int(np.flatnonzero(segment)[0])}")
            segment[:] = number
    return image, len(masks)


def _image_size(height: Any, width: Any) -> int:
    """Number of pixels of a height x width image."""
    return _positive_int(height, "height") * _positive_int(width, "width")


@_register("iou_map_rle", higher_is_better=True, prediction="text", allows_nan=True)
def iou_map_rle(
    y_true: Any, y_pred: Any, *, height: int, width: int, iou_thresholds: Sequence[float] = MASK_IOU_THRESHOLDS
) -> float:
    """Mean over images of TP/(TP+FP+FN) averaged over IoU thresholds, "|"-separated RLE instance masks (DSB 2018)."""
    size, thresholds = _image_size(height, width), _thresholds(iou_thresholds)
    truth, guesses = _text_pair(y_true, y_pred)
    scores = []
    for row, (t, g) in enumerate(zip(truth, guesses, strict=True)):
        true_image, n_true = _rle_instances(t, size, f"y_true row {row}")
        pred_image, n_pred = _rle_instances(g, size, f"y_pred row {row}")
        # Pixel counts of every (true instance, predicted instance) pair; label 0 is background.
        counts = np.bincount(true_image * (n_pred + 1) + pred_image, minlength=(n_true + 1) * (n_pred + 1))
        counts = counts.reshape(n_true + 1, n_pred + 1)
        intersection = counts[1:, 1:].astype(float)
        union = counts[1:, :].sum(axis=1)[:, None] + counts[:, 1:].sum(axis=0)[None, :] - intersection
        scores.append(_matched_precision(intersection / union, thresholds))
    return float(np.mean(scores))


@_register("dice_rle", higher_is_better=True, prediction="text", allows_nan=True)
def dice_rle(y_true: Any, y_pred: Any, *, height: int, width: int) -> float:
    """Mean over images of 2|A & B| / (|A| + |B|) of RLE masks ("|" joins instances), two empty masks score 1."""
    size = _image_size(height, width)
    truth, guesses = _text_pair(y_true, y_pred)
    scores = []
    for row, (t, g) in enumerate(zip(truth, guesses, strict=True)):
        a = _rle_instances(t, size, f"y_true row {row}")[0] > 0
        b = _rle_instances(g, size, f"y_pred row {row}")[0] > 0
        total = int(a.sum() + b.sum())
        scores.append(2 * int((a & b).sum()) / total if total else 1.0)
    return float(np.mean(scores))


# ---------------------------------------------------------------- geometry and uncertainty


@_register("mean_angular_error", higher_is_better=False, prediction="number")
def mean_angular_error(y_true: Any, y_pred: Any, *, degrees: bool = False) -> float:
    """Mean angle between directions: (n, 2) azimuth, zenith on the sphere (IceCube) or 1-D angles on the circle."""
    degrees = _flag(degrees, "degrees")
    t, p = _number_pair(y_true, y_pred, columns=True)
    if degrees:
        t, p = np.radians(t), np.radians(p)
    if t.ndim == 1:
        difference = np.abs(t - p) % (2 * np.pi)
        angle = np.minimum(difference, 2 * np.pi - difference)
    elif t.shape[1] == 2:
        (azimuth_t, zenith_t), (azimuth_p, zenith_p) = t.T, p.T
        cosine = np.sin(zenith_t) * np.sin(zenith_p) * np.cos(azimuth_t - azimuth_p) + np.cos(zenith_t) * np.cos(
            zenith_p
        )
        angle = np.arccos(np.clip(cosine, -1, 1))
    else:
        raise ValueError(f"expected angles (n,) or azimuth, zenith (n, 2), got shape {t.shape}")
    return float(np.degrees(angle.mean()) if degrees else angle.mean())


@_register("haversine_mean", higher_is_better=False, prediction="number")
def haversine_mean(y_true: Any, y_pred: Any, *, radius_km: float = 6371.0) -> float:
    """Mean great-circle distance in km between (n, 2) latitude, longitude pairs in degrees (haversine)."""
    radius_km = _positive_float(radius_km, "radius_km")
    t, p = _number_pair(y_true, y_pred, columns=True)
    if t.ndim != 2 or t.shape[1] != 2:
        raise ValueError(f"expected (n, 2) latitude, longitude, got shape {t.shape}")
    for a, name in ((t, "y_true"), (p, "y_pred")):
        bad = np.abs(a[:, 0]) > 90
        if bad.any():
            raise ValueError(f"{name} row {_first_row(bad)} has a latitude outside [-90, 90]")
    lat_t, lon_t, lat_p, lon_p = np.radians(t[:, 0]), np.radians(t[:, 1]), np.radians(p[:, 0]), np.radians(p[:, 1])
    h = np.sin((lat_p - lat_t) / 2) ** 2 + np.cos(lat_t) * np.cos(lat_p) * np.sin((lon_p - lon_t) / 2) ** 2
    return float(np.mean(2 * radius_km * np.arcsin(np.sqrt(np.clip(h, 0, 1)))))


@_register("laplace_log_likelihood", higher_is_better=True, prediction="number")
def laplace_log_likelihood(y_true: Any, y_pred: Any, *, sigma_min: float = 70.0, delta_max: float = 1000.0) -> float:
    """Mean of -sqrt(2) min(|y - p|, 1000) / max(s, 70) - ln(sqrt(2) max(s, 70)), y_pred (n, 2) = p, s (OSIC)."""
    sigma_min, delta_max = _positive_float(sigma_min, "sigma_min"), _positive_float(delta_max, "delta_max")
    t, p = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred")
    if t.ndim != 1:
        raise ValueError(f"y_true must be one column, got shape {t.shape}")
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"y_pred must be (n, 2): prediction, confidence; got shape {p.shape}")
    _check_rows(len(t), len(p))
    sigma = np.maximum(p[:, 1], sigma_min)
    delta = np.minimum(np.abs(t - p[:, 0]), delta_max)
    return float(np.mean(-np.sqrt(2) * delta / sigma - np.log(np.sqrt(2) * sigma)))
