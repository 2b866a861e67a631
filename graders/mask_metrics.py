"""Segmentation metrics over run-length-encoded masks: RLE codec, Dice, pixel F-beta and instance F2 over IoU.

Self-contained (stdlib, numpy; SciPy imported inside the Hausdorff function) so that a task's grader.py can
embed this source verbatim, as it does graders/metrics.py. Bad input raises ValueError naming the row.

RLE, as Kaggle writes it: "start length start length ...", starts 1-indexed, over the image flattened either
column-major (`order="F"`: down each column, then the next column to the right, as the published decoders of
DSB 2018, Airbus, Severstal, HuBMAP and Contrails read it) or row-major (`order="C"`: along each row, then the
next row, as UW-Madison's and Vesuvius's read it). Each competition states its own order, so every function
takes it as a parameter; confirm it against the competition's page when wiring. A missing cell (None, NaN or
"") is an empty mask. Shapes are (height, width) per image.
"""

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

ORDERS = ("F", "C")
MASK_IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


def _text(value: Any) -> str:
    """A cell as text; None and NaN are the empty string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if not isinstance(value, str):
        raise ValueError(f"expected an RLE string, got {type(value).__name__} {value!r}")
    return value


def _shape(shape: Sequence[int], where: str) -> tuple[int, int]:
    """A (height, width) pair of positive integers."""
    if len(shape) != 2 or not all(isinstance(s, int | np.integer) and not isinstance(s, bool) for s in shape):
        raise ValueError(f"{where}: shape must be (height, width) integers, got {shape!r}")
    height, width = int(shape[0]), int(shape[1])
    if height < 1 or width < 1:
        raise ValueError(f"{where}: shape must be positive, got {shape!r}")
    return height, width


def _order(order: str) -> str:
    """Validated flattening order."""
    if order not in ORDERS:
        raise ValueError(f"order must be 'F' (column-major) or 'C' (row-major), got {order!r}")
    return order


def rle_decode(text: Any, shape: Sequence[int], *, order: str = "F", where: str = "mask") -> np.ndarray:
    """Decode a Kaggle RLE string into a bool (height, width) mask; runs must lie inside and not overlap."""
    height, width = _shape(shape, where)
    size = height * width
    flat = np.zeros(size, dtype=bool)
    tokens = _text(text).split()
    if len(tokens) % 2:
        raise ValueError(f"{where}: RLE needs start/length pairs, got {len(tokens)} numbers")
    try:
        runs = np.array(tokens, dtype=np.int64).reshape(-1, 2)
    except ValueError:
        raise ValueError(f"{where}: RLE is not a list of integers: {_text(text)[:60]!r}") from None
    for start, length in runs:
        if start < 1 or length < 1 or start + length - 1 > size:
            raise ValueError(f"{where}: RLE run {start} {length} is outside the {height}x{width} image")
        segment = flat[start - 1 : start - 1 + length]
        if segment.any():
            raise ValueError(f"{where}: RLE runs overlap at pixel {start + int(np.flatnonzero(segment)[0])}")
        segment[:] = True
    return flat.reshape((height, width), order=_order(order))


def rle_encode(mask: np.ndarray, *, order: str = "F") -> str:
    """Encode a 2-D mask (nonzero = inside) as a Kaggle RLE string; an empty mask is ""."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (height, width), got shape {mask.shape}")
    flat = np.concatenate([[False], mask.flatten(order=_order(order)).astype(bool), [False]])
    edges = np.flatnonzero(flat[1:] != flat[:-1])
    starts, ends = edges[0::2], edges[1::2]
    return " ".join(f"{start + 1} {end - start}" for start, end in zip(starts, ends, strict=True))


def rle_volume(slices: Sequence[Any], shape: Sequence[int], *, order: str = "F", where: str = "volume") -> np.ndarray:
    """Decode one RLE string per slice, in slice order, into a bool (slices, height, width) volume."""
    if not len(slices):
        raise ValueError(f"{where}: a volume needs at least one slice")
    return np.stack([rle_decode(text, shape, order=order, where=f"{where} slice {z}") for z, text in enumerate(slices)])


def _shapes(shapes: Sequence[Sequence[int]] | Sequence[int], n: int) -> list[Sequence[int]]:
    """One (height, width) per image: a single pair applies to all."""
    if len(shapes) == 2 and all(isinstance(s, int | np.integer) for s in shapes):
        return [shapes] * n  # type: ignore[list-item]
    if len(shapes) != n:
        raise ValueError(f"got {len(shapes)} shapes for {n} images")
    return list(shapes)  # type: ignore[arg-type]


