"""Parity and edge-case tests for graders.weighted_metrics (row weights, masks, groups, identity subgroups)."""

import itertools
import math

import numpy as np
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import f1_score, mean_absolute_error, roc_auc_score

from graders.weighted_metrics import (
    EARTH_RADIUS_M,
    FLAVOURS_TPR_THRESHOLDS,
    bias_auc,
    group_log_mae,
    label_weighted_log_loss,
    masked_mae,
    mass_cvm,
    phone_percentile_error,
    probabilistic_f1,
    row_weighted_mae,
    weighted_ks_distance,
    weighted_macro_recall,
    weighted_tpr_auc,
)


def _pair_auc(y: list[int], s: list[float]) -> float:
    """ROC AUC by counting (positive, negative) pairs, ties half (Mann-Whitney)."""
    positives = [v for v, t in zip(s, y, strict=True) if t]
    negatives = [v for v, t in zip(s, y, strict=True) if not t]
    wins = sum((p > n) + 0.5 * (p == n) for p, n in itertools.product(positives, negatives))
    return wins / (len(positives) * len(negatives))


def test_row_weighted_mae() -> None:
    # Walmart: holiday weeks weigh 5. |10-12|*1 + |20-10|*5 + |5-5|*1 = 52 over weight 7.
    assert row_weighted_mae([10, 20, 5], [12, 10, 5], [1, 5, 1]) == pytest.approx(52 / 7)
    rng = np.random.default_rng(0)
    t, p, w = rng.normal(size=50), rng.normal(size=50), rng.uniform(0, 3, 50)
    assert row_weighted_mae(t, p, w) == pytest.approx(mean_absolute_error(t, p, sample_weight=w))
    with pytest.raises(ValueError, match="weights row 1 is negative"):
        row_weighted_mae([1, 2], [1, 2], [1, -1])
    with pytest.raises(ValueError, match="sum to zero"):
        row_weighted_mae([1, 2], [1, 2], [0, 0])
    with pytest.raises(ValueError, match="row counts differ"):
        row_weighted_mae([1, 2], [1, 2], [1])
    with pytest.raises(ValueError, match="y_pred row 1 is not a finite number"):
        row_weighted_mae([1, 2], [1, float("nan")], [1, 1])


