"""Parity and edge-case tests for graders.mask_metrics (RLE codec, Dice, pixel F-beta, Airbus instance F2)."""

import numpy as np
import pytest
from scipy.spatial import distance
from sklearn.metrics import fbeta_score

from graders.mask_metrics import (
    dice_hausdorff_score,
    instance_fbeta_map,
    mean_dice,
    normalized_hausdorff,
    pixel_fbeta,
    pooled_dice,
    rle_decode,
    rle_encode,
    rle_volume,
)


def test_rle_decode_follows_kaggle_numbering() -> None:
    # "1 3 10 5" on a 4x4 image: pixels 1-3 and 10-14, numbered from 1. Column-major numbers down each column
    # (pixel 5 is row 0 of column 1); row-major along each row (pixel 5 is row 1, column 0).
    column_major = rle_decode("1 3 10 5", (4, 4), order="F")
    expected_f = np.zeros(16, dtype=bool)
    expected_f[[0, 1, 2, 9, 10, 11, 12, 13]] = True
    assert (column_major == expected_f.reshape(4, 4).T).all()
    assert column_major[:, 0].tolist() == [True, True, True, False]
    row_major = rle_decode("1 3 10 5", (4, 4), order="C")
    assert row_major[0].tolist() == [True, True, True, False]
    assert row_major[2].tolist() == [False, True, True, True]
    # A non-square image tells height from width: 2 rows x 3 columns, column-major pixel 3 is row 0, column 1.
    assert rle_decode("3 1", (2, 3), order="F").tolist() == [[False, True, False], [False, False, False]]
    assert rle_decode("3 1", (2, 3), order="C").tolist() == [[False, False, True], [False, False, False]]


