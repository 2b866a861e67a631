"""Metrics over sets and sequences written as text: tag-set F-beta, character-span F1, answer F1, edit rate.

Self-contained (stdlib and numpy only) so that a task's grader.py can embed this source verbatim, as it does
graders/metrics.py. A missing cell (None or NaN) is an empty set; bad input raises ValueError naming the row.
"""

import math
from collections.abc import Sequence
from typing import Any

AVERAGES = ("micro", "samples")


def _text(value: Any, where: str) -> str:
    """A cell as text; None and NaN are the empty string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a string, got {type(value).__name__} {value!r}")
    return value


def _rows(truth: Sequence[Any], predictions: Sequence[Any]) -> None:
    """Row-aligned, non-empty inputs."""
    if len(truth) != len(predictions):
        raise ValueError(f"truth has {len(truth)} rows, predictions {len(predictions)}")
    if not len(truth):
        raise ValueError("no rows to score")


def _fbeta(tp: int, fp: int, fn: int, beta: float, empty: float) -> float:
    """(1 + b2) TP / ((1 + b2) TP + b2 FN + FP), `empty` when nothing is true or predicted."""
    b2 = beta * beta
    denominator = (1 + b2) * tp + b2 * fn + fp
    return (1 + b2) * tp / denominator if denominator else empty


def set_fbeta(
    truth: Sequence[Any],
    predictions: Sequence[Any],
    *,
    beta: float = 1.0,
    average: str = "samples",
    separator: str | None = None,
    empty_score: float = 1.0,
) -> float:
    """F-beta of predicted vs true label sets written as text ("a b c"), micro-pooled or averaged over rows.

    Sources: Kaggle facebook-recruiting-iii-keyword-extraction ("Mean F1": per-question F1 of tag sets,
    averaged; average="samples"), shopee-product-matching (per-posting F1 of posting-id sets, averaged) and
    imet-2020-fgvc7 (F2 of attribute sets, micro; average="micro", beta=2). Tokens split on whitespace or
    `separator`; duplicates count once. A row (samples) or a test set (micro) with nothing true and nothing
    predicted scores `empty_score`. MLE-bench's iMet grader drops predicted ids absent from every answer before
    scoring; here every wrong id is a false positive, as in Kaggle's definition of F2.
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    if not (isinstance(beta, int | float) and math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a positive number, got {beta!r}")
    _rows(truth, predictions)
    counts = []
    for row, (t, p) in enumerate(zip(truth, predictions, strict=True)):
        true_set = {token.strip() for token in _text(t, f"truth row {row}").split(separator)} - {""}
        predicted = {token.strip() for token in _text(p, f"prediction row {row}").split(separator)} - {""}
        hits = len(true_set & predicted)
        counts.append((hits, len(predicted) - hits, len(true_set) - hits))
    if average == "micro":
        return _fbeta(*(sum(column) for column in zip(*counts, strict=True)), beta, empty_score)
    return sum(_fbeta(tp, fp, fn, beta, empty_score) for tp, fp, fn in counts) / len(counts)


def _spans(text: Any, where: str) -> list[tuple[int, int]]:
    """Sorted, merged [start, end) character intervals of "start end;start end" spans."""
    spans = []
    for span in _text(text, where).replace(",", ";").split(";"):
        if not span.strip():
            continue
        try:
            start, end = (int(part) for part in span.split())
        except ValueError:
            raise ValueError(f"{where}: span {span.strip()!r} is not 'start end' integers") from None
        if start < 0 or end < start:
            raise ValueError(f"{where}: span {span.strip()!r} needs 0 <= start <= end")
        spans.append((start, end))
    merged: list[tuple[int, int]] = []
    # Intervals, not character sets: a span "0 1000000000" must not allocate a billion positions.
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif end > start:
            merged.append((start, end))
    return merged


def _overlap(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    """Number of characters in both sets of merged intervals."""
    total, i, j = 0, 0, 0
    while i < len(a) and j < len(b):
        total += max(0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def span_micro_f1(truth: Sequence[Any], predictions: Sequence[Any]) -> float:
    """Micro F1 over character positions of "start end;start end" spans (NBME clinical patient notes).

    Source: Kaggle nbme-score-clinical-patient-notes: every character of every (note, feature) row is a binary
    prediction (inside a predicted span or not) and the score is the micro F1 over all of them. Both "0 3;5 9"
    and the "0 3,5 9" variant are read; ends are exclusive and overlapping spans count each character once. No
    true and no predicted character scores 1.
    """
    _rows(truth, predictions)
    tp = fp = fn = 0
    for row, (t, p) in enumerate(zip(truth, predictions, strict=True)):
        true_spans, predicted = _spans(t, f"truth row {row}"), _spans(p, f"prediction row {row}")
        hits = _overlap(true_spans, predicted)
        tp += hits
        fp += sum(end - start for start, end in predicted) - hits
        fn += sum(end - start for start, end in true_spans) - hits
    return _fbeta(tp, fp, fn, 1.0, 1.0)


def answer_micro_f1(truth: Sequence[Sequence[str]], predictions: Sequence[Any]) -> float:
    """Micro F1 of answers where each row has a set of acceptable answers (TensorFlow 2.0 Question Answering).

    Source: Kaggle tensorflow2-question-answering evaluation: TP when the prediction matches one of the row's
    acceptable answers; FP when it does not, or when a prediction is made for a row with no answer; FN when
    the row has an answer and the prediction is blank; blank vs blank is a true negative. A wrong answer on a
    row with an answer is one FP (not also an FN), as the page defines. Answers are compared as stripped text
    ("12:34" token spans, "YES", "NO"); an empty truth list means no answer.
    """
    _rows(truth, predictions)
    tp = fp = fn = 0
    for row, (answers, p) in enumerate(zip(truth, predictions, strict=True)):
        if isinstance(answers, str):
            raise ValueError(f"truth row {row}: expected a list of acceptable answers, got a string")
        accepted = {_text(a, f"truth row {row}").strip() for a in answers} - {""}
        guess = _text(p, f"prediction row {row}").strip()
        if guess and guess in accepted:
            tp += 1
        elif guess:
            fp += 1
        elif accepted:
            fn += 1
    return _fbeta(tp, fp, fn, 1.0, 0.0)


def _edit_distance(a: list[str], b: list[str]) -> int:
    """Levenshtein distance between two token sequences (insert, delete, substitute cost 1)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def pooled_edit_rate(truth: Sequence[Any], predictions: Sequence[Any]) -> float:
    """Sum of token edit distances over the total number of true tokens (Multi-modal Gesture Recognition).

    Source: Kaggle multi-modal-gesture-recognition: "the sum of the Levenshtein distances between predicted and
    true gesture sequences, divided by the total number of gestures in the ground truth". Sequences are
    space-separated gesture ids.
    """
    _rows(truth, predictions)
    distance = total = 0
    for row, (t, p) in enumerate(zip(truth, predictions, strict=True)):
        true_seq, predicted = _text(t, f"truth row {row}").split(), _text(p, f"prediction row {row}").split()
        distance += _edit_distance(true_seq, predicted)
        total += len(true_seq)
    if not total:
        raise ValueError("the truth holds no gesture: the edit rate is undefined")
    return distance / total