def test_masked_mae_scores_only_inspiratory_rows() -> None:
    # u_out == 0 rows (scored = 1) only: |1-2| and |3-3|; the expiratory row's error of 100 is ignored.
    assert masked_mae([1, 3, 5], [2, 3, 105], [1, 1, 0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no row is scored"):
        masked_mae([1], [1], [0])
    with pytest.raises(ValueError, match="scored row 0 is not 0 or 1"):
        masked_mae([1], [1], [2])


def test_group_log_mae() -> None:
    # Type 1JHC: MAE 1; type 2JHH: MAE 0.5; type 3JHN: MAE 0, floored at 1e-9.
    y = [1.0, 2.0, 3.0, 4.0, 5.0]
    p = [2.0, 1.0, 3.5, 4.5, 5.0]
    groups = ["1JHC", "1JHC", "2JHH", "2JHH", "3JHN"]
    expected = (math.log(1.0) + math.log(0.5) + math.log(1e-9)) / 3
    assert group_log_mae(y, p, groups) == pytest.approx(expected)
    # Pooled MAE would be 0.6 whatever the groups; the score depends on them.
    assert group_log_mae(y, p, ["a"] * 5) == pytest.approx(math.log(0.6))


def test_weighted_tpr_auc_hand_computed() -> None:
    # Scores rank positive, negative, positive, negative: ROC (0,0) (0,.5) (.5,.5) (.5,1) (1,1), AUC 0.75.
    # TPR band [0, .4] is full (.4) everywhere after x = 0: area .4, weight 2. Band [.4, 1]: .1 on [0, .5] and
    # .6 on [.5, 1]: area .35, weight 1. Normalized: (0.8 + 0.35) / (0.8 + 0.6).
    y, s = [1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]
    assert weighted_tpr_auc(y, s) == pytest.approx(1.15 / 1.4)
    # All scores tied: the ROC is the diagonal, crossing TPR 0.4 mid-segment. Band [0, .4]: .08 + .6 * .4 = .32;
    # band [.4, 1]: integral of x - .4 over [.4, 1] = .18.
    assert weighted_tpr_auc([1, 0, 1, 0], [0.5] * 4) == pytest.approx((2 * 0.32 + 0.18) / 1.4)
    assert weighted_tpr_auc([0, 1], [0.2, 0.9]) == pytest.approx(1.0)
    assert weighted_tpr_auc([1, 0], [0.2, 0.9]) == pytest.approx(0.0)


def test_weighted_tpr_auc_with_equal_weights_is_roc_auc() -> None:
    rng = np.random.default_rng(5)
    for _ in range(5):
        y = rng.integers(0, 2, 200)
        s = np.round(rng.normal(size=200) + y, 1)  # rounded: many ties, so sloped ROC segments
        assert weighted_tpr_auc(y, s, weights=(1, 1)) == pytest.approx(roc_auc_score(y, s))
        assert weighted_tpr_auc(y, s, tpr_thresholds=FLAVOURS_TPR_THRESHOLDS, weights=(3,) * 5) == pytest.approx(
            roc_auc_score(y, s)
        )
        # Weighting the low-TPR band more moves the score towards that band's own normalized area.
        assert 0 <= weighted_tpr_auc(y, s) <= 1
    with pytest.raises(ValueError, match="one class only"):
        weighted_tpr_auc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="tpr_thresholds"):
        weighted_tpr_auc([0, 1], [0.1, 0.2], tpr_thresholds=(0, 0.5), weights=(1, 1))


def test_bias_auc_against_pair_counts() -> None:
    rng = np.random.default_rng(21)
    n = 60
    target = rng.uniform(0, 1, n)
    score = np.clip(target + rng.normal(0, 0.3, n), 0, 1).round(2)
    identities = rng.uniform(0, 1, (n, 2))
    identities[::7, 1] = np.nan  # unannotated: not in the subgroup
    y = (target >= 0.5).astype(int).tolist()
    s = score.tolist()
    families: dict[str, list[float]] = {"sub": [], "bpsn": [], "bnsp": []}
    for j in range(2):
        inside = [bool(v >= 0.5) for v in np.nan_to_num(identities[:, j])]
        keep = {
            "sub": [i for i in range(n) if inside[i]],
            "bpsn": [i for i in range(n) if (inside[i] and not y[i]) or (not inside[i] and y[i])],
            "bnsp": [i for i in range(n) if (inside[i] and y[i]) or (not inside[i] and not y[i])],
        }
        for name, rows in keep.items():
            families[name].append(_pair_auc([y[i] for i in rows], [s[i] for i in rows]))
    power_means = [(sum(v**-5 for v in values) / len(values)) ** (-1 / 5) for values in families.values()]
    expected = 0.25 * _pair_auc(y, s) + 0.25 * sum(power_means)
    assert bias_auc(target, score, identities) == pytest.approx(expected)


def test_bias_auc_errors() -> None:
    with pytest.raises(ValueError, match="subgroup women holds no rows"):
        bias_auc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8], [[0], [0], [0], [0]], names=["women"])
    with pytest.raises(ValueError, match="identities must be"):
        bias_auc([0, 1], [0.1, 0.9], [0, 1])


def test_label_weighted_log_loss_hand_computed() -> None:
    # Two studies, columns patient_overall, C1 (a two-column version of the RSNA 2022 weights: 7/14 and 1/2).
    y = [[1, 0], [0, 0]]
    p = [[0.8, 0.3], [0.1, 0.2]]
    study_0 = (14 * -math.log(0.8) + 1 * -math.log(0.7)) / 15
    study_1 = (7 * -math.log(0.9) + 1 * -math.log(0.8)) / 8
    got = label_weighted_log_loss(y, p, negative_weights=(7, 1), positive_weights=(14, 2))
    assert got == pytest.approx((study_0 + study_1) / 2)
    # The default is the 8-column RSNA layout; a perfect answer scores ~0 after clipping.
    perfect = label_weighted_log_loss([[1, 0, 1, 0, 0, 0, 0, 0]], [[1, 0, 1, 0, 0, 0, 0, 0]])
    assert 0 <= perfect < 1e-12
    with pytest.raises(ValueError, match="need 2 negative and positive weights"):
        label_weighted_log_loss(y, p)
    with pytest.raises(ValueError, match="y_pred row 0 is outside"):
        label_weighted_log_loss(y, [[1.2, 0.3], [0.1, 0.2]], negative_weights=(7, 1), positive_weights=(14, 2))


def test_probabilistic_f1() -> None:
    # cTP = .9 + .6, cFP = .2 + .1: P = 1.5 / 1.8, R = 1.5 / 2.
    precision, recall = 1.5 / 1.8, 0.75
    expected = 2 * precision * recall / (precision + recall)
    assert probabilistic_f1([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.1]) == pytest.approx(expected)
    # On hard 0/1 predictions pF1 is the ordinary F1.
    rng = np.random.default_rng(2)
    y, hard = rng.integers(0, 2, 40), rng.integers(0, 2, 40)
    assert probabilistic_f1(y, hard) == pytest.approx(f1_score(y, hard))
    assert probabilistic_f1([1, 0], [0.0, 0.0]) == 0.0
    with pytest.raises(ValueError, match="no positive"):
        probabilistic_f1([0, 0], [0.3, 0.1])