@pytest.mark.parametrize("order", ["F", "C"])
def test_rle_round_trip(order: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        mask = rng.random((13, 29)) < rng.uniform(0.05, 0.9)
        text = rle_encode(mask, order=order)
        assert (rle_decode(text, mask.shape, order=order) == mask).all()
    assert rle_encode(np.zeros((3, 3)), order=order) == ""
    assert rle_encode(np.ones((2, 3)), order=order) == "1 6"


def test_rle_errors_name_the_row() -> None:
    with pytest.raises(ValueError, match="outside the 4x4 image"):
        rle_decode("15 3", (4, 4))
    with pytest.raises(ValueError, match="overlap at pixel 3"):
        rle_decode("1 3 3 2", (4, 4))
    with pytest.raises(ValueError, match="start/length pairs"):
        rle_decode("1 3 4", (4, 4))
    with pytest.raises(ValueError, match="not a list of integers"):
        rle_decode("1 3.5", (4, 4))
    with pytest.raises(ValueError, match="outside"):
        rle_decode("0 2", (4, 4))
    with pytest.raises(ValueError, match="order"):
        rle_decode("1 1", (4, 4), order="A")
    with pytest.raises(ValueError, match="prediction row 1"):
        mean_dice(["1 1", "1 1"], ["1 1", "1 99"], shapes=(4, 4))
    with pytest.raises(ValueError, match="got 1 shapes for 2 images"):
        mean_dice(["1 1", "1 1"], ["1 1", "1 1"], shapes=[(4, 4)])


def test_dice_matches_scipy_and_scores_empty_pairs_one() -> None:
    rng = np.random.default_rng(3)
    truth_masks = [rng.random((8, 11)) < 0.4 for _ in range(5)]
    pred_masks = [rng.random((8, 11)) < 0.4 for _ in range(5)]
    expected = np.mean([1 - distance.dice(a.ravel(), b.ravel()) for a, b in zip(truth_masks, pred_masks, strict=True)])
    truth = [rle_encode(m) for m in truth_masks]
    guesses = [rle_encode(m) for m in pred_masks]
    assert mean_dice(truth, guesses, shapes=(8, 11)) == pytest.approx(expected)
    # Severstal: an empty truth with an empty prediction scores 1, with any predicted pixel 0.
    assert mean_dice([*truth, ""], [*guesses, None], shapes=(8, 11)) == pytest.approx((5 * expected + 1) / 6)
    assert mean_dice([""], ["1 1"], shapes=(8, 11)) == 0.0


def test_mean_dice_uses_each_rows_shape() -> None:
    # HuBMAP: images differ in size. "1 4" fills column 0 of a 4-row image but spans two columns of a 2-row one.
    truth = ["1 4", "1 4"]
    guesses = [rle_encode(np.array([[1, 0], [1, 0], [1, 0], [1, 0]])), rle_encode(np.array([[1, 1, 0], [1, 1, 0]]))]
    assert mean_dice(truth, guesses, shapes=[(4, 2), (2, 3)]) == 1.0


def test_pixel_fbeta_matches_scikit_learn() -> None:
    rng = np.random.default_rng(11)
    truth_masks = [rng.random((6, 9)) < 0.3 for _ in range(4)]
    pred_masks = [rng.random((6, 9)) < 0.3 for _ in range(4)]
    truth = [rle_encode(m, order="C") for m in truth_masks]
    guesses = [rle_encode(m, order="C") for m in pred_masks]
    flat_t = np.concatenate([m.ravel() for m in truth_masks])
    flat_p = np.concatenate([m.ravel() for m in pred_masks])
    expected = fbeta_score(flat_t, flat_p, beta=0.5)
    assert pixel_fbeta(truth, guesses, shapes=(6, 9), order="C", beta=0.5) == pytest.approx(expected)
    # The pooled Dice is F1 over all pixels, not the mean of per-image Dice.
    pooled = pooled_dice(truth, guesses, shapes=(6, 9), order="C")
    assert pooled == pytest.approx(fbeta_score(flat_t, flat_p, beta=1))
    assert pooled != pytest.approx(mean_dice(truth, guesses, shapes=(6, 9), order="C"))
    # Regions: only pixels inside count (Vesuvius papyrus mask).
    regions = [np.zeros((6, 9), dtype=bool) for _ in range(4)]
    for r in regions:
        r[:, :4] = True
    inside = np.concatenate([r.ravel() for r in regions])
    expected_inside = fbeta_score(flat_t[inside], flat_p[inside], beta=0.5)
    assert pixel_fbeta(truth, guesses, shapes=(6, 9), order="C", regions=regions) == pytest.approx(expected_inside)
    assert pixel_fbeta([""], [""], shapes=(2, 2)) == 1.0
    with pytest.raises(ValueError, match="beta"):
        pixel_fbeta([""], [""], shapes=(2, 2), beta=0)


def _instances_rle(masks: list[np.ndarray]) -> str:
    return "|".join(rle_encode(m) for m in masks)


def test_instance_f2_hand_computed() -> None:
    shape = (10, 10)
    ship_a = np.zeros(shape, dtype=bool)
    ship_a[0:4, 0:5] = True  # 20 pixels
    ship_b = np.zeros(shape, dtype=bool)
    ship_b[6:10, 6:10] = True  # 16 pixels
    guess_a = np.zeros(shape, dtype=bool)
    guess_a[0:4, 0:4] = True  # 16 of ship a's 20 pixels: IoU 0.8
    far = np.zeros(shape, dtype=bool)
    far[0:2, 8:10] = True  # touches no ship
    truth = [_instances_rle([ship_a, ship_b]), "", ""]
    guesses = [_instances_rle([guess_a, far]), "", _instances_rle([far])]
    # Image 0: at t < 0.8 (0.5..0.75, 6 thresholds) TP 1, FN 1, FP 1: F2 = 5 / (5 + 4 + 1) = 0.5;
    # at t >= 0.8 (0.8..0.95, 4 thresholds; IoU must exceed t) TP 0: F2 = 0. Mean 0.3.
    # Image 1: no ship, no prediction: 1. Image 2: no ship, one prediction: 0.
    assert instance_fbeta_map(truth, guesses, shapes=shape) == pytest.approx((0.3 + 1 + 0) / 3)
    with pytest.raises(ValueError, match="instance masks overlap"):
        instance_fbeta_map([""], [_instances_rle([ship_a, guess_a])], shapes=shape)
    with pytest.raises(ValueError, match="iou_thresholds"):
        instance_fbeta_map([""], [""], shapes=shape, iou_thresholds=[0.3])


def _hausdorff_by_pairs(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric Hausdorff distance from the full matrix of voxel distances."""
    pa, pb = np.argwhere(a).astype(float), np.argwhere(b).astype(float)
    d = np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(axis=2))
    return max(d.min(axis=1).max(), d.min(axis=0).max())


def test_dice_hausdorff_score_against_pairwise_distances() -> None:
    rng = np.random.default_rng(17)
    shape = (5, 9, 7)
    truth = [rng.random(shape) < 0.1 for _ in range(3)]
    guesses = [rng.random(shape) < 0.1 for _ in range(3)]
    diagonal = np.sqrt(5**2 + 9**2 + 7**2)
    dices = [2 * (a & b).sum() / (a.sum() + b.sum()) for a, b in zip(truth, guesses, strict=True)]
    distances = [_hausdorff_by_pairs(a, b) / diagonal for a, b in zip(truth, guesses, strict=True)]
    expected = 0.4 * np.mean(dices) + 0.6 * (1 - np.mean(distances))
    assert dice_hausdorff_score(truth, guesses) == pytest.approx(expected)


def test_dice_hausdorff_score_hand_computed() -> None:
    # One voxel each, 3 slices apart and 4 rows apart: distance 5 in a (4, 10, 10) volume (diagonal sqrt(216)).
    a = np.zeros((4, 10, 10), dtype=bool)
    b = np.zeros((4, 10, 10), dtype=bool)
    a[0, 0, 0] = True
    b[3, 4, 0] = True
    assert dice_hausdorff_score([a], [b]) == pytest.approx(0.6 * (1 - 5 / np.sqrt(216)))
    # Identical volumes score 1; an empty prediction of a non-empty organ scores 0; empty vs empty follows
    # empty_dice for the Dice part and is a perfect 0 distance.
    assert dice_hausdorff_score([a], [a]) == 1.0
    assert dice_hausdorff_score([a], [np.zeros_like(a)]) == 0.0
    empty = np.zeros_like(a)
    assert dice_hausdorff_score([empty], [empty]) == 1.0
    assert dice_hausdorff_score([empty], [empty], empty_dice=0.0) == pytest.approx(0.6)
    # A stray far voxel costs the distance part even when the Dice barely moves (symmetric distance).
    c = a.copy()
    c[3, 9, 9] = True
    assert normalized_hausdorff(a, c) == pytest.approx(np.sqrt(9 + 81 + 81) / np.sqrt(216))
    assert normalized_hausdorff(c, a) == normalized_hausdorff(a, c)
    with pytest.raises(ValueError, match="volume 0: need two"):
        dice_hausdorff_score([a[0]], [a[0]])


def test_rle_volume_stacks_slices_in_order() -> None:
    volume = rle_volume(["1 1", "", "4 1"], (2, 2), order="C")
    assert volume.shape == (3, 2, 2)
    assert volume[0, 0, 0] and not volume[1].any() and volume[2, 1, 1]
    with pytest.raises(ValueError, match="volume slice 2"):
        rle_volume(["1 1", "", "9 1"], (2, 2))


def test_mean_dice_empty_score() -> None:
    # UW-Madison's page defines Dice 0 for two empty masks; Severstal's 1.
    assert mean_dice(["", "1 2"], ["", "1 2"], shapes=(2, 2), empty_score=0.0) == 0.5
    assert mean_dice(["", "1 2"], ["", "1 2"], shapes=(2, 2)) == 1.0
