"""Parity and edge-case tests for graders.ranking_metrics (AI4Code Kendall tau, order Spearman, lwlrap)."""

import itertools

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr
from sklearn.metrics import label_ranking_average_precision_score

from graders.ranking_metrics import count_inversions, lwlrap, mean_order_spearman, pooled_kendall_tau


def test_count_inversions_matches_pair_count() -> None:
    rng = np.random.default_rng(1)
    for n in (0, 1, 2, 7, 50):
        values = rng.permutation(n).tolist()
        brute = sum(values[i] > values[j] for i, j in itertools.combinations(range(n), 2))
        assert count_inversions(values) == brute


def test_pooled_kendall_tau_matches_scipy_for_one_notebook() -> None:
    rng = np.random.default_rng(4)
    cells = [f"c{i:02d}" for i in range(30)]
    predicted = [cells[i] for i in rng.permutation(30)]
    true_positions = [cells.index(c) for c in predicted]
    expected = kendalltau(range(30), true_positions).statistic
    assert pooled_kendall_tau([" ".join(cells)], [" ".join(predicted)]) == pytest.approx(expected)


def test_pooled_kendall_tau_pools_over_notebooks() -> None:
    # Notebook 1: 4 cells, one adjacent swap (1 inversion), 4*3 = 12 ordered pairs. Notebook 2: 2 cells
    # reversed (1 inversion), 2 pairs. K = 1 - 4 * 2 / 14, not the mean of the per-notebook taus (2/3 and -1).
    truth = ["a b c d", "x y"]
    guesses = ["a c b d", "y x"]
    assert pooled_kendall_tau(truth, guesses) == pytest.approx(1 - 8 / 14)
    assert pooled_kendall_tau(truth, truth) == 1.0
    assert pooled_kendall_tau(["a b c"], ["c b a"]) == -1.0


def test_pooled_kendall_tau_rejects_non_permutations() -> None:
    with pytest.raises(ValueError, match=r"row 1: .*missing \['y'\]"):
        pooled_kendall_tau(["a b", "x y"], ["a b", "x z"])
    with pytest.raises(ValueError, match=r"row 0: .*missing \['c'\]"):
        pooled_kendall_tau(["a b c"], ["a a b"])
    with pytest.raises(ValueError, match=r"row 0: .*\(4 ids for 3\)"):
        pooled_kendall_tau(["a b c"], ["a b c c"])
    with pytest.raises(ValueError, match=r"row 0: .*unknown \['z'\]"):
        pooled_kendall_tau(["a b"], ["a z"])
    with pytest.raises(ValueError, match="row 0: the true order repeats an id"):
        pooled_kendall_tau(["a a"], ["a a"])
    with pytest.raises(ValueError, match="undefined"):
        pooled_kendall_tau(["a"], ["a"])


def test_mean_order_spearman_matches_scipy() -> None:
    rng = np.random.default_rng(8)
    truth, guesses, expected = [], [], []
    for s in range(10):
        images = [f"set{s}_{d}" for d in range(1, 6)]
        predicted = [images[i] for i in rng.permutation(5)]
        truth.append(" ".join(images))
        guesses.append(" ".join(predicted))
        expected.append(spearmanr(range(5), [images.index(x) for x in predicted]).statistic)
    assert mean_order_spearman(truth, guesses) == pytest.approx(np.mean(expected))
    with pytest.raises(ValueError, match="at least two"):
        mean_order_spearman(["a"], ["a"])


def test_lwlrap_single_label_is_lrap() -> None:
    rng = np.random.default_rng(6)
    y = np.eye(8, dtype=int)[rng.integers(0, 8, 40)]
    s = rng.random((40, 8))
    assert lwlrap(y, s) == pytest.approx(label_ranking_average_precision_score(y, s))


def test_lwlrap_weighs_clips_by_their_label_count() -> None:
    rng = np.random.default_rng(9)
    y = (rng.random((50, 6)) < 0.3).astype(int)
    y[y.sum(axis=1) == 0, 0] = 1
    s = rng.random((50, 6)).round(1)  # rounded: ties, counted pessimistically as scikit-learn does
    counts = y.sum(axis=1)
    expected = label_ranking_average_precision_score(y, s, sample_weight=counts)
    assert lwlrap(y, s) == pytest.approx(expected)
    assert lwlrap(y, s) != pytest.approx(label_ranking_average_precision_score(y, s))


def test_lwlrap_hand_computed() -> None:
    # Clip 0: labels {0, 1}, scores rank 1, 2, 0: label 1 at rank 1 -> 1/1; label 0 at rank 3 -> 2/3.
    # Clip 1: label {2}, ranked 2nd -> 1/2. Mean over the 3 (clip, label) pairs.
    y = [[1, 1, 0], [0, 0, 1]]
    s = [[0.1, 0.9, 0.5], [0.8, 0.1, 0.4]]
    assert lwlrap(y, s) == pytest.approx((1 + 2 / 3 + 1 / 2) / 3)
    with pytest.raises(ValueError, match="y_true row 0 is not 0/1"):
        lwlrap([[2, 0]], [[0.1, 0.2]])
    with pytest.raises(ValueError, match="no true label"):
        lwlrap([[0, 0]], [[0.1, 0.2]])