def test_weighted_macro_recall() -> None:
    # Root: classes 1 (2 rows, 1 right) and 2 (1 row, right): macro recall (0.5 + 1) / 2 = 0.75.
    # Vowel: all right: 1. Consonant: class 0 (3 rows, 2 right), predicted class 9 never true: recall of 9
    # is 0 and counts, as scikit-learn does: (2/3 + 0) / 2 = 1/3.
    y = [[1, 0, 0], [1, 1, 0], [2, 1, 0]]
    p = [[1, 0, 0], [2, 1, 0], [2, 1, 9]]
    assert weighted_macro_recall(y, p) == pytest.approx((2 * 0.75 + 1 + 1 / 3) / 4)
    with pytest.raises(ValueError, match="need 3 non-negative weights"):
        weighted_macro_recall(y, p, weights=(1, 1))


def test_phone_percentile_error() -> None:
    # Along a meridian the haversine distance is R * dlat. Phone A errors 0..4 m: p50 = 2, p95 = 3.8
    # (linear interpolation); phone B one error of 10 m: p50 = p95 = 10. Score (2.9 + 10) / 2.
    metres = [0, 1, 2, 3, 4, 10]
    truth = [[10.0, 20.0]] * 6
    guesses = [[10.0 + math.degrees(d / EARTH_RADIUS_M), 20.0] for d in metres]
    phones = ["a"] * 5 + ["b"]
    assert phone_percentile_error(truth, guesses, phones) == pytest.approx((2.9 + 10) / 2, abs=1e-6)
    with pytest.raises(ValueError, match="latitude outside"):
        phone_percentile_error([[91.0, 0.0]], [[0.0, 0.0]], ["a"])


def test_weighted_ks_distance_matches_scipy() -> None:
    rng = np.random.default_rng(41)
    data, simulated = rng.normal(0, 1, 80).round(1), rng.normal(0.3, 1, 120).round(1)
    assert weighted_ks_distance(data, simulated, np.ones(80), np.ones(120)) == pytest.approx(
        ks_2samp(data, simulated).statistic
    )
    # Integer weights are repeated events; the overall scale of each weight vector does not matter.
    wd, ws = rng.integers(1, 4, 80), rng.integers(1, 4, 120)
    expected = ks_2samp(np.repeat(data, wd), np.repeat(simulated, ws)).statistic
    assert weighted_ks_distance(data, simulated, wd * 0.1, ws * 7.0) == pytest.approx(expected)
    with pytest.raises(ValueError, match="data_weights must be non-negative"):
        weighted_ks_distance([0.1], [0.2], [-1], [1])


def test_mass_cvm_hand_computed() -> None:
    # Ranks by mass 0, 1, 2, 3 (uniform CDF .25 .5 .75 1); windows of 2 every event: [0, 1], [1, 2], [2, 3]
    # with CDFs (.5 1 1 1), (0 .5 1 1), (0 0 .5 1): mean squared gaps 0.09375, 0.03125, 0.09375.
    expected = (0.09375 + 0.03125 + 0.09375) / 3
    assert mass_cvm([0.1, 0.2, 0.3, 0.4], [1.0, 2.0, 3.0, 4.0], n_neighbours=2, step=1) == pytest.approx(expected)
    # Only the order by mass matters: shuffling rows together changes nothing.
    assert mass_cvm([0.3, 0.1, 0.4, 0.2], [3.0, 1.0, 4.0, 2.0], n_neighbours=2, step=1) == pytest.approx(expected)
    # step 2 keeps windows [0, 1] and [2, 3].
    assert mass_cvm([0.1, 0.2, 0.3, 0.4], [1.0, 2.0, 3.0, 4.0], n_neighbours=2, step=2) == pytest.approx(0.09375)
    with pytest.raises(ValueError, match="n_neighbours"):
        mass_cvm([0.1, 0.2], [1.0, 2.0], n_neighbours=3)


def test_probabilistic_f1_clips_scores_above_one() -> None:
    assert probabilistic_f1([1, 0], [3.0, 0.0]) == probabilistic_f1([1, 0], [1.0, 0.0]) == 1.0


def test_weighted_macro_recall_reads_labels_by_text() -> None:
    assert weighted_macro_recall([[3, "a", 1]], [[3.0, "a", "1"]]) == 1.0
