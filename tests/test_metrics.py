"""Parity, direction and error tests for every metric in graders.metrics.

Each registered metric needs an entry in CASES (a reference, scikit-learn where it has the metric and otherwise
the published formula written out here with plain loops, and a seeded generator of y_true, a perfect y_pred and a
noisy one) and in EXAMPLES (small cases worked out by hand). A metric registered without them fails the tests.
"""

import ast
import inspect
import itertools
import json
import math
import sys
import types
from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from graders import metrics
from graders.metrics import METRICS, Metric, get_metric, score

SEED = 20240611
CONTRACT_NAMES = [
    "accuracy",
    "balanced_accuracy",
    "weighted_accuracy",
    "top_k_error",
    "roc_auc",
    "roc_auc_ovr",
    "mean_columnwise_roc_auc",
    "gini_normalized",
    "log_loss",
    "multiclass_log_loss",
    "weighted_multiclass_log_loss",
    "mean_columnwise_log_loss",
    "kl_divergence",
    "f1",
    "f1_macro",
    "f1_micro",
    "f1_weighted",
    "fbeta",
    "mcc",
    "cohen_kappa",
    "qwk",
    "rmse",
    "mse",
    "mae",
    "median_absolute_error",
    "weighted_mae",
    "rmsle",
    "msle",
    "mcrmse",
    "mcrmsle",
    "mcmae",
    "mape",
    "smape",
    "rmspe",
    "r2",
    "pearson",
    "spearman",
    "mean_columnwise_spearman",
    "kendall_tau",
    "map_at_k",
    "ndcg_at_k",
    "label_ranking_average_precision",
    "jaccard_words",
    "jaccard_sets",
    "levenshtein_mean",
    "mean_average_precision_boxes",
    "iou_map_rle",
    "dice_rle",
    "mean_angular_error",
    "haversine_mean",
    "laplace_log_likelihood",
]
E = math.e


@dataclass(frozen=True)
class Case:
    """One way to call a metric on seeded data: its params and an independent reference implementation."""

    reference: Callable[..., float]
    make: Callable[[np.random.Generator], tuple[Any, Any, Any]]  # y_true, perfect y_pred, noisy y_pred
    params: dict[str, Any] = field(default_factory=dict)
    tolerance: float = 1e-12  # absolute; relative tolerance is 1e-9


# ---------------------------------------------------------------- seeded data


def flip(y: np.ndarray, choices: Any, rng: np.random.Generator, share: float = 0.3) -> np.ndarray:
    """y with about `share` of its entries replaced by random choices."""
    return np.where(rng.random(y.shape) < share, rng.choice(choices, size=y.shape), y)


