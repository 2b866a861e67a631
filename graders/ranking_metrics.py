"""Ranking metrics: AI4Code's pooled Kendall tau, per-row Spearman of orderings, and lwlrap.

Not leaderboard positions (that is graders/ranking.py). Self-contained (stdlib and numpy only) so that a task's
grader.py can embed this source verbatim, as it does graders/metrics.py. Orderings are space-separated ids,
first to last; bad input raises ValueError naming the row.
"""

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def _tokens(value: Any, where: str) -> list[str]:
    """Space-separated ids of one cell; None and NaN are empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a string of space-separated ids, got {type(value).__name__}")
    return value.split()


def _ranks_of(truth: list[str], predicted: list[str], where: str) -> list[int]:
    """True positions of the predicted ids; the prediction must be a permutation of the truth."""
    position = {item: i for i, item in enumerate(truth)}
    if len(position) != len(truth):
        raise ValueError(f"{where}: the true order repeats an id")
    if len(predicted) != len(truth) or set(predicted) != set(truth):
        missing, extra = set(truth) - set(predicted), set(predicted) - set(truth)
        # Equal lengths and equal sets would make a permutation, so an id is missing, unknown or repeated.
        parts = [f"missing {sorted(missing)[:3]}"] if missing else []
        parts += [f"unknown {sorted(extra)[:3]}"] if extra else []
        detail = ", ".join(parts) or f"{len(predicted)} ids for {len(truth)}"
        raise ValueError(f"{where}: the predicted order is not a permutation of the true ids ({detail})")
    return [position[item] for item in predicted]


def count_inversions(values: Sequence[int]) -> int:
    """Number of pairs i < j with values[i] > values[j], by merge sort in O(n log n)."""

    def sort(items: list[int]) -> tuple[list[int], int]:
        """Sorted items and their inversion count."""
        if len(items) < 2:
            return items, 0
        middle = len(items) // 2
        left, a = sort(items[:middle])
        right, b = sort(items[middle:])
        merged, inversions, i, j = [], a + b, 0, 0
        while i < len(left) and j < len(right):
            if right[j] < left[i]:
                merged.append(right[j])
                inversions += len(left) - i
                j += 1
            else:
                merged.append(left[i])
                i += 1
        return merged + left[i:] + right[j:], inversions

    return sort(list(values))[1]


def pooled_kendall_tau(truth: Sequence[Any], predictions: Sequence[Any]) -> float:
    """AI4Code: K = 1 - 4 sum_i S_i / sum_i n_i (n_i - 1), S_i the swaps (inversions) of notebook i's order.

    Source: Kaggle AI4Code evaluation page and its host's kendall_tau(ground_truth, predictions): the inversions
    and the pair counts are summed over all notebooks before the ratio, so long notebooks weigh more.
    """
    if len(truth) != len(predictions):
        raise ValueError(f"truth has {len(truth)} rows, predictions {len(predictions)}")
    inversions = pairs = 0
    for row, (t, p) in enumerate(zip(truth, predictions, strict=True)):
        true_order = _tokens(t, f"truth row {row}")
        ranks = _ranks_of(true_order, _tokens(p, f"prediction row {row}"), f"row {row}")
        inversions += count_inversions(ranks)
        pairs += len(true_order) * (len(true_order) - 1)
    if not pairs:
        raise ValueError("no row has two or more ids: Kendall tau is undefined")
    return 1 - 4 * inversions / pairs


def mean_order_spearman(truth: Sequence[Any], predictions: Sequence[Any]) -> float:
    """Mean over rows of the Spearman correlation between the predicted and true positions of the same ids.

    Source: Kaggle draper-satellite-image-chronology: each set's five images are ordered by day, the score is
    the Spearman rank correlation between the predicted and true order, averaged over sets. Orders are
    permutations, so rho = 1 - 6 sum d^2 / (n (n^2 - 1)) exactly.
    """
    if len(truth) != len(predictions):
        raise ValueError(f"truth has {len(truth)} rows, predictions {len(predictions)}")
    if not len(truth):
        raise ValueError("no rows to score")
    scores = []
    for row, (t, p) in enumerate(zip(truth, predictions, strict=True)):
        true_order = _tokens(t, f"truth row {row}")
        if len(true_order) < 2:
            raise ValueError(f"row {row}: Spearman correlation needs at least two ids")
        ranks = np.asarray(_ranks_of(true_order, _tokens(p, f"prediction row {row}"), f"row {row}"), dtype=float)
        n = len(ranks)
        scores.append(1 - 6 * float(np.sum((ranks - np.arange(n)) ** 2)) / (n * (n * n - 1)))
    return float(np.mean(scores))


def lwlrap(y_true: Any, y_score: Any) -> float:
    """Label-weighted label-ranking average precision (Freesound): the precision of every (clip, true label) pair.

    Source: Kaggle freesound-audio-tagging-2019 and its host's Colab (Dan Ellis): for each clip and each of its
    true labels, the fraction of true labels among the labels scored at least as high; averaged over all
    (clip, label) pairs, so each class weighs by its frequency. Ties count pessimistically, as in
    scikit-learn's label_ranking_average_precision_score (the host's argsort broke ties arbitrarily).
    y_true is an (n, k) 0/1 matrix, y_score (n, k) finite scores; clips without a true label are skipped.
    """
    t, s = np.asarray(y_true, dtype=float), np.asarray(y_score, dtype=float)
    if t.ndim != 2 or t.shape != s.shape:
        raise ValueError(f"y_true and y_score must be the same (n, k) shape, got {t.shape} and {s.shape}")
    if ((t != 0) & (t != 1)).any():
        raise ValueError(f"y_true row {int(np.argwhere((t != 0) & (t != 1))[0][0])} is not 0/1")
    if not np.isfinite(s).all():
        raise ValueError(f"y_score row {int(np.argwhere(~np.isfinite(s))[0][0])} is not finite")
    truth = t.astype(bool)
    if not truth.any():
        raise ValueError("y_true has no true label: lwlrap is undefined")
    total = 0.0
    for scores, labels in zip(s, truth, strict=True):
        for score in scores[labels]:
            at_least = scores >= score
            total += (at_least & labels).sum() / at_least.sum()
    return float(total / truth.sum())