def _mask_pairs(
    truth: Sequence[Any], predictions: Sequence[Any], shapes: Sequence[Any], order: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Decode row-aligned truth and prediction masks."""
    if len(truth) != len(predictions):
        raise ValueError(f"truth has {len(truth)} masks, predictions {len(predictions)}")
    if not len(truth):
        raise ValueError("no masks to score")
    return [
        (
            rle_decode(t, shape, order=order, where=f"truth row {row}"),
            rle_decode(p, shape, order=order, where=f"prediction row {row}"),
        )
        for row, (t, p, shape) in enumerate(zip(truth, predictions, _shapes(shapes, len(truth)), strict=True))
    ]


def dice(a: np.ndarray, b: np.ndarray, *, empty_score: float = 1.0) -> float:
    """2|A & B| / (|A| + |B|) of two bool masks (any shape); two empty masks score `empty_score`."""
    total = int(a.sum()) + int(b.sum())
    return 2 * int((a & b).sum()) / total if total else empty_score


def mean_dice(
    truth: Sequence[Any],
    predictions: Sequence[Any],
    *,
    shapes: Sequence[Any],
    order: str = "F",
    empty_score: float = 1.0,
) -> float:
    """Mean over rows of the Dice of RLE masks, empty vs empty = `empty_score` (Severstal, HuBMAP, UW-Madison).

    Source: Kaggle's evaluation pages of severstal-steel-defect-detection ("if both X and Y are empty, the
    score is 1"), hubmap-kidney-segmentation (one row per image, each with its own size) and
    uw-madison-gi-tract-image-segmentation (whose page says 0 for two empty masks). `shapes` is one
    (height, width) for all rows or one per row.
    """
    pairs = _mask_pairs(truth, predictions, shapes, order)
    return float(np.mean([dice(a, b, empty_score=empty_score) for a, b in pairs]))


def pooled_dice(truth: Sequence[Any], predictions: Sequence[Any], *, shapes: Sequence[Any], order: str = "F") -> float:
    """One global Dice over the pixels of all rows (Contrails: "the Dice over all test pixels")."""
    return pixel_fbeta(truth, predictions, shapes=shapes, order=order, beta=1.0)


def pixel_fbeta(
    truth: Sequence[Any],
    predictions: Sequence[Any],
    *,
    shapes: Sequence[Any],
    order: str = "F",
    beta: float = 0.5,
    regions: Sequence[np.ndarray] | None = None,
) -> float:
    """F-beta over the pixels of all rows, (1+b2) TP / ((1+b2) TP + b2 FN + FP); no positive pixel at all is 1.

    Source: Kaggle vesuvius-challenge-ink-detection (F0.5 over ink pixels); with beta=1 it is the pooled Dice
    of google-research-identify-contrails-reduce-global-warming. `regions`, one bool (height, width) array per
    row, restricts the count to the scored pixels (Vesuvius scores pixels inside the papyrus mask).
    """
    beta = float(beta)
    if not math.isfinite(beta) or beta <= 0:
        raise ValueError(f"beta must be a positive number, got {beta!r}")
    pairs = _mask_pairs(truth, predictions, shapes, order)
    if regions is not None and len(regions) != len(pairs):
        raise ValueError(f"got {len(regions)} regions for {len(pairs)} masks")
    tp = fp = fn = 0
    for row, (a, b) in enumerate(pairs):
        if regions is not None:
            region = np.asarray(regions[row], dtype=bool)
            if region.shape != a.shape:
                raise ValueError(f"region row {row}: shape {region.shape} is not the mask's {a.shape}")
            a, b = a & region, b & region
        tp += int((a & b).sum())
        fp += int((~a & b).sum())
        fn += int((a & ~b).sum())
    b2 = beta * beta
    denominator = (1 + b2) * tp + b2 * fn + fp
    return (1 + b2) * tp / denominator if denominator else 1.0


def _instances(text: Any, shape: Sequence[int], order: str, where: str) -> list[np.ndarray]:
    """Decode "|"-separated RLE instance masks; instances may not share a pixel."""
    masks = [rle_decode(part, shape, order=order, where=where) for part in _text(text).split("|") if part.strip()]
    if masks and (np.sum(masks, axis=0) > 1).any():
        raise ValueError(f"{where}: instance masks overlap")
    return masks


def _instance_iou(truth: list[np.ndarray], predicted: list[np.ndarray]) -> np.ndarray:
    """IoU matrix (m, p) of bool instance masks."""
    if not truth or not predicted:
        return np.zeros((len(truth), len(predicted)))
    a = np.stack([m.ravel() for m in truth]).astype(np.int64)
    b = np.stack([m.ravel() for m in predicted]).astype(np.int64)
    intersection = a @ b.T
    union = a.sum(axis=1)[:, None] + b.sum(axis=1)[None, :] - intersection
    return intersection / union


def instance_fbeta_map(
    truth: Sequence[Any],
    predictions: Sequence[Any],
    *,
    shapes: Sequence[Any],
    order: str = "F",
    beta: float = 2.0,
    iou_thresholds: Sequence[float] = MASK_IOU_THRESHOLDS,
) -> float:
    """Mean over images of the F-beta of instance matches (IoU > t) averaged over thresholds (Airbus, F2).

    Source: Kaggle airbus-ship-detection: F2(t) = 5 TP(t) / (5 TP(t) + 4 FN(t) + FP(t)) per image, averaged over
    t = 0.5, 0.55, ..., 0.95, then over images; an image with no ship and no prediction scores 1. Instances are
    "|"-separated RLE masks in one cell per image. An IoU above 0.5 matches at most one pair, so the matching
    is unique at every threshold used.
    """
    beta = float(beta)
    if not math.isfinite(beta) or beta <= 0:
        raise ValueError(f"beta must be a positive number, got {beta!r}")
    thresholds = np.asarray(iou_thresholds, dtype=float).reshape(-1)
    if not len(thresholds) or not ((thresholds >= 0.5) & (thresholds < 1)).all():
        # Below 0.5 a mask can overlap two others by more than t and the greedy match would need an order.
        raise ValueError(f"iou_thresholds must be numbers in [0.5, 1), got {iou_thresholds!r}")
    if len(truth) != len(predictions):
        raise ValueError(f"truth has {len(truth)} images, predictions {len(predictions)}")
    if not len(truth):
        raise ValueError("no images to score")
    b2 = beta * beta
    scores = []
    for row, (t, p, shape) in enumerate(zip(truth, predictions, _shapes(shapes, len(truth)), strict=True)):
        true_masks = _instances(t, shape, order, f"truth row {row}")
        predicted = _instances(p, shape, order, f"prediction row {row}")
        if not true_masks and not predicted:
            scores.append(1.0)
            continue
        iou = _instance_iou(true_masks, predicted)
        per_threshold = []
        for threshold in thresholds:
            tp = int((iou > threshold).sum())
            fn, fp = len(true_masks) - tp, len(predicted) - tp
            per_threshold.append((1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp))
        scores.append(float(np.mean(per_threshold)))
    return float(np.mean(scores))


def normalized_hausdorff(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric Hausdorff distance between the voxels of two bool volumes over the volume's diagonal, at most 1.

    Both empty is 0 and exactly one empty is 1 (the worst score); voxel coordinates are indices (slice depth 1).
    """
    from scipy.spatial.distance import directed_hausdorff

    if a.shape != b.shape:
        raise ValueError(f"volumes differ in shape: {a.shape} and {b.shape}")
    points_a, points_b = np.argwhere(a), np.argwhere(b)
    if not len(points_a) and not len(points_b):
        return 0.0
    if not len(points_a) or not len(points_b):
        return 1.0
    distance = max(directed_hausdorff(points_a, points_b)[0], directed_hausdorff(points_b, points_a)[0])
    return min(distance / float(np.sqrt(np.sum(np.square(a.shape)))), 1.0)


def dice_hausdorff_score(
    truth: Sequence[np.ndarray],
    predictions: Sequence[np.ndarray],
    *,
    dice_weight: float = 0.4,
    empty_dice: float = 1.0,
) -> float:
    """UW-Madison: 0.4 mean Dice + 0.6 mean (1 - normalized 3D Hausdorff) over (case-day, organ) volumes.

    Source: Kaggle uw-madison-gi-tract-image-segmentation: each (case, day, organ) is one 3D volume of its
    decoded slice masks stacked in slice order (depth 1 per slice); Dice and the Hausdorff distance are taken
    per volume, the distance normalized by the volume's size (here its diagonal, in voxels) to lie in [0, 1],
    and the two combined 0.4 / 0.6. The page calls the distance "the furthest point on A from the nearest
    point on B"; this takes the larger of the two directions (the usual Hausdorff distance), so neither an
    over- nor an under-segmentation goes unpunished. The page also says two empty masks have Dice 0 while
    scoring them 1 is the convention of its sister competitions; `empty_dice` chooses (doubtful, see report).
    truth and predictions are row-aligned bool arrays (slices, height, width).
    """
    if len(truth) != len(predictions):
        raise ValueError(f"truth has {len(truth)} volumes, predictions {len(predictions)}")
    if not len(truth):
        raise ValueError("no volumes to score")
    if not 0 <= dice_weight <= 1:
        raise ValueError(f"dice_weight must be in [0, 1], got {dice_weight!r}")
    dices, distances = [], []
    for row, (t, p) in enumerate(zip(truth, predictions, strict=True)):
        a, b = np.asarray(t, dtype=bool), np.asarray(p, dtype=bool)
        if a.ndim != 3 or a.shape != b.shape:
            raise ValueError(f"volume {row}: need two (slices, height, width) arrays, got {a.shape} and {b.shape}")
        dices.append(dice(a, b, empty_score=empty_dice))
        distances.append(normalized_hausdorff(a, b))
    return dice_weight * float(np.mean(dices)) + (1 - dice_weight) * (1 - float(np.mean(distances)))