def binary_labels(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = rng.integers(0, 2, 80)
    y[:2] = [0, 1]
    return y, y.copy(), flip(y, [0, 1], rng)


def binary_strings(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = rng.choice(["no", "yes"], 80)
    y[:2] = ["no", "yes"]
    return y, y.copy(), flip(y, ["no", "yes"], rng)


CLASSES = np.array(["cat", "dog", "fox"])
COLUMN_ORDER = ["fox", "cat", "dog"]  # deliberately not sorted: y_pred columns follow params["labels"]


def string_labels(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = rng.choice(CLASSES, 90)
    y[:3] = CLASSES
    return y, y.copy(), flip(y, CLASSES, rng, 0.4)


def multilabel(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = rng.integers(0, 2, (60, 4))
    y[0], y[1] = 0, 1
    return y, y.copy(), flip(y, [0, 1], rng)


def ratings(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = rng.integers(1, 6, 90)
    noisy = np.clip(y + rng.integers(-2, 3, 90), 0, 7)
    # Noisy ratings reach 0 and 7, which y_true never holds, and skip 6: Kaggle's QWK weighs by numeric distance,
    # which differs from sklearn's default of weighing by position among the ratings present.
    return y, y.copy(), np.where(noisy == 6, 7, noisy)


def binary_probabilities(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = rng.integers(0, 2, 80)
    y[:2] = [0, 1]
    return y, y.astype(float), np.clip(0.3 * y + 0.7 * rng.random(80), 0.01, 0.99)


def columnwise_probabilities(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = rng.integers(0, 2, (70, 3))
    y[0], y[1] = 0, 1
    return y, y.astype(float), np.clip(0.3 * y + 0.7 * rng.random(y.shape), 0.01, 0.99)


def one_hot(y: np.ndarray, order: list[str]) -> np.ndarray:
    return np.array([[1.0 if value == c else 0.0 for c in order] for value in y])


def class_probabilities(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = rng.choice(CLASSES, 90)
    y[:3] = CLASSES
    noisy = 0.6 * rng.dirichlet(np.ones(3), 90) + 0.4 * one_hot(y, COLUMN_ORDER)
    # Rows that do not sum to 1: Kaggle rescales them, so must the metric and the reference.
    return y, one_hot(y, COLUMN_ORDER), noisy * rng.uniform(0.5, 2.0, (90, 1))


def target_distributions(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    votes = rng.integers(0, 4, (50, 3)).astype(float)
    votes[:, 0] += 1  # every row needs at least one vote
    votes[:5, 1] = 0  # zero targets: 0 log 0 = 0
    y = votes / votes.sum(axis=1, keepdims=True)
    return y, y.copy(), 0.5 * y + 0.5 * rng.dirichlet(np.ones(3), 50)


def numbers(rng: np.random.Generator, shape: tuple[int, ...] = (60,)) -> tuple[Any, Any, Any]:
    y = rng.normal(5, 2, shape)
    return y, y.copy(), y + rng.normal(0, 1, shape)


def positive_numbers(rng: np.random.Generator, shape: tuple[int, ...] = (60,)) -> tuple[Any, Any, Any]:
    y = rng.gamma(2, 2, shape)
    return y, y.copy(), np.abs(y + rng.normal(0, 1, shape))


def numbers_with_zeros(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y, perfect, noisy = numbers(rng)
    y[:5] = perfect[:5] = 0.0
    noisy[:2] = 0.0  # 0/0 cells for SMAPE
    return y, perfect, noisy


def tied_numbers(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = rng.integers(0, 5, 60).astype(float)
    return y, y.copy(), np.round(y + rng.normal(0, 1.5, 60))


def columns_of_numbers(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    return numbers(rng, (60, 3))


def columns_of_positive_numbers(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    return positive_numbers(rng, (60, 3))


def gini_data(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = rng.integers(0, 2, 80).astype(float)
    y[:2] = [0, 1]
    # Tied predictions exercise Kaggle's tie rule (row order).
    return y, y.copy(), np.round(0.4 * y + 0.6 * rng.random(80), 1)


def ranking_scores(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = rng.integers(0, 2, (50, 5))
    y[:, 0] = 1  # LRAP needs a relevant label in each row
    return y, y + 0.1 * rng.random(y.shape), rng.random(y.shape)


VOCAB = [f"w{i}" for i in range(12)]


def top_k_lists(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = rng.choice(VOCAB, 50)
    perfect = np.array([" ".join([t, *rng.choice([w for w in VOCAB if w != t], 4, replace=False)]) for t in y])
    noisy = np.array([" ".join(rng.choice(VOCAB, 5, replace=False)) for _ in y])
    return y, perfect, noisy


def ranked_lists(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    truth, perfect, noisy = [], [], []
    for _ in range(50):
        items = list(rng.choice(VOCAB, rng.integers(1, 4), replace=False))
        fillers = [w for w in rng.permutation(VOCAB) if w not in items]
        truth.append(" ".join(items))
        perfect.append(" ".join(items + fillers[:3]))
        noisy.append(" ".join(rng.permutation(VOCAB)[: rng.integers(2, 7)]))
    return np.array(truth), np.array(perfect), np.array(noisy)


def sentences(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    words = VOCAB + [w.upper() for w in VOCAB]
    truth = [" ".join(rng.choice(words, rng.integers(1, 6))) for _ in range(50)] + [""]
    noisy = [" ".join(rng.choice(words, rng.integers(0, 6))) for _ in range(50)] + ["w1"]
    return np.array(truth), np.array(truth), np.array(noisy)


def strings(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    truth = ["".join(rng.choice(list("abcd"), rng.integers(0, 9))) for _ in range(40)]
    noisy = ["".join(rng.choice(list("abcd"), rng.integers(0, 9))) for _ in range(40)]
    return np.array(truth), np.array(truth), np.array(noisy)


def box_text(boxes: list[list[float]]) -> str:
    return " ".join(f"{v:.3f}" for box in boxes for v in box)


def boxes(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    truth, perfect, noisy = [], [], []
    for _ in range(30):
        true_boxes = [[*rng.uniform(0, 100, 2), *rng.uniform(5, 30, 2)] for _ in range(rng.integers(0, 5))]
        guessed = [[rng.random(), *(np.array(b) + rng.normal(0, 1.5, 4))] for b in true_boxes if rng.random() < 0.8]
        guessed += [[rng.random(), *rng.uniform(0, 100, 2), *rng.uniform(5, 30, 2)] for _ in range(rng.integers(0, 2))]
        for box in guessed:
            box[3], box[4] = abs(box[3]), abs(box[4])
        truth.append(box_text(true_boxes))
        perfect.append(box_text([[1.0, *b] for b in true_boxes]))
        noisy.append(box_text(guessed))
    return np.array(truth), np.array(perfect), np.array(noisy)


SIDE = 8  # RLE test images are SIDE x SIDE


def encode_rle(image: np.ndarray) -> str:
    """'|'-separated RLE masks of a flat label image, one per label 1..max present."""
    masks = []
    for label in range(1, int(image.max()) + 1):
        runs, start = [], None
        for position, inside in enumerate([*(image == label), False], start=1):
            if inside and start is None:
                start = position
            elif not inside and start is not None:
                runs.append(f"{start} {position - start}")
                start = None
        if runs:
            masks.append(" ".join(runs))
    return "|".join(masks)


def rle_masks(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    truth, noisy = [], []
    for _ in range(25):
        image = np.zeros(SIDE * SIDE, dtype=int)
        count = int(rng.integers(0, 4))
        cuts = np.sort(rng.choice(SIDE * SIDE + 1, 4 * count, replace=False))
        for label in range(1, count + 1):
            for a, b in cuts[4 * (label - 1) : 4 * label].reshape(2, 2):
                image[a:b] = label
        changed = np.where(rng.random(image.shape) < 0.1, rng.integers(0, count + 1, image.shape), image)
        truth.append(encode_rle(image))
        noisy.append(encode_rle(changed))
    return np.array(truth), np.array(truth), np.array(noisy)


def directions(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = np.column_stack([rng.uniform(0, 2 * np.pi, 50), rng.uniform(0, np.pi, 50)])
    return y, y.copy(), y + rng.normal(0, 0.3, y.shape)


def planar_angles(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = rng.uniform(0, 360, 50)
    return y, y.copy(), (y + rng.normal(0, 40, 50)) % 360


def coordinates(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = np.column_stack([rng.uniform(-80, 80, 40), rng.uniform(-180, 180, 40)])
    return y, y.copy(), np.column_stack([np.clip(y[:, 0] + rng.normal(0, 3, 40), -90, 90), y[:, 1] + 2])


def fvc(rng: np.random.Generator) -> tuple[Any, Any, Any]:
    y = rng.normal(2500, 500, 60)
    perfect = np.column_stack([y, np.full(60, 70.0)])
    noisy = np.column_stack([y + rng.normal(0, 300, 60), rng.uniform(30, 400, 60)])
    return y, perfect, noisy


# ---------------------------------------------------------------- references: the published formulas, as loops


def ref_weighted_accuracy(y: Any, p: Any, weights: dict) -> float:
    total = hit = 0.0
    for t, q in zip(y, p, strict=True):
        total += weights[t]
        hit += weights[t] * (t == q)
    return hit / total


def ref_top_k_error(y: Any, p: Any, k: int = 5) -> float:
    return sum(str(t) not in str(q).split()[:k] for t, q in zip(y, p, strict=True)) / len(y)


def ref_qwk(y: Any, p: Any) -> float:
    """Kaggle ml_metrics quadratic_weighted_kappa: ratings min..max over both raters."""
    y, p = [int(v) for v in y], [int(v) for v in p]
    lo, hi = min(y + p), max(y + p)
    size = hi - lo + 1
    observed = [[0] * size for _ in range(size)]
    for a, b in zip(y, p, strict=True):
        observed[a - lo][b - lo] += 1
    hist_y = [sum(row) for row in observed]
    hist_p = [sum(observed[i][j] for i in range(size)) for j in range(size)]
    numerator = denominator = 0.0
    for i in range(size):
        for j in range(size):
            weight = (i - j) ** 2 / (size - 1) ** 2
            numerator += weight * observed[i][j]
            denominator += weight * hist_y[i] * hist_p[j] / len(y)
    return 1 - numerator / denominator


def ref_roc_auc_ovr(y: Any, p: Any, labels: list[str], average: str = "macro") -> float:
    order = np.argsort(labels)  # sklearn wants its labels sorted and rows summing to 1
    p = np.asarray(p, dtype=float)
    p = p / p.sum(axis=1, keepdims=True)
    return skm.roc_auc_score(y, p[:, order], multi_class="ovr", labels=np.array(labels)[order], average=average)


def ref_gini(actual: Any, pred: Any) -> float:
    """Porto Seguro's gini: sort by prediction descending, ties by row order."""
    rows = sorted(range(len(actual)), key=lambda i: (-pred[i], i))
    cumulative, running = 0.0, 0.0
    for i in rows:
        running += actual[i]
        cumulative += running
    return (cumulative / sum(actual) - (len(actual) + 1) / 2) / len(actual)


def ref_gini_normalized(y: Any, p: Any) -> float:
    return ref_gini(list(y), list(p)) / ref_gini(list(y), list(y))


def ref_log_loss(y: Any, p: Any) -> float:
    return skm.log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])


def kaggle_rows(p: Any, eps: float = 1e-15) -> list[list[float]]:
    """Kaggle's multiclass preprocessing: clip each cell, then divide by the row sum."""
    rows = []
    for row in p:
        clipped = [min(max(float(v), eps), 1 - eps) for v in row]
        rows.append([v / sum(clipped) for v in clipped])
    return rows


def ref_multiclass_log_loss(y: Any, p: Any, labels: list[str]) -> float:
    rows = kaggle_rows(p)
    return -sum(math.log(row[labels.index(t)]) for t, row in zip(y, rows, strict=True)) / len(y)


def ref_weighted_multiclass_log_loss(y: Any, p: Any, labels: list[str], weights: dict | None = None) -> float:
    rows = kaggle_rows(p)
    numerator = denominator = 0.0
    for j, label in enumerate(labels):
        members = [row[j] for t, row in zip(y, rows, strict=True) if t == label]
        if members:
            w = 1.0 if weights is None else weights[label]
            numerator += w * sum(math.log(v) for v in members) / len(members)
            denominator += w
    return -numerator / denominator


def ref_mean_columnwise_log_loss(y: Any, p: Any) -> float:
    y, p = np.asarray(y), np.asarray(p)
    total = 0.0
    for j in range(y.shape[1]):
        column = 0.0
        for t, q in zip(y[:, j], p[:, j], strict=True):
            q = min(max(q, 1e-15), 1 - 1e-15)
            column -= t * math.log(q) + (1 - t) * math.log(1 - q)
        total += column / len(y)
    return total / y.shape[1]


def ref_kl_divergence(y: Any, p: Any, labels: list[str]) -> float:
    rows = kaggle_rows(p)
    y = np.asarray(y)
    targets = [list(row / row.sum()) for row in y.astype(float)] if y.ndim == 2 else one_hot(y, labels).tolist()
    total = 0.0
    for target, row in zip(targets, rows, strict=True):
        total += sum(t * math.log(t / q) for t, q in zip(target, row, strict=True) if t > 0)
    return total / len(rows)


def ref_weighted_mae(y: Any, p: Any, weights: list[float]) -> float:
    y, p = np.asarray(y), np.asarray(p)
    errors = [sum(abs(a - b) for a, b in zip(y[:, j], p[:, j], strict=True)) / len(y) for j in range(y.shape[1])]
    return sum(w * e for w, e in zip(weights, errors, strict=True)) / sum(weights)


def ref_columnwise(per_column: Callable[[Any, Any], float]) -> Callable[..., float]:
    def mean_over_columns(y: Any, p: Any) -> float:
        y, p = np.asarray(y), np.asarray(p)
        return sum(per_column(list(y[:, j]), list(p[:, j])) for j in range(y.shape[1])) / y.shape[1]

    return mean_over_columns


def ref_rmse(y: list[float], p: list[float]) -> float:
    return math.sqrt(sum((a - b) ** 2 for a, b in zip(y, p, strict=True)) / len(y))


def ref_rmsle(y: list[float], p: list[float]) -> float:
    return ref_rmse([math.log1p(v) for v in y], [math.log1p(v) for v in p])


def ref_mae(y: list[float], p: list[float]) -> float:
    return sum(abs(a - b) for a, b in zip(y, p, strict=True)) / len(y)


def ref_smape(y: Any, p: Any) -> float:
    terms = [0.0 if abs(a) + abs(f) == 0 else 2 * abs(f - a) / (abs(a) + abs(f)) for a, f in zip(y, p, strict=True)]
    return 100 * sum(terms) / len(terms)


def ref_rmspe(y: Any, p: Any) -> float:
    terms = [((a - f) / a) ** 2 for a, f in zip(y, p, strict=True) if a != 0]
    return math.sqrt(sum(terms) / len(terms))


def ref_pearson(x: Any, y: Any) -> float:
    mx, my = sum(x) / len(x), sum(y) / len(y)
    covariance = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    return covariance / math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))


def average_ranks(x: list[float]) -> list[float]:
    order = sorted(range(len(x)), key=lambda i: x[i])
    ranks = [0.0] * len(x)
    start = 0
    while start < len(x):
        end = start
        while end + 1 < len(x) and x[order[end + 1]] == x[order[start]]:
            end += 1
        for m in range(start, end + 1):
            ranks[order[m]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def ref_spearman(x: Any, y: Any) -> float:
    return ref_pearson(average_ranks(list(x)), average_ranks(list(y)))


def ref_kendall_tau_b(x: Any, y: Any) -> float:
    concordant = discordant = tied_x = tied_y = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        tied_x += dx == 0
        tied_y += dy == 0
        concordant += dx * dy > 0
        discordant += dx * dy < 0
    pairs = len(x) * (len(x) - 1) / 2
    return (concordant - discordant) / math.sqrt((pairs - tied_x) * (pairs - tied_y))


def ref_apk(actual: list[str], predicted: list[str], k: int) -> float:
    """Kaggle ml_metrics apk, as published."""
    if len(predicted) > k:
        predicted = predicted[:k]
    score_, hits = 0.0, 0.0
    for i, p in enumerate(predicted):
        if p in actual and p not in predicted[:i]:
            hits += 1.0
            score_ += hits / (i + 1.0)
    if not actual:
        return 0.0
    return score_ / min(len(actual), k)


def ref_map_at_k(y: Any, p: Any, k: int) -> float:
    return sum(ref_apk(str(t).split(), str(q).split(), k) for t, q in zip(y, p, strict=True)) / len(y)


def ref_ndcg_at_k(y: Any, p: Any, k: int) -> float:
    total = 0.0
    for t, q in zip(y, p, strict=True):
        relevant, predicted = set(str(t).split()), str(q).split()
        dcg = sum(
            (2 ** (item in relevant and item not in predicted[:i]) - 1) / math.log2(i + 2)
            for i, item in enumerate(predicted[:k])
        )
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), k)))
        total += dcg / ideal if ideal else 0.0
    return total / len(y)


def ref_jaccard_words(y: Any, p: Any) -> float:
    """Tweet Sentiment Extraction's jaccard, with two empty texts scoring 1."""
    total = 0.0
    for str1, str2 in zip(y, p, strict=True):
        a, b = set(str1.lower().split()), set(str2.lower().split())
        c = a.intersection(b)
        total += 1.0 if not a and not b else len(c) / (len(a) + len(b) - len(c))
    return total / len(y)


def ref_jaccard_sets(y: Any, p: Any) -> float:
    total = 0.0
    for t, q in zip(y, p, strict=True):
        a, b = set(t.split()), set(q.split())
        total += len(a & b) / len(a | b) if a | b else 1.0
    return total / len(y)


def ref_levenshtein(a: str, b: str) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        for j in range(len(b) + 1):
            if i == 0 or j == 0:
                table[i][j] = i + j
            else:
                substitution = table[i - 1][j - 1] + (a[i - 1] != b[j - 1])
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, substitution)
    return table[len(a)][len(b)]


def ref_levenshtein_mean(y: Any, p: Any, normalize: bool = False) -> float:
    total = 0.0
    for t, q in zip(y, p, strict=True):
        d = ref_levenshtein(t, q)
        total += (d / max(len(t), len(q)) if max(len(t), len(q)) else 0.0) if normalize else d
    return total / len(y)


def ref_box_iou(a: list[float], b: list[float]) -> float:
    width = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    union = a[2] * a[3] + b[2] * b[3] - width * height
    return width * height / union if union > 0 else 0.0


def ref_mean_average_precision_boxes(
    y: Any, p: Any, iou_thresholds: tuple = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75)
) -> float:
    """Global Wheat Detection: per image mean over thresholds of TP / (TP + FP + FN), boxes by confidence."""
    total = 0.0
    for t, q in zip(y, p, strict=True):
        values = [float(v) for v in t.split()]
        truth = [values[i : i + 4] for i in range(0, len(values), 4)]
        values = [float(v) for v in q.split()]
        guesses = sorted((values[i : i + 5] for i in range(0, len(values), 5)), key=lambda g: -g[0])
        if not truth and not guesses:
            total += 1.0
            continue
        precisions = []
        for threshold in iou_thresholds:
            taken, tp = set(), 0
            for guess in guesses:
                best, best_iou = None, threshold
                for i, box in enumerate(truth):
                    iou = ref_box_iou(box, guess[1:])
                    if i not in taken and iou > best_iou:
                        best, best_iou = i, iou
                if best is not None:
                    taken.add(best)
                    tp += 1
            precisions.append(tp / (tp + (len(guesses) - tp) + (len(truth) - tp)))
        total += sum(precisions) / len(precisions)
    return total / len(y)


def decode_masks(text: str, height: int, width: int) -> list[np.ndarray]:
    """'|'-separated RLE (1-indexed, column-major) as 2-D boolean masks."""
    masks = []
    for part in text.split("|"):
        values = [int(v) for v in part.split()]
        if not values:
            continue
        flat = np.zeros(height * width, dtype=bool)
        for start, length in zip(values[::2], values[1::2], strict=True):
            flat[start - 1 : start - 1 + length] = True
        masks.append(flat.reshape((height, width), order="F"))
    return masks


def ref_iou_map_rle(y: Any, p: Any, height: int, width: int) -> float:
    """Data Science Bowl 2018: TP at threshold t = pairs with IoU > t (masks do not overlap)."""
    total = 0.0
    for t, q in zip(y, p, strict=True):
        truth, guesses = decode_masks(t, height, width), decode_masks(q, height, width)
        if not truth and not guesses:
            total += 1.0
            continue
        ious = [[(a & b).sum() / (a | b).sum() for b in guesses] for a in truth]
        precisions = []
        for threshold in np.arange(0.5, 1.0, 0.05):
            tp = sum(iou > threshold for row in ious for iou in row)
            precisions.append(tp / (len(truth) + len(guesses) - tp))
        total += sum(precisions) / len(precisions)
    return total / len(y)


def ref_dice_rle(y: Any, p: Any, height: int, width: int) -> float:
    total = 0.0
    for t, q in zip(y, p, strict=True):
        a = {(r, c) for m in decode_masks(t, height, width) for r, c in zip(*np.nonzero(m), strict=True)}
        b = {(r, c) for m in decode_masks(q, height, width) for r, c in zip(*np.nonzero(m), strict=True)}
        total += 2 * len(a & b) / (len(a) + len(b)) if a or b else 1.0
    return total / len(y)


def unit_vector(azimuth: float, zenith: float) -> tuple[float, float, float]:
    return (math.sin(zenith) * math.cos(azimuth), math.sin(zenith) * math.sin(azimuth), math.cos(zenith))


def ref_mean_angular_error(y: Any, p: Any, degrees: bool = False) -> float:
    total = 0.0
    for t, q in zip(np.asarray(y).tolist(), np.asarray(p).tolist(), strict=True):
        if isinstance(t, list):  # IceCube: angle between unit vectors
            dot = sum(a * b for a, b in zip(unit_vector(*t), unit_vector(*q), strict=True))
            total += math.acos(max(-1.0, min(1.0, dot)))
        else:  # on the circle: the shorter way round
            period = 360.0 if degrees else 2 * math.pi
            d = abs(t - q) % period
            total += min(d, period - d)
    return total / len(y)


def ref_haversine_mean(y: Any, p: Any) -> float:
    total = 0.0
    for (lat1, lon1), (lat2, lon2) in zip(np.asarray(y).tolist(), np.asarray(p).tolist(), strict=True):
        phi1, phi2 = math.radians(lat1), math.radians(lat2)
        dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
        h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
        total += 2 * 6371.0 * math.asin(math.sqrt(h))
    return total / len(y)


def ref_laplace_log_likelihood(y: Any, p: Any) -> float:
    """OSIC Pulmonary Fibrosis Progression, as published."""
    total = 0.0
    for fvc_true, (fvc_pred, confidence) in zip(y, np.asarray(p).tolist(), strict=True):
        sigma = max(confidence, 70)
        delta = min(abs(fvc_true - fvc_pred), 1000)
        total += -math.sqrt(2) * delta / sigma - math.log(math.sqrt(2) * sigma)
    return total / len(y)


def sklearn_ref(fn: Callable[..., float], **fixed: Any) -> Callable[..., float]:
    """scikit-learn's function as the reference, with fixed keyword arguments."""
    return lambda y, p, **params: float(fn(y, p, **fixed, **params))


LN = math.log
SK_LOG_LOSS_EXAMPLE = (["spam", "ham", "ham", "spam"], [[0.9, 0.1], [0.1, 0.9], [0.2, 0.8], [0.65, 0.35]])
IMAGE_4X4 = {"height": 4, "width": 4}

CASES: dict[str, list[Case]] = {
    "accuracy": [
        Case(sklearn_ref(skm.accuracy_score), string_labels),
        Case(sklearn_ref(skm.accuracy_score), multilabel),
    ],
    "balanced_accuracy": [Case(sklearn_ref(skm.balanced_accuracy_score), string_labels)],
    "weighted_accuracy": [
        Case(ref_weighted_accuracy, string_labels, {"weights": {"cat": 1.0, "dog": 2.0, "fox": 0.5}}),
    ],
    "top_k_error": [Case(ref_top_k_error, top_k_lists), Case(ref_top_k_error, top_k_lists, {"k": 2})],
    "f1": [
        Case(sklearn_ref(skm.f1_score), binary_labels),
        Case(sklearn_ref(skm.f1_score), binary_strings, {"pos_label": "yes"}),
    ],
    "f1_macro": [
        Case(sklearn_ref(skm.f1_score, average="macro"), string_labels),
        Case(sklearn_ref(skm.f1_score, average="macro"), multilabel),
    ],
    "f1_micro": [
        Case(sklearn_ref(skm.f1_score, average="micro"), string_labels),
        Case(sklearn_ref(skm.f1_score, average="micro"), multilabel),
    ],
    "f1_weighted": [Case(sklearn_ref(skm.f1_score, average="weighted"), string_labels)],
    "fbeta": [
        Case(sklearn_ref(skm.fbeta_score), binary_labels, {"beta": 2.0}),
        Case(sklearn_ref(skm.fbeta_score), multilabel, {"beta": 2.0, "average": "samples"}),
        Case(sklearn_ref(skm.fbeta_score), string_labels, {"beta": 0.5, "average": "macro"}),
    ],
    "mcc": [Case(sklearn_ref(skm.matthews_corrcoef), string_labels)],
    "cohen_kappa": [
        Case(sklearn_ref(skm.cohen_kappa_score), string_labels),
        Case(sklearn_ref(skm.cohen_kappa_score), ratings, {"weights": "linear"}),
    ],
    "qwk": [Case(ref_qwk, ratings)],
    "roc_auc": [Case(sklearn_ref(skm.roc_auc_score), binary_probabilities)],
    "roc_auc_ovr": [
        Case(ref_roc_auc_ovr, class_probabilities, {"labels": COLUMN_ORDER}),
        Case(ref_roc_auc_ovr, class_probabilities, {"labels": COLUMN_ORDER, "average": "weighted"}),
    ],
    "mean_columnwise_roc_auc": [Case(sklearn_ref(skm.roc_auc_score, average="macro"), columnwise_probabilities)],
    "gini_normalized": [Case(ref_gini_normalized, gini_data)],
    "log_loss": [Case(ref_log_loss, binary_probabilities)],
    "multiclass_log_loss": [Case(ref_multiclass_log_loss, class_probabilities, {"labels": COLUMN_ORDER})],
    "weighted_multiclass_log_loss": [
        Case(ref_weighted_multiclass_log_loss, class_probabilities, {"labels": COLUMN_ORDER}),
        Case(
            ref_weighted_multiclass_log_loss,
            class_probabilities,
            {"labels": COLUMN_ORDER, "weights": {"cat": 1, "dog": 2, "fox": 3}},
        ),
    ],
    "mean_columnwise_log_loss": [Case(ref_mean_columnwise_log_loss, columnwise_probabilities)],
    "kl_divergence": [
        Case(ref_kl_divergence, class_probabilities, {"labels": COLUMN_ORDER}),
        Case(ref_kl_divergence, target_distributions, {"labels": ["a", "b", "c"]}),
    ],
    "label_ranking_average_precision": [Case(sklearn_ref(skm.label_ranking_average_precision_score), ranking_scores)],
    "rmse": [
        Case(sklearn_ref(skm.root_mean_squared_error), numbers),
        Case(sklearn_ref(skm.root_mean_squared_error), columns_of_numbers),
    ],
    "mse": [Case(sklearn_ref(skm.mean_squared_error), numbers)],
    "mae": [Case(sklearn_ref(skm.mean_absolute_error), numbers)],
    "median_absolute_error": [Case(sklearn_ref(skm.median_absolute_error), numbers)],
    "weighted_mae": [Case(ref_weighted_mae, columns_of_numbers, {"weights": [1.0, 2.0, 0.5]})],
    "rmsle": [Case(sklearn_ref(skm.root_mean_squared_log_error), positive_numbers)],
    "msle": [Case(sklearn_ref(skm.mean_squared_log_error), positive_numbers)],
    "mcrmse": [Case(ref_columnwise(ref_rmse), columns_of_numbers)],
    "mcrmsle": [Case(ref_columnwise(ref_rmsle), columns_of_positive_numbers)],
    "mcmae": [Case(ref_columnwise(ref_mae), columns_of_numbers)],
    "mape": [Case(sklearn_ref(skm.mean_absolute_percentage_error), positive_numbers)],
    "smape": [Case(ref_smape, numbers_with_zeros)],
    "rmspe": [Case(ref_rmspe, numbers_with_zeros)],
    "r2": [Case(sklearn_ref(skm.r2_score), numbers), Case(sklearn_ref(skm.r2_score), columns_of_numbers)],
    "pearson": [Case(ref_pearson, numbers)],
    "spearman": [Case(ref_spearman, tied_numbers)],
    "mean_columnwise_spearman": [Case(ref_columnwise(ref_spearman), columns_of_numbers)],
    "kendall_tau": [Case(ref_kendall_tau_b, tied_numbers)],
    "map_at_k": [Case(ref_map_at_k, ranked_lists, {"k": 3}), Case(ref_map_at_k, ranked_lists, {"k": 5})],
    "ndcg_at_k": [Case(ref_ndcg_at_k, ranked_lists, {"k": 3}), Case(ref_ndcg_at_k, ranked_lists, {"k": 5})],
    "jaccard_words": [Case(ref_jaccard_words, sentences)],
    "jaccard_sets": [Case(ref_jaccard_sets, sentences)],
    "levenshtein_mean": [
        Case(ref_levenshtein_mean, strings),
        Case(ref_levenshtein_mean, strings, {"normalize": True}),
    ],
    "mean_average_precision_boxes": [
        Case(ref_mean_average_precision_boxes, boxes),
        Case(ref_mean_average_precision_boxes, boxes, {"iou_thresholds": [0.3, 0.5]}),
    ],
    "iou_map_rle": [Case(ref_iou_map_rle, rle_masks, {"height": SIDE, "width": SIDE})],
    "dice_rle": [Case(ref_dice_rle, rle_masks, {"height": SIDE, "width": SIDE})],
    "mean_angular_error": [
        # arccos near 1 turns rounding errors of 1e-16 into angles of 1e-8
        Case(ref_mean_angular_error, directions, tolerance=1e-7),
        Case(ref_mean_angular_error, planar_angles, {"degrees": True}),
    ],
    "haversine_mean": [Case(ref_haversine_mean, coordinates)],
    "laplace_log_likelihood": [Case(ref_laplace_log_likelihood, fvc)],
}

# (params, y_true, y_pred, expected), each worked out by hand; the comment says how.
EXAMPLES: dict[str, list[tuple[dict[str, Any], Any, Any, float]]] = {
    "accuracy": [({}, [1, 0, 1, 1], [1, 1, 1, 0], 0.5)],
    # recall of class 0 is 2/3, of class 1 is 1
    "balanced_accuracy": [({}, [0, 0, 0, 1], [0, 0, 1, 1], 5 / 6)],
    "weighted_accuracy": [({"weights": {"a": 1, "b": 2}}, ["a", "a", "b"], ["a", "b", "b"], (1 + 0 + 2) / (1 + 1 + 2))],
    # the true label is in the first 2, in the first 2, then 4th
    "top_k_error": [({"k": 2}, ["a", "b", "c"], ["x a", "b", "x y z c"], 1 / 3)],
    "f1": [({}, [1, 1, 0, 0], [1, 0, 1, 0], 0.5), ({"pos_label": "y"}, ["y", "n"], ["y", "y"], 2 / 3)],
    # class 0: P 2/3, R 1 -> F1 0.8; class 1: P 1, R 1/2 -> 2/3
    "f1_macro": [({}, [0, 0, 1, 1], [0, 0, 0, 1], (0.8 + 2 / 3) / 2)],
    "f1_micro": [({}, [0, 0, 1, 1], [0, 0, 0, 1], 0.75)],
    # class 0 (support 3): P 1, R 2/3 -> 0.8; class 1 (support 1): P 1/2, R 1 -> 2/3
    "f1_weighted": [({}, [0, 0, 0, 1], [0, 0, 1, 1], (3 * 0.8 + 2 / 3) / 4)],
    # P 1, R 1/3: F2 = 5PR / (4P + R) = 5/13
    "fbeta": [({"beta": 2.0}, [1, 1, 1, 0], [1, 0, 0, 0], 5 / 13)],
    # TP 1, TN 2, FP 0, FN 1: (1*2 - 0*1) / sqrt(1*2*2*3)
    "mcc": [({}, [1, 1, 0, 0], [1, 0, 0, 0], 2 / 12**0.5)],
    # p_o 3/4, p_e 1/2*1/4 + 1/2*3/4 = 1/2
    "cohen_kappa": [({}, [0, 1, 0, 1], [0, 1, 1, 1], 0.5)],
    # ratings 0..3 (2 absent): observed (4 + 4)/9, expected 54/9/4 = 1.5 -> 1 - 16/27; sklearn alone would skip 2
    "qwk": [({}, [0, 1, 3, 3], [0, 3, 3, 1], 11 / 27)],
    "roc_auc": [({}, [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.75)],
    # columns b, a, c: AUC of a is 3/4 (its 0.25 is below b's 0.3), of b and c 1
    "roc_auc_ovr": [
        (
            {"labels": ["b", "a", "c"]},
            ["a", "b", "c", "a"],
            [[0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [0.5, 0.25, 0.25]],
            (0.75 + 1 + 1) / 3,
        )
    ],
    # column AUCs 0.75 and 1
    "mean_columnwise_roc_auc": [
        ({}, [[0, 1], [0, 0], [1, 1], [1, 0]], [[0.1, 0.9], [0.4, 0.2], [0.35, 0.3], [0.8, 0.1]], 0.875)
    ],
    # (6/2 - 5/2)/4 over (7/2 - 5/2)/4, which is 2 * AUC - 1
    "gini_normalized": [({}, [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.5)],
    "log_loss": [({}, [1, 0], [0.8, 0.4], -(LN(0.8) + LN(0.6)) / 2)],
    "multiclass_log_loss": [
        # sklearn's documented log_loss example, columns given as spam, ham
        ({"labels": ["spam", "ham"]}, *SK_LOG_LOSS_EXAMPLE, 0.21616187468),
        # the second row is rescaled to [0.25, 0.75]
        ({"labels": ["a", "b"]}, ["a", "b"], [[0.5, 0.5], [0.2, 0.6]], -(LN(0.5) + LN(0.75)) / 2),
    ],
    # class a: mean log of 0.5 and 0.8, weight 1; class b: log 0.75, weight 3
    "weighted_multiclass_log_loss": [
        (
            {"labels": ["a", "b"], "weights": {"a": 1, "b": 3}},
            ["a", "a", "b"],
            [[0.5, 0.5], [0.8, 0.2], [0.25, 0.75]],
            -((LN(0.5) + LN(0.8)) / 2 + 3 * LN(0.75)) / 4,
        )
    ],
    "mean_columnwise_log_loss": [
        ({}, [[1, 0], [0, 1]], [[0.8, 0.4], [0.4, 0.5]], (-(LN(0.8) + LN(0.6)) / 2 - (LN(0.6) + LN(0.5)) / 2) / 2)
    ],
    "kl_divergence": [
        # with labels the divergence from one-hot targets is the log loss
        ({"labels": ["spam", "ham"]}, *SK_LOG_LOSS_EXAMPLE, 0.21616187468),
        # Kaggle's documented example of its KL divergence metric (HMS)
        (
            {"labels": ["ham", "spam", "other"]},
            [[0, 0.1, 0.9], [0.5, 0.5, 0], [0.5, 0.5, 0]],
            [[0.2, 0.1, 0.7], [0.3, 0.5, 0.2], [0.5, 0.5, 0]],
            0.160531,
        ),
    ],
    # sklearn's documented example: (1/2 + 1/3) / 2
    "label_ranking_average_precision": [({}, [[1, 0, 0], [0, 0, 1]], [[0.75, 0.5, 1], [1, 0.2, 0.1]], 5 / 12)],
    # errors 0.5, 0.5, 0, 1
    "rmse": [({}, [3, -0.5, 2, 7], [2.5, 0, 2, 8], 0.375**0.5)],
    "mse": [({}, [3, -0.5, 2, 7], [2.5, 0, 2, 8], 0.375)],
    "mae": [({}, [3, -0.5, 2, 7], [2.5, 0, 2, 8], 0.5)],
    "median_absolute_error": [({}, [3, -0.5, 2, 7], [2.5, 0, 2, 8], 0.5)],
    # column MAEs 0.5 and 3, weights 1 and 2
    "weighted_mae": [({"weights": [1, 2]}, [[1, 10], [2, 20]], [[2, 10], [2, 26]], (0.5 + 2 * 3) / 3)],
    # log1p: [0, 1] vs [1, 1]
    "rmsle": [({}, [0, E - 1], [E - 1, E - 1], 0.5**0.5)],
    "msle": [({}, [0, E - 1], [E - 1, E - 1], 0.5)],
    "mcrmse": [({}, [[0, 0], [0, 0]], [[1, 2], [-1, 0]], (1 + 2**0.5) / 2)],
    "mcrmsle": [({}, [[0, 0]], [[E - 1, E**2 - 1]], 1.5)],
    "mcmae": [({}, [[0, 0], [0, 0]], [[1, 2], [-1, 0]], 1.0)],
    "mape": [({}, [1, 2, 4], [2, 2, 3], 1.25 / 3)],
    # 0/0 -> 0, 2*2/4 = 1, 0
    "smape": [({}, [0, 1, 2], [0, 3, 2], 100 / 3)],
    # the zero actual is skipped: ((2 - 1)/2)^2 and 0
    "rmspe": [({}, [0, 2, 4], [5, 1, 4], 0.125**0.5)],
    "r2": [({}, [1, 2, 3], [1, 2, 4], 0.5)],
    "pearson": [({}, [1, 2, 3], [1, 3, 2], 0.5)],
    # ranks 1 3 2 4: 1 - 6 * 2 / (4 * 15)
    "spearman": [({}, [1, 2, 3, 4], [10, 30, 20, 40], 0.8)],
    "mean_columnwise_spearman": [({}, [[1, 1], [2, 2], [3, 3], [4, 4]], [[10, 4], [30, 3], [20, 2], [40, 1]], -0.1)],
    # 2 concordant pairs, 1 discordant
    "kendall_tau": [({}, [1, 2, 3], [1, 3, 2], 1 / 3)],
    # (1/1 + 2/3) / 2, then 0, then an empty truth scores 0
    "map_at_k": [({"k": 3}, ["a b", "c", ""], ["a x b", "x y z", "a"], (1 + 2 / 3) / 2 / 3)],
    # a hit at rank 2: 1/log2(3); hits at ranks 1 and 3 (1 + 1/2) over the ideal 1 + 1/log2(3)
    "ndcg_at_k": [({"k": 3}, ["a", "a b"], ["x a y", "b z a"], (1 / math.log2(3) + 1.5 / (1 + 1 / math.log2(3))) / 2)],
    "jaccard_words": [({}, ["Hello World", ""], ["hello there world", ""], (2 / 3 + 1) / 2)],
    "jaccard_sets": [({}, ["a b c"], ["b c d A"], 2 / 5)],
    # distances 3, 2, 0; normalized by the longer string: 3/7, 2/2, 0
    "levenshtein_mean": [
        ({}, ["kitten", "", "abc"], ["sitting", "ab", "abc"], 5 / 3),
        ({"normalize": True}, ["kitten", "", "abc"], ["sitting", "ab", "abc"], (3 / 7 + 1) / 3),
    ],
    "mean_average_precision_boxes": [
        # IoU 100/120 passes every threshold; IoU 0.6 passes 0.5 and 0.55 only; nothing vs nothing scores 1
        ({}, ["0 0 10 10", "0 0 10 10", ""], ["0.9 0 0 10 12", "0.5 0 0 10 6", ""], (1 + 2 / 6 + 1) / 3),
        # The confident box (IoU 0.83 and 0.80) takes the first truth; the exact copy of the first truth then has
        # IoU 2/3 with the second: both match up to 0.65, one of two (1/3) at 0.7 and 0.75.
        ({}, ["0 0 10 10 0 2 10 10"], ["0.1 0 0 10 10 0.9 0 0.9 10 10"], (4 + 2 / 3) / 6),
    ],
    # masks {1,2,3}, {10,11} vs {1,2,3}, {10,11,12} (IoU 2/3): 4 thresholds at 1, 6 at 1/3; then a lone FP
    "iou_map_rle": [(IMAGE_4X4, ["1 3|10 2", ""], ["1 3|10 3", "5 1"], (4 + 6 / 3) / 10 / 2)],
    # 2 * 5 / (5 + 6), then two empty masks
    "dice_rle": [(IMAGE_4X4, ["1 3|10 2", ""], ["1 3|10 3", ""], (10 / 11 + 1) / 2)],
    "mean_angular_error": [
        # the x axis vs the y axis, then identical directions
        ({}, [[0, np.pi / 2], [1, 1]], [[np.pi / 2, np.pi / 2], [1, 1]], np.pi / 4),
        # the short way round the circle
        ({"degrees": True}, [10, 350], [350, 10], 20.0),
        ({}, [0.1, 6.2], [6.2, 0.1], 2 * np.pi - 6.1),
    ],
    # one degree of longitude on the equator is 6371 * pi / 180 km
    "haversine_mean": [({}, [[0, 0], [0, 0]], [[0, 1], [0, 0]], 6371 * np.pi / 360)],
    # sigma 100, delta 100; then sigma 50 -> 70, delta 0
    "laplace_log_likelihood": [
        ({}, [2000, 2500], [[2100, 100], [2500, 50]], (-(2**0.5) - LN(2**0.5 * 100) - LN(2**0.5 * 70)) / 2)
    ],
}


# ---------------------------------------------------------------- the registry


def test_every_contract_metric_is_registered() -> None:
    assert sorted(set(CONTRACT_NAMES) - set(METRICS)) == []


@pytest.mark.parametrize("name", sorted(METRICS))
def test_metric_record(name: str) -> None:
    metric = METRICS[name]
    assert metric.name == name
    assert metric.prediction in metrics.PREDICTION_KINDS
    assert isinstance(metric.higher_is_better, bool) and isinstance(metric.allows_nan, bool)
    assert metric.description and "\n" not in metric.description
    # defaults are exactly the optional keyword parameters of the function, and serializable into task.json
    signature = inspect.signature(metric.fn)
    optional = {p.name: p.default for p in signature.parameters.values() if p.default is not inspect.Parameter.empty}
    assert metric.defaults == optional
    json.dumps(metric.defaults)
    assert metric.allows_nan == (metric.prediction == "text")


def test_metric_is_frozen_and_checks_its_prediction_kind() -> None:
    with pytest.raises(FrozenInstanceError):
        METRICS["rmse"].higher_is_better = True  # type: ignore[misc]
    with pytest.raises(ValueError, match="prediction"):
        Metric("x", lambda y, p: 0.0, True, "pixels", False, "x")


def test_get_metric_names_close_matches() -> None:
    assert get_metric("qwk") is METRICS["qwk"]
    with pytest.raises(KeyError, match="accuracy"):
        get_metric("acuracy")
    with pytest.raises(KeyError, match="known metrics"):
        get_metric("zzzzzzzz")


def test_score_uses_defaults_and_overrides() -> None:
    y, p = ["a", "b"], ["x y z u a", "x b"]
    assert score("top_k_error", y, p) == 0.0  # default k = 5
    assert score("top_k_error", y, p, k=1) == 1.0


# ---------------------------------------------------------------- parity, examples, direction


@pytest.mark.parametrize("name", sorted(METRICS))
def test_parity_with_reference_on_seeded_data(name: str) -> None:
    assert name in CASES, f"metric {name} has no parity case in tests/test_metrics.py"
    for index, case in enumerate(CASES[name]):
        y_true, perfect, noisy = case.make(np.random.default_rng(SEED + index))
        for y_pred in (perfect, noisy):
            expected = case.reference(y_true, y_pred, **case.params)
            assert score(name, y_true, y_pred, **case.params) == pytest.approx(expected, rel=1e-9, abs=case.tolerance)


@pytest.mark.parametrize("name", sorted(METRICS))
def test_hand_checked_examples(name: str) -> None:
    assert EXAMPLES.get(name), f"metric {name} has no hand-checked example in tests/test_metrics.py"
    reference = CASES[name][0].reference
    for params, y_true, y_pred, expected in EXAMPLES[name]:
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        assert score(name, y_true, y_pred, **params) == pytest.approx(expected, abs=1e-6)
        assert reference(y_true, y_pred, **params) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("name", sorted(METRICS))
def test_perfect_prediction_scores_better(name: str) -> None:
    metric = METRICS[name]
    for index, case in enumerate(CASES[name]):
        y_true, perfect, noisy = case.make(np.random.default_rng(SEED + index))
        best, worse = score(name, y_true, perfect, **case.params), score(name, y_true, noisy, **case.params)
        assert (best > worse) if metric.higher_is_better else (best < worse), (best, worse)


def test_gini_normalized_is_two_auc_minus_one_without_ties() -> None:
    rng = np.random.default_rng(SEED)
    y, p = rng.integers(0, 2, 200), rng.random(200)
    assert score("gini_normalized", y, p) == pytest.approx(2 * skm.roc_auc_score(y, p) - 1)


def test_ndcg_at_k_agrees_with_sklearn_ndcg_score() -> None:
    rng = np.random.default_rng(SEED)
    truth = [" ".join(rng.choice(VOCAB, rng.integers(1, 4), replace=False)) for _ in range(40)]
    ranked = [list(rng.permutation(VOCAB)[:5]) for _ in truth]
    relevance = np.array([[word in t.split() for word in VOCAB] for t in truth], dtype=float)
    scores = np.array([[len(VOCAB) - r.index(word) if word in r else 0 for word in VOCAB] for r in ranked], float)
    expected = skm.ndcg_score(relevance, scores, k=5)
    assert score("ndcg_at_k", truth, [" ".join(r) for r in ranked], k=5) == pytest.approx(expected)


# ---------------------------------------------------------------- conventions


CLASS_PROBABILITY_METRICS = sorted(n for n, m in METRICS.items() if m.prediction == "class_probabilities")


@pytest.mark.parametrize("name", CLASS_PROBABILITY_METRICS)
def test_class_probability_columns_follow_labels_and_rows_are_rescaled(name: str) -> None:
    y, _, p = class_probabilities(np.random.default_rng(SEED))
    p = p / p.sum(axis=1, keepdims=True)
    base = score(name, y, p, labels=COLUMN_ORDER)
    permutation = [2, 0, 1]
    assert score(name, y, p[:, permutation], labels=[COLUMN_ORDER[j] for j in permutation]) == pytest.approx(base)
    # Kaggle clips before rescaling, so only a scale that keeps every cell in [eps, 1 - eps] leaves the score alone.
    assert score(name, y, p / 4, labels=COLUMN_ORDER) == pytest.approx(base)
    # labels read back as other types still name the same classes
    codes = {"fox": 0, "cat": 1, "dog": 2}
    assert score(name, np.array([codes[v] for v in y]), p, labels=["0", "1", "2"]) == pytest.approx(base)


TEXT_METRICS = sorted(n for n, m in METRICS.items() if m.allows_nan)


@pytest.mark.parametrize("name", TEXT_METRICS)
def test_missing_text_cells_are_empty_predictions(name: str) -> None:
    case = CASES[name][0]
    y_true, _, noisy = case.make(np.random.default_rng(SEED))
    with_missing = noisy.astype(object)
    with_missing[0], with_missing[1] = None, np.nan
    blanked = noisy.copy()
    blanked[0] = blanked[1] = ""
    assert score(name, y_true, with_missing, **case.params) == score(name, y_true, blanked, **case.params)


def test_labels_as_object_arrays_of_strings() -> None:
    # polars' to_numpy() gives object arrays for string columns
    y, p = np.array(["a", "b", "b"], dtype=object), np.array(["a", "a", "b"], dtype=object)
    assert score("accuracy", y, p) == pytest.approx(2 / 3)
    assert score("accuracy", y.reshape(-1, 1), p.reshape(-1, 1)) == pytest.approx(2 / 3)


@pytest.mark.parametrize("name", ["pearson", "spearman", "kendall_tau", "mean_columnwise_spearman"])
def test_constant_prediction_correlates_zero(name: str) -> None:
    y = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0]])
    y = y if name.startswith("mean_columnwise") else y[:, 0]
    assert score(name, y, np.ones_like(y)) == 0.0


def test_integer_truth_read_as_float_matches_text() -> None:
    assert score("map_at_k", np.array([3.0, 4.0]), np.array(["3 1", "1 4"]), k=2) == pytest.approx(0.75)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("name", sorted(METRICS))
def test_row_count_mismatch_raises(name: str) -> None:
    case = CASES[name][0]
    y_true, perfect, _ = case.make(np.random.default_rng(SEED))
    with pytest.raises(ValueError, match=rf"^{name}: .*rows"):
        score(name, y_true, perfect[:-1], **case.params)


@pytest.mark.parametrize("name", sorted(METRICS))
def test_unknown_parameter_raises(name: str) -> None:
    case = CASES[name][0]
    y_true, perfect, _ = case.make(np.random.default_rng(SEED))
    with pytest.raises(ValueError, match=r"unknown parameter.*bogus"):
        score(name, y_true, perfect, **case.params, bogus=1)


REQUIRED = sorted(
    (name, p.name)
    for name, m in METRICS.items()
    for p in inspect.signature(m.fn).parameters.values()
    if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
)


@pytest.mark.parametrize(("name", "param"), REQUIRED)
def test_missing_required_parameter_raises(name: str, param: str) -> None:
    case = CASES[name][0]
    y_true, perfect, _ = case.make(np.random.default_rng(SEED))
    params = {k: v for k, v in case.params.items() if k != param}
    with pytest.raises(ValueError, match=f"missing required parameter.*{param}"):
        score(name, y_true, perfect, **params)


BAD_PARAMS = [
    ("top_k_error", ["a"], ["a"], {"k": 0}, "k must be an integer"),
    ("map_at_k", ["a"], ["a"], {"k": "3"}, "k must be an integer"),
    ("ndcg_at_k", ["a"], ["a"], {"k": True}, "k must be an integer"),
    ("fbeta", [0, 1], [0, 1], {"beta": -1}, "beta must be a number > 0"),
    ("fbeta", [0, 1], [0, 1], {"beta": 1, "average": "mean"}, "average must be one of"),
    ("cohen_kappa", [0, 1], [0, 1], {"weights": "cubic"}, "weights must be one of"),
    ("roc_auc_ovr", ["a", "b"], [[0.5, 0.5]] * 2, {"labels": ["a", "b"], "average": "micro"}, "average"),
    ("weighted_accuracy", ["a", "b"], ["a", "b"], {"weights": {"a": 1}}, "no entry for class 'b'"),
    ("weighted_accuracy", ["a", "b"], ["a", "b"], {"weights": {"a": 1, "b": -1}}, "must be a number >= 0"),
    ("weighted_mae", [[1, 2]], [[1, 2]], {"weights": [1]}, "one weight per target column"),
    ("multiclass_log_loss", ["a"], [[1.0]], {"labels": ["a"]}, "at least 2 classes"),
    ("multiclass_log_loss", ["a"], [[0.5, 0.5]], {"labels": ["a", "a"]}, "duplicates"),
    ("multiclass_log_loss", ["a"], [[0.5, 0.5]], {"labels": "ab"}, "list of classes"),
    ("log_loss", [0, 1], [0.5, 0.5], {"eps": 0.7}, "eps must be in"),
    ("weighted_multiclass_log_loss", ["a"], [[0.5, 0.5]], {"labels": ["a", "b"], "weights": [1, 2]}, "map each class"),
    ("iou_map_rle", [""], [""], {"height": 0, "width": 4}, "height must be an integer"),
    ("dice_rle", [""], [""], {"height": 4}, "missing required parameter.*width"),
    ("mean_average_precision_boxes", [""], [""], {"iou_thresholds": [0.5, 1.5]}, "numbers in \\(0, 1\\)"),
    ("mean_average_precision_boxes", [""], [""], {"iou_thresholds": []}, "non-empty list"),
    ("levenshtein_mean", ["a"], ["a"], {"normalize": "yes"}, "normalize must be true or false"),
    ("haversine_mean", [[0, 0]], [[0, 0]], {"radius_km": 0}, "radius_km must be a number > 0"),
    ("qwk", [1, 2], [1, 2], {"min_rating": 2}, "outside \\[2, 2\\]"),
    ("qwk", [1, 2], [1, 2], {"min_rating": 3, "max_rating": 1}, "above max_rating"),
    ("laplace_log_likelihood", [1.0], [[1.0, 70.0]], {"sigma_min": -1}, "sigma_min must be a number > 0"),
]


@pytest.mark.parametrize(("name", "y_true", "y_pred", "params", "message"), BAD_PARAMS, ids=[b[0] for b in BAD_PARAMS])
def test_bad_parameter_raises(name: str, y_true: Any, y_pred: Any, params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        score(name, np.asarray(y_true), np.asarray(y_pred), **params)


NAN = float("nan")
BAD_INPUTS = [
    ("rmse", [1.0, 2.0], [1.0, NAN], {}, "y_pred row 1 is missing, NaN or infinite"),
    ("rmse", [1.0, 2.0], ["1", "x"], {}, "y_pred must hold numbers"),
    ("rmse", [[1.0, 2.0]], [[1.0, 2.0, 3.0]], {}, "shape"),
    ("pearson", [[1.0, 2.0], [2.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]], {}, "one column"),
    ("pearson", [1.0, 1.0, 1.0], [1.0, 2.0, 3.0], {}, "y_true is constant"),
    ("accuracy", [1, 2], ["1", "2"], {}, "y_true holds numbers but y_pred holds strings"),
    ("accuracy", np.array(["a", None], dtype=object), ["a", "b"], {}, "y_true row 1 is missing"),
    ("accuracy", np.array(["a", 1], dtype=object), ["a", "b"], {}, "mixes strings and numbers"),
    ("mcc", [[0, 1], [1, 0]], [[0, 1], [1, 0]], {}, "one column of labels"),
    ("qwk", ["a", "b"], ["a", "b"], {}, "ratings must be integers"),
    ("cohen_kappa", [1, 1], [1, 1], {}, "undefined"),
    ("roc_auc", [1, 1], [0.2, 0.3], {}, "only one class"),
    ("roc_auc", [0, 2], [0.2, 0.3], {}, "y_true row 1 is not 0 or 1"),
    ("log_loss", [0, 1], [0.2, 1.3], {}, "y_pred row 1 is outside \\[0, 1\\]"),
    ("mean_columnwise_roc_auc", [[0, 1], [1, 1]], [[0.1, 0.2], [0.3, 0.4]], {}, "column 1 holds only one class"),
    ("multiclass_log_loss", ["a", "c"], [[0.5, 0.5]] * 2, {"labels": ["a", "b"]}, "y_true row 1 is 'c'"),
    ("multiclass_log_loss", ["a", "b"], [[0.3, 0.3, 0.4]] * 2, {"labels": ["a", "b"]}, "must have 2 columns"),
    ("roc_auc_ovr", ["a", "a", "b"], [[0.5, 0.3, 0.2]] * 3, {"labels": ["a", "b", "c"]}, "class 'c' holds only one"),
    ("kl_divergence", [[0.0, 0.0], [0.5, 0.5]], [[0.5, 0.5]] * 2, {"labels": ["a", "b"]}, "y_true row 0 sums to 0"),
    ("gini_normalized", [1.0, 1.0], [0.1, 0.2], {}, "constant"),
    ("rmspe", [0.0, 0.0], [1.0, 2.0], {}, "every y_true value is 0"),
    ("rmsle", [1.0, -2.0], [1.0, 1.0], {}, "-1"),
    ("map_at_k", [["a", "b"]], [["a", "b"]], {"k": 1}, "one column of text"),
    ("mean_average_precision_boxes", ["1 2 3"], [""], {}, "y_true row 0: expected groups of 4 numbers"),
    ("mean_average_precision_boxes", [""], ["0.5 1 2 -3 4"], {}, "width, height >= 0"),
    ("mean_average_precision_boxes", [""], ["0.5 1 2 a 4"], {}, "not a list of numbers"),
    ("iou_map_rle", ["1"], [""], IMAGE_4X4, "start/length pairs"),
    ("iou_map_rle", ["15 3"], [""], IMAGE_4X4, "outside the 16 pixels"),
    ("iou_map_rle", ["0 2"], [""], IMAGE_4X4, "outside the 16 pixels"),
    ("iou_map_rle", [""], ["1 4|3 2"], IMAGE_4X4, "y_pred row 0: masks overlap at pixel 3"),
    ("dice_rle", ["1 2.5"], [""], IMAGE_4X4, "not a list of integers"),
    ("mean_angular_error", [[1, 2, 3]], [[1, 2, 3]], {}, "azimuth, zenith"),
    ("haversine_mean", [[91, 0]], [[0, 0]], {}, "y_true row 0 has a latitude outside"),
    ("haversine_mean", [1.0], [1.0], {}, "latitude, longitude"),
    ("laplace_log_likelihood", [1.0], [1.0], {}, "y_pred must be \\(n, 2\\)"),
    ("accuracy", [], [], {}, "y_true is empty"),
]


@pytest.mark.parametrize(("name", "y_true", "y_pred", "params", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_raises(name: str, y_true: Any, y_pred: Any, params: dict, message: str) -> None:
    y_true = y_true if isinstance(y_true, np.ndarray) else np.asarray(y_true)
    with pytest.raises(ValueError, match=message):
        score(name, y_true, np.asarray(y_pred), **params)


# ---------------------------------------------------------------- embedding into grader.py

ALLOWED_THIRD_PARTY = {"numpy", "scipy", "sklearn"}


def test_module_imports_only_stdlib_numpy_scipy_sklearn() -> None:
    tree = ast.parse(inspect.getsource(metrics))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module != "__future__", "render.py embeds this module verbatim"
            roots.add(node.module.split(".")[0])
    assert roots - ALLOWED_THIRD_PARTY <= set(sys.stdlib_module_names)


def test_source_runs_embedded_as_a_rendered_grader_would(monkeypatch: pytest.MonkeyPatch) -> None:
    # render.py puts `from __future__ import annotations` on top of the embedded source, so every annotation,
    # the Metric dataclass's included, becomes a string; a script runs as a module registered in sys.modules.
    module = types.ModuleType("rendered_grader")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    source = "from __future__ import annotations\n" + inspect.getsource(metrics)
    exec(compile(source, "grader.py", "exec"), module.__dict__)
    assert sorted(module.METRICS) == sorted(METRICS)
    assert module.score("qwk", [0, 1, 3, 3], [0, 3, 3, 1]) == pytest.approx(11 / 27)
    assert module.METRICS["map_at_k"].defaults == {}
