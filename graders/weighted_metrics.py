"""Metrics that need more than y_true and y_pred per row: row weights, row masks, groups or identity columns.

Self-contained (stdlib, numpy, scikit-learn) so that a task's grader.py can embed this source verbatim, as it does
graders/metrics.py; scikit-learn is imported inside the functions that use it. Every function takes row-aligned
arrays; bad shapes, non-finite values and undefined scores raise ValueError naming the argument and row.
"""

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

KAGGLE_EPS = 1e-15
ALASKA2_TPR_THRESHOLDS = (0.0, 0.4, 1.0)
ALASKA2_WEIGHTS = (2.0, 1.0)
# Flavours of Physics: TPR bands 0-0.2-0.4-0.6-0.8-1 weighted 2, 1.5, 1, 0.5, 0.
FLAVOURS_TPR_THRESHOLDS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
FLAVOURS_WEIGHTS = (2.0, 1.5, 1.0, 0.5, 0.0)
# RSNA 2022 cervical spine: columns patient_overall, C1..C7; weights for a negative and a positive label.
CERVICAL_NEGATIVE_WEIGHTS = (7.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
CERVICAL_POSITIVE_WEIGHTS = (14.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0)
EARTH_RADIUS_M = 6_371_000.0


def _numbers(values: Any, name: str, *, ndim: int = 1) -> np.ndarray:
    """A finite float array of the given number of dimensions."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numbers") from None
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(f"{name} row {int(np.argwhere(bad)[0][0])} is not a finite number")
    if not len(array):
        raise ValueError(f"{name} is empty")
    return array


def _same_rows(**arrays: np.ndarray) -> None:
    """All arrays have the same number of rows."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"row counts differ: {lengths}")


def _binary(values: Any, name: str, *, ndim: int = 1) -> np.ndarray:
    """A 0/1 array."""
    array = _numbers(values, name, ndim=ndim)
    bad = (array != 0) & (array != 1)
    if bad.any():
        raise ValueError(f"{name} row {int(np.argwhere(bad)[0][0])} is not 0 or 1")
    return array


def _unit(values: Any, name: str, *, ndim: int = 1) -> np.ndarray:
    """An array of probabilities in [0, 1]."""
    array = _numbers(values, name, ndim=ndim)
    bad = (array < 0) | (array > 1)
    if bad.any():
        raise ValueError(f"{name} row {int(np.argwhere(bad)[0][0])} is outside [0, 1]")
    return array


def row_weighted_mae(y_true: Any, y_pred: Any, weights: Any) -> float:
    """Sum of w_i |y_i - p_i| over the sum of w_i (Kaggle WMAE: Walmart, Winton, Benchmark Bond).

    Source: Kaggle's evaluation pages of walmart-recruiting-store-sales-forecasting (w = 5 on holiday weeks,
    else 1), the-winton-stock-market-challenge (Weight_Intraday / Weight_Daily per row) and
    benchmark-bond-trade-price-challenge (the `weight` column).
    """
    t, p, w = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred"), _numbers(weights, "weights")
    _same_rows(y_true=t, y_pred=p, weights=w)
    if (w < 0).any():
        raise ValueError(f"weights row {int(np.flatnonzero(w < 0)[0])} is negative")
    if w.sum() <= 0:
        raise ValueError("weights sum to zero: the weighted mean is undefined")
    return float(np.sum(w * np.abs(t - p)) / w.sum())


def masked_mae(y_true: Any, y_pred: Any, scored: Any) -> float:
    """MAE over the rows where `scored` is true (Ventilator: rows with u_out == 0, the inspiratory phase).

    Source: Kaggle ventilator-pressure-prediction: "the score is the mean absolute error between the predicted
    and actual pressures during the inspiratory phase of each breath"; the expiratory phase is not scored.
    """
    t, p = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred")
    mask = _binary(scored, "scored").astype(bool)
    _same_rows(y_true=t, y_pred=p, scored=mask)
    if not mask.any():
        raise ValueError("no row is scored: the masked MAE is undefined")
    return float(np.mean(np.abs(t[mask] - p[mask])))


def group_log_mae(y_true: Any, y_pred: Any, groups: Sequence[Any], *, floor: float = 1e-9) -> float:
    """Mean over groups of log(max(MAE_group, floor)) (CHAMPS: the 8 scalar coupling types).

    Source: Kaggle champs-scalar-coupling: score = 1/T sum_t log(1/n_t sum |y - y_hat|), floored at 1e-9.
    """
    t, p = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred")
    labels = np.asarray(groups, dtype=object)
    _same_rows(y_true=t, y_pred=p, groups=labels)
    if not (isinstance(floor, int | float) and floor > 0):
        raise ValueError(f"floor must be a positive number, got {floor!r}")
    keys = np.array([str(g) for g in labels])
    errors = [np.mean(np.abs(t[keys == key] - p[keys == key])) for key in np.unique(keys)]
    return float(np.mean(np.log(np.maximum(errors, floor))))


def _band_area(x0: float, y0: float, x1: float, y1: float, low: float, high: float) -> float:
    """Exact integral over [x0, x1] of clip(y(x) - low, 0, high - low) for the segment (x0, y0)-(x1, y1)."""
    if x1 == x0:
        return 0.0
    height = high - low

    def antiderivative(y: float) -> float:
        """Integral of clip(u - low, 0, height) du from -inf to y."""
        if y <= low:
            return 0.0
        if y <= high:
            return (y - low) ** 2 / 2
        return height**2 / 2 + height * (y - high)

    if y1 == y0:
        return (x1 - x0) * min(max(y0 - low, 0.0), height)
    return (x1 - x0) * (antiderivative(y1) - antiderivative(y0)) / (y1 - y0)


def weighted_tpr_auc(
    y_true: Any,
    y_score: Any,
    *,
    tpr_thresholds: Sequence[float] = ALASKA2_TPR_THRESHOLDS,
    weights: Sequence[float] = ALASKA2_WEIGHTS,
) -> float:
    """ROC AUC with the area in each TPR band weighted, normalized to 1 for a perfect ranking (ALASKA2, Flavours).

    Source: Kaggle alaska2-image-steganalysis ("the ROC curve is split by TPR into [0, 0.4] weighted 2 and
    [0.4, 1] weighted 1; the total area is normalized by the sum of weights") and flavours-of-physics (bands
    0.2 apart weighted 2, 1.5, 1, 0.5, 0). The band areas are integrated exactly over the piecewise-linear ROC
    curve; the hosts' published scripts clip TPR at the curve's vertices only (or pad the band with 100
    points), which differs by at most the area of one segment per band. Weights (1, 1) give the plain ROC AUC.
    """
    from sklearn.metrics import roc_curve

    t, s = _binary(y_true, "y_true"), _numbers(y_score, "y_score")
    _same_rows(y_true=t, y_score=s)
    if t.min() == t.max():
        raise ValueError("y_true holds one class only: ROC AUC is undefined")
    bounds, w = np.asarray(tpr_thresholds, dtype=float), np.asarray(weights, dtype=float)
    if len(bounds) != len(w) + 1 or bounds[0] != 0 or bounds[-1] != 1 or (np.diff(bounds) <= 0).any():
        raise ValueError("tpr_thresholds must rise from 0 to 1 with one more entry than weights")
    if (w < 0).any() or not np.dot(np.diff(bounds), w) > 0:
        raise ValueError("weights must be non-negative with a positive weighted total")
    fpr, tpr, _ = roc_curve(t, s, drop_intermediate=False)
    area = 0.0
    for low, high, weight in zip(bounds[:-1], bounds[1:], w, strict=True):
        band = sum(_band_area(fpr[i], tpr[i], fpr[i + 1], tpr[i + 1], low, high) for i in range(len(fpr) - 1))
        area += weight * band
    return float(area / np.dot(np.diff(bounds), w))


def _auc(t: np.ndarray, s: np.ndarray, what: str) -> float:
    """ROC AUC of one subset, with an error naming the subset when it holds one class only."""
    from sklearn.metrics import roc_auc_score

    if not len(t) or t.min() == t.max():
        raise ValueError(f"{what} holds {'no rows' if not len(t) else 'one class only'}: its AUC is undefined")
    return float(roc_auc_score(t, s))


def bias_auc(
    y_true: Any,
    y_score: Any,
    identities: Any,
    *,
    power: float = -5.0,
    overall_weight: float = 0.25,
    threshold: float = 0.5,
    names: Sequence[str] | None = None,
) -> float:
    """Jigsaw Unintended Bias: w0 AUC + (1 - w0)/3 sum over {subgroup, BPSN, BNSP} of power means of AUCs.

    Source: Kaggle jigsaw-unintended-bias-in-toxicity-classification: M_p(m) = (mean_s m_s^p)^(1/p), p = -5,
    score = 0.25 AUC_overall + 0.25 (M_p(subgroup AUC) + M_p(BPSN AUC) + M_p(BNSP AUC)). The target and each
    identity column (n, k) are binarized at >= 0.5; a missing (NaN) identity is "not mentioned", as in the
    host's benchmark kernel. BPSN = background positives with subgroup negatives, BNSP the converse.
    """
    target = _numbers(y_true, "y_true") >= threshold
    s = _numbers(y_score, "y_score")
    ident = np.asarray(identities, dtype=float)
    if ident.ndim != 2 or not ident.shape[1]:
        raise ValueError(f"identities must be (n, k) with k >= 1, got shape {ident.shape}")
    _same_rows(y_true=target, y_score=s, identities=ident)
    # NaN >= 0.5 is False: an unannotated comment does not mention the identity.
    member = np.nan_to_num(ident, nan=0.0) >= threshold
    labels = list(names) if names is not None else [f"identity column {j}" for j in range(ident.shape[1])]
    if len(labels) != ident.shape[1]:
        raise ValueError(f"got {len(labels)} names for {ident.shape[1]} identity columns")
    if power == 0 or not math.isfinite(power):
        raise ValueError(f"power must be a finite non-zero number, got {power!r}")
    if not 0 <= overall_weight <= 1:
        raise ValueError(f"overall_weight must be in [0, 1], got {overall_weight!r}")
    y = target.astype(int)
    families: dict[str, list[float]] = {"subgroup": [], "bpsn": [], "bnsp": []}
    for j, name in enumerate(labels):
        inside = member[:, j]
        families["subgroup"].append(_auc(y[inside], s[inside], f"subgroup {name}"))
        bpsn = (inside & ~target) | (~inside & target)
        families["bpsn"].append(_auc(y[bpsn], s[bpsn], f"BPSN set of {name}"))
        bnsp = (inside & target) | (~inside & ~target)
        families["bnsp"].append(_auc(y[bnsp], s[bnsp], f"BNSP set of {name}"))
    means = [float(np.mean(np.power(values, power)) ** (1 / power)) for values in families.values()]
    overall = _auc(y, s, "the whole test set")
    return float(overall_weight * overall + (1 - overall_weight) * np.mean(means))


def label_weighted_log_loss(
    y_true: Any,
    y_pred: Any,
    *,
    negative_weights: Sequence[float] = CERVICAL_NEGATIVE_WEIGHTS,
    positive_weights: Sequence[float] = CERVICAL_POSITIVE_WEIGHTS,
    eps: float = KAGGLE_EPS,
) -> float:
    """Binary log loss with a weight per (column, true label), normalized per row, then averaged over rows.

    Source: Kaggle rsna-2022-cervical-spine-fracture-detection (discussions 340392 and 341854, the host's
    clarification): columns patient_overall, C1..C7 weighted 7/14 and 1/2 for negative/positive labels; each
    study's loss is sum_j w_j L_j / sum_j w_j, and the score is the mean over studies. Predictions are clipped
    to [eps, 1 - eps].
    """
    t, p = _binary(y_true, "y_true", ndim=2), _unit(y_pred, "y_pred", ndim=2)
    if t.shape != p.shape:
        raise ValueError(f"y_true has shape {t.shape}, y_pred {p.shape}")
    negative, positive = np.asarray(negative_weights, dtype=float), np.asarray(positive_weights, dtype=float)
    if negative.shape != (t.shape[1],) or positive.shape != (t.shape[1],):
        raise ValueError(f"need {t.shape[1]} negative and positive weights, one per column")
    if (negative <= 0).any() or (positive <= 0).any():
        raise ValueError("weights must be positive")
    p = np.clip(p, eps, 1 - eps)
    loss = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    w = np.where(t == 1, positive, negative)
    return float(np.mean((w * loss).sum(axis=1) / w.sum(axis=1)))


def probabilistic_f1(y_true: Any, y_score: Any, *, beta: float = 1.0) -> float:
    """Probabilistic F-beta: predicted probabilities as soft true/false positive counts (RSNA breast cancer pF1).

    Source: Kaggle rsna-breast-cancer-detection and its host's notebook: cTP = sum p over positives, cFP = sum p
    over negatives, precision = cTP / (cTP + cFP), recall = cTP / #positives,
    pF_beta = (1 + b2) P R / (b2 P + R), 0 when P + R is 0. Scores above 1 are clipped to 1, as there.
    """
    t, s = _binary(y_true, "y_true"), _numbers(y_score, "y_score")
    _same_rows(y_true=t, y_score=s)
    if (s < 0).any():
        raise ValueError(f"y_score row {int(np.flatnonzero(s < 0)[0])} is negative")
    if not t.any():
        raise ValueError("y_true has no positive: recall is undefined")
    s = np.minimum(s, 1.0)
    ctp, cfp = float(s[t == 1].sum()), float(s[t == 0].sum())
    if ctp + cfp == 0:
        return 0.0
    precision, recall = ctp / (ctp + cfp), ctp / float(t.sum())
    b2 = beta * beta
    return (1 + b2) * precision * recall / (b2 * precision + recall) if precision + recall else 0.0


def _label_key(value: Any) -> str:
    """A class label as text, so that 3, 3.0 and "3" name the same class."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def weighted_macro_recall(y_true: Any, y_pred: Any, *, weights: Sequence[float] = (2.0, 1.0, 1.0)) -> float:
    """Weighted mean over label columns of scikit-learn's macro recall (Bengali.AI: root 2, vowel 1, consonant 1).

    Source: Kaggle bengaliai-cv19: recall_score(average="macro") for grapheme_root, vowel_diacritic and
    consonant_diacritic, then np.average with weights [2, 1, 1]. As in scikit-learn, a class that is only
    predicted counts with recall 0 in its column's macro mean.
    """
    from sklearn.metrics import recall_score

    t, p = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    if t.ndim != 2 or t.shape != p.shape or not t.size:
        raise ValueError(f"y_true and y_pred must be the same (n, k) shape, got {t.shape} and {p.shape}")
    w = np.asarray(weights, dtype=float)
    if w.shape != (t.shape[1],) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"need {t.shape[1]} non-negative weights with a positive sum, got {list(weights)!r}")
    recalls = [
        recall_score(
            [_label_key(v) for v in t[:, j]], [_label_key(v) for v in p[:, j]], average="macro", zero_division=0
        )
        for j in range(t.shape[1])
    ]
    return float(np.average(recalls, weights=w))


def _haversine_m(true_deg: np.ndarray, pred_deg: np.ndarray, radius: float) -> np.ndarray:
    """Great-circle distances between (n, 2) latitude, longitude pairs in degrees."""
    lat_t, lon_t = np.radians(true_deg[:, 0]), np.radians(true_deg[:, 1])
    lat_p, lon_p = np.radians(pred_deg[:, 0]), np.radians(pred_deg[:, 1])
    h = np.sin((lat_p - lat_t) / 2) ** 2 + np.cos(lat_t) * np.cos(lat_p) * np.sin((lon_p - lon_t) / 2) ** 2
    return 2 * radius * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def phone_percentile_error(y_true: Any, y_pred: Any, phones: Sequence[Any], *, radius: float = EARTH_RADIUS_M) -> float:
    """Mean over phones of the mean of the 50th and 95th percentile haversine errors (Smartphone Decimeter).

    Source: Kaggle smartphone-decimeter-2022: per phone (trip), the 50th and 95th percentile of horizontal
    distance errors in metres are averaged, and the score is the mean over phones. Percentiles interpolate
    linearly, as numpy's default in the host's script. y_true and y_pred are (n, 2) latitude, longitude degrees.
    """
    t, p = _numbers(y_true, "y_true", ndim=2), _numbers(y_pred, "y_pred", ndim=2)
    if t.shape[1] != 2 or p.shape != t.shape:
        raise ValueError(f"y_true and y_pred must be (n, 2) latitude, longitude, got {t.shape} and {p.shape}")
    keys = np.array([str(phone) for phone in phones])
    _same_rows(y_true=t, phones=keys)
    for array, name in ((t, "y_true"), (p, "y_pred")):
        bad = np.abs(array[:, 0]) > 90
        if bad.any():
            raise ValueError(f"{name} row {int(np.flatnonzero(bad)[0])} has a latitude outside [-90, 90]")
    errors = _haversine_m(t, p, radius)
    per_phone = [np.mean(np.percentile(errors[keys == key], [50, 95])) for key in np.unique(keys)]
    return float(np.mean(per_phone))


def _weighted_cdf(values: np.ndarray, weights: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Weighted share of `values` at or below each point."""
    order = np.argsort(values, kind="stable")
    cumulative = np.concatenate([[0.0], np.cumsum(weights[order])])
    return cumulative[np.searchsorted(values[order], points, side="right")] / weights.sum()


def weighted_ks_distance(data_scores: Any, simulated_scores: Any, data_weights: Any, simulated_weights: Any) -> float:
    """Weighted two-sample Kolmogorov-Smirnov distance between two score distributions (Flavours agreement test).

    Source: Kaggle flavours-of-physics-kernels-only, the hosts' evaluation_metric.compute_ks on
    check_agreement.csv: the largest gap between the weighted empirical CDFs of the classifier's scores on real
    data (signal 0) and on simulation (signal 1), each weight vector normalized to sum 1. A submission passes
    when it is below 0.09. With unit weights it is scipy.stats.ks_2samp's statistic.
    """
    a, b = _numbers(data_scores, "data_scores"), _numbers(simulated_scores, "simulated_scores")
    wa, wb = _numbers(data_weights, "data_weights"), _numbers(simulated_weights, "simulated_weights")
    _same_rows(data_scores=a, data_weights=wa)
    _same_rows(simulated_scores=b, simulated_weights=wb)
    for w, name in ((wa, "data_weights"), (wb, "simulated_weights")):
        if (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"{name} must be non-negative with a positive sum")
    points = np.unique(np.concatenate([a, b]))
    cdf_a, cdf_b = _weighted_cdf(a, wa, points), _weighted_cdf(b, wb, points)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def mass_cvm(scores: Any, masses: Any, *, n_neighbours: int = 200, step: int = 50) -> float:
    """Mean Cramer-von Mises distance between the score ranks of mass windows and of all events (Flavours).

    Source: Kaggle flavours-of-physics-kernels-only, the hosts' evaluation_metric.compute_cvm on
    check_correlation.csv: events are sorted by mass, scores replaced by their rank (ties in input order); for
    every window of `n_neighbours` consecutive events, starting every `step` events, the mean squared gap
    between the window's CDF of ranks and the uniform CDF of all ranks; the score is the mean over windows. A
    submission passes when it is below 0.002.
    """
    s, m = _numbers(scores, "scores"), _numbers(masses, "masses")
    _same_rows(scores=s, masses=m)
    if not (isinstance(n_neighbours, int) and isinstance(step, int) and 1 <= n_neighbours <= len(s) and step >= 1):
        raise ValueError(f"need 1 <= n_neighbours <= {len(s)} events and step >= 1, got {n_neighbours}, {step}")
    by_mass = s[np.argsort(m, kind="stable")]
    ranks = np.argsort(np.argsort(by_mass, kind="stable"), kind="stable")
    total = len(ranks)
    uniform = np.arange(1, total + 1) / total
    distances = []
    for start in range(0, total - n_neighbours + 1, step):
        window_cdf = np.cumsum(np.bincount(ranks[start : start + n_neighbours], minlength=total)) / n_neighbours
        distances.append(np.mean((uniform - window_cdf) ** 2))
    return float(np.mean(distances))
