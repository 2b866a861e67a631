"""Parity and edge-case tests for graders.set_metrics (tag-set F-beta, span F1, QA answer F1, edit rate)."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, fbeta_score
from sklearn.preprocessing import MultiLabelBinarizer

from graders.set_metrics import answer_micro_f1, pooled_edit_rate, set_fbeta, span_micro_f1


def _random_sets(seed: int, n: int = 30) -> tuple[list[str], list[str]]:
    """Non-empty true and predicted sets of tag names, as space-separated text."""
    rng = np.random.default_rng(seed)
    tags = [f"t{i}" for i in range(12)]
    truth = [" ".join(rng.choice(tags, rng.integers(1, 5), replace=False)) for _ in range(n)]
    guesses = [" ".join(rng.choice(tags, rng.integers(1, 5), replace=False)) for _ in range(n)]
    return truth, guesses


@pytest.mark.parametrize(("average", "beta"), [("samples", 1.0), ("micro", 2.0), ("micro", 1.0), ("samples", 2.0)])
def test_set_fbeta_matches_scikit_learn(average: str, beta: float) -> None:
    truth, guesses = _random_sets(int(beta * 10) + len(average))
    binarizer = MultiLabelBinarizer().fit([t.split() for t in truth + guesses])
    y_true, y_pred = binarizer.transform([t.split() for t in truth]), binarizer.transform([g.split() for g in guesses])
    expected = fbeta_score(y_true, y_pred, beta=beta, average=average)
    assert set_fbeta(truth, guesses, beta=beta, average=average) == pytest.approx(expected)


def test_set_fbeta_edges() -> None:
    # Facebook: duplicates count once; a question with no true and no predicted tag scores empty_score.
    assert set_fbeta(["c# .net", ""], [".net .net c#", None]) == 1.0
    assert set_fbeta(["c# .net", ""], ["c#", ""], empty_score=0.0) == pytest.approx((2 / 3 + 0) / 2)
    # Shopee: comma or space, a separator parameter.
    assert set_fbeta(["a,b"], ["b, a"], separator=",") == 1.0
    # iMet micro F2: a predicted id never seen in any answer is still a false positive.
    tp, fp, fn = 1, 1, 1
    assert set_fbeta(["13 51"], ["13 9999"], beta=2, average="micro") == pytest.approx(5 * tp / (5 * tp + 4 * fn + fp))
    with pytest.raises(ValueError, match="average"):
        set_fbeta(["a"], ["a"], average="macro")
    with pytest.raises(ValueError, match="prediction row 0: expected a string"):
        set_fbeta(["a"], [3])


def test_span_micro_f1() -> None:
    # Row 0: truth chars 0-2 and 5-8 (7), prediction 1-3 (3): 2 hit. Row 1: truth none, prediction 0-1 (2 FP).
    # TP 2, FP 1 + 2, FN 5.
    truth = ["0 3;5 9", ""]
    guesses = ["1 4", "0 2"]
    assert span_micro_f1(truth, guesses) == pytest.approx(2 * 2 / (2 * 2 + 3 + 5))
    chars_t = np.zeros(20, dtype=int)
    chars_t[[0, 1, 2, 5, 6, 7, 8]] = 1
    chars_p = np.zeros(20, dtype=int)
    chars_p[[1, 2, 3, 10, 11]] = 1  # row 1's predicted chars, shifted past row 0's length
    assert span_micro_f1(truth, guesses) == pytest.approx(f1_score(chars_t, chars_p))
    assert span_micro_f1([""], [""]) == 1.0
    with pytest.raises(ValueError, match="prediction row 0: span '4 1'"):
        span_micro_f1(["0 3"], ["4 1"])
    with pytest.raises(ValueError, match="not 'start end' integers"):
        span_micro_f1(["0 3"], ["0 3 5"])


def test_answer_micro_f1() -> None:
    truth = [["12:34", "12:40"], ["YES"], [], [], ["3:4"]]
    guesses = ["12:40", "NO", "", "5:6", ""]
    # TP (an accepted alternative), FP (wrong answer), TN, FP (answer where none), FN (blank where one exists).
    tp, fp, fn = 1, 2, 1
    assert answer_micro_f1(truth, guesses) == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert answer_micro_f1([[]], [""]) == 0.0
    with pytest.raises(ValueError, match="truth row 0: expected a list"):
        answer_micro_f1(["12:34"], ["12:34"])


def test_pooled_edit_rate() -> None:
    # Row 0: "1 2 3" vs "1 3": one deletion. Row 1: "4 5" vs "5 4 6": insert 5 in front, substitute the last
    # 5 by 6: 2 edits (no single edit turns 2 tokens into 3 different ones). Total 3 edits over 5 true
    # gestures, not the mean of 1/3 and 2/2.
    assert pooled_edit_rate(["1 2 3", "4 5"], ["1 3", "5 4 6"]) == pytest.approx(3 / 5)
    assert pooled_edit_rate(["10 11"], ["10 11"]) == 0.0
    assert pooled_edit_rate(["7", ""], ["", "1 2"]) == pytest.approx(3 / 1)
    with pytest.raises(ValueError, match="no gesture"):
        pooled_edit_rate([""], ["1"])


def test_span_micro_f1_counts_overlapping_spans_once_and_stays_fast() -> None:
    # "0 5;3 8" covers characters 0-7 once: 8 true positives against truth 0-7.
    assert span_micro_f1(["0 8"], ["0 5;3 8"]) == 1.0
    assert span_micro_f1(["0 4;10 12"], ["2 11"]) == pytest.approx(2 * 3 / (2 * 3 + 6 + 3))
    # An attacker's span over a billion characters is counted, not enumerated.
    huge = span_micro_f1(["0 10"], ["0 1000000000"])
    assert huge == pytest.approx(2 * 10 / (2 * 10 + (1_000_000_000 - 10)))
