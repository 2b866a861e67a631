"""Object-detection metrics over per-image prediction strings: COCO mAP, PASCAL VOC mAP and Kuzushiji's point F1.

Self-contained (stdlib and numpy only) so that a task's grader.py can embed this source verbatim, as it does
graders/metrics.py. Every function takes one string per image, truth and predictions in the same image order;
a missing cell (None, NaN or "") is an image without boxes. Bad input raises ValueError naming the row.

Box strings (x_min y_min x_max y_max by default, `box_format="xywh"` for x y width height, pixel coordinates):
- truth: "label x0 y0 x1 y1 label x0 y0 x1 y1 ..."
- prediction: "label confidence x0 y0 x1 y1 ..."
Labels are compared as text ("14" and "14" match, "14" and "14.0" do not).

3D boxes (Lyft): truth "cx cy cz width length height yaw class ...", prediction
"confidence cx cy cz width length height yaw class ...", the class last, as Kaggle's train.csv and submission.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

BOX_FORMATS = ("xyxy", "xywh")
COCO_IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
COCO_RECALL_POINTS = np.linspace(0.0, 1.0, 101)


@dataclass(frozen=True)
class LabeledBoxes:
    """The boxes of one image: `labels` (m,), `boxes` (m, 4) as x0 y0 x1 y1 (or (m, 7) cx cy cz w l h yaw for 3D)
    and `scores` (m,), 1.0 for truth."""

    labels: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray


def _text(value: Any) -> str:
    """A cell as text; None and NaN are the empty string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__} {value!r}")
    return value


def parse_labeled_boxes(text: Any, *, scored: bool, box_format: str = "xyxy", where: str = "row") -> LabeledBoxes:
    """Parse "label [confidence] a b c d ..." into labels, x0 y0 x1 y1 boxes and confidences."""
    if box_format not in BOX_FORMATS:
        raise ValueError(f"box_format must be one of {BOX_FORMATS}, got {box_format!r}")
    width = 6 if scored else 5
    tokens = _text(text).split()
    if len(tokens) % width:
        raise ValueError(f"{where}: expected groups of {width} fields, got {len(tokens)} tokens")
    groups = [tokens[i : i + width] for i in range(0, len(tokens), width)]
    try:
        numbers = np.array([group[1:] for group in groups], dtype=float).reshape(-1, width - 1)
    except ValueError:
        raise ValueError(f"{where}: a confidence or coordinate is not a number: {_text(text)[:80]!r}") from None
    if not np.isfinite(numbers).all():
        raise ValueError(f"{where}: confidences and coordinates must be finite numbers")
    boxes = numbers[:, -4:].copy()
    if box_format == "xywh":
        if (boxes[:, 2:] < 0).any():
            raise ValueError(f"{where}: box {_first(boxes[:, 2:].min(axis=1) < 0)} has a negative width or height")
        boxes[:, 2:] += boxes[:, :2]
    elif (boxes[:, 2:] < boxes[:, :2]).any():
        raise ValueError(f"{where}: box {_first((boxes[:, 2:] < boxes[:, :2]).any(axis=1))} has x1 < x0 or y1 < y0")
    scores = numbers[:, 0] if scored else np.ones(len(groups))
    labels = np.array([group[0] for group in groups], dtype=object)
    return LabeledBoxes(labels=labels, boxes=boxes, scores=scores)


def _first(mask: np.ndarray) -> int:
    """Index of the first True entry."""
    return int(np.flatnonzero(mask)[0])


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (m, p) of x0 y0 x1 y1 boxes a (m, 4) and b (p, 4); a zero-area union scores 0."""
    width = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    height = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    intersection = np.clip(width, 0, None) * np.clip(height, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)


def _parse_pairs(
    truth: Sequence[Any], predictions: Sequence[Any], box_format: str
) -> tuple[list[LabeledBoxes], list[LabeledBoxes]]:
    """Parse row-aligned truth and prediction strings."""
    if len(truth) != len(predictions):
        raise ValueError(f"truth has {len(truth)} images, predictions {len(predictions)}")
    if not len(truth):
        raise ValueError("no images to score")
    true_boxes = [
        parse_labeled_boxes(t, scored=False, box_format=box_format, where=f"truth row {row}")
        for row, t in enumerate(truth)
    ]
    predicted = [
        parse_labeled_boxes(p, scored=True, box_format=box_format, where=f"prediction row {row}")
        for row, p in enumerate(predictions)
    ]
    return true_boxes, predicted


def _thresholds(values: Sequence[float]) -> np.ndarray:
    """IoU thresholds as a non-empty array in [0, 1]."""
    thresholds = np.asarray(values, dtype=float).reshape(-1)
    if not len(thresholds) or not ((thresholds >= 0) & (thresholds <= 1)).all():
        raise ValueError(f"IoU thresholds must be a non-empty list of numbers in [0, 1], got {values!r}")
    return thresholds


def _classes(true_boxes: list[LabeledBoxes]) -> list[str]:
    """The labels present in the truth, sorted."""
    classes = sorted({str(label) for image in true_boxes for label in image.labels})
    if not classes:
        raise ValueError("the truth has no boxes: average precision is undefined")
    return classes


def _coco_class_ap(
    truth: list[np.ndarray], predicted: list[tuple[np.ndarray, np.ndarray]], threshold: float, max_detections: int
) -> float:
    """COCO AP of one class at one IoU threshold: 101-point interpolated precision over recall."""
    n_truth = sum(len(boxes) for boxes in truth)
    scores, hits = [], []
    for true_image, (pred_scores, pred_boxes) in zip(truth, predicted, strict=True):
        # pycocotools keeps each image's top max_detections by score, ties in submitted order.
        order = np.argsort(-pred_scores, kind="stable")[:max_detections]
        iou = box_iou(true_image, pred_boxes[order])
        free = np.ones(len(true_image), dtype=bool)
        for j in range(len(order)):
            candidates = np.where(free, iou[:, j], -1.0)
            best = int(np.argmax(candidates)) if len(candidates) else -1
            hit = best >= 0 and candidates[best] >= threshold
            if hit:
                free[best] = False
            hits.append(hit)
        scores.extend(pred_scores[order])
    if not scores:
        return 0.0
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    hit_sorted = np.asarray(hits, dtype=bool)[order]
    tp, fp = np.cumsum(hit_sorted), np.cumsum(~hit_sorted)
    recall = tp / n_truth
    precision = tp / np.maximum(tp + fp, np.finfo(float).eps)
    # Precision envelope: the best precision at any recall at least this one.
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    index = np.searchsorted(recall, COCO_RECALL_POINTS, side="left")
    interpolated = np.where(index < len(precision), precision[np.minimum(index, len(precision) - 1)], 0.0)
    return float(interpolated.mean())


def coco_map(
    truth: Sequence[Any],
    predictions: Sequence[Any],
    *,
    iou_thresholds: Sequence[float] = COCO_IOU_THRESHOLDS,
    box_format: str = "xyxy",
    max_detections: int = 100,
) -> float:
    """COCO box mAP: mean over classes in the truth and IoU thresholds (IoU >= t) of 101-point interpolated AP.

    Source: the COCO detection evaluation (cocodataset.org/#detection-eval, pycocotools COCOeval.stats[0] with
    area range "all", no crowd boxes). Predictions of a class absent from the truth are ignored, as in COCOeval.
    """
    if isinstance(max_detections, bool) or not isinstance(max_detections, int) or max_detections < 1:
        raise ValueError(f"max_detections must be a positive integer, got {max_detections!r}")
    true_boxes, predicted = _parse_pairs(truth, predictions, box_format)
    thresholds = _thresholds(iou_thresholds)
    precisions = []
    for name in _classes(true_boxes):
        truth_of_class = [image.boxes[image.labels == name] for image in true_boxes]
        pred_of_class = [(image.scores[image.labels == name], image.boxes[image.labels == name]) for image in predicted]
        precisions.extend(_coco_class_ap(truth_of_class, pred_of_class, float(t), max_detections) for t in thresholds)
    return float(np.mean(precisions))


def _voc_class_aps(
    truth: list[np.ndarray],
    predicted: list[tuple[np.ndarray, np.ndarray]],
    thresholds: np.ndarray,
    iou: Callable[[np.ndarray, np.ndarray], np.ndarray] = box_iou,
) -> list[float]:
    """PASCAL VOC 2010 AP of one class at each threshold: area under the precision envelope at every recall step."""
    n_truth = sum(len(boxes) for boxes in truth)
    rows = [(score, image, j) for image, (scores, _) in enumerate(predicted) for j, score in enumerate(scores)]
    # Highest confidence first; ties keep image order, then submitted order.
    rows.sort(key=lambda row: -row[0])
    # Each detection's best-overlapping truth box in its image (-1 when the image has none), computed once.
    best, overlap = np.full(len(rows), -1), np.zeros(len(rows))
    for k, (_, image, j) in enumerate(rows):
        if len(truth[image]):
            overlaps = iou(truth[image], predicted[image][1][j : j + 1])[:, 0]
            best[k] = int(np.argmax(overlaps))
            overlap[k] = overlaps[best[k]]
    precisions = []
    for threshold in thresholds:
        taken: set[tuple[int, int]] = set()
        hits = np.zeros(len(rows), dtype=bool)
        for k, (_, image, _) in enumerate(rows):
            # VOC: the best-overlapping truth box counts once; a second detection of it is a false positive.
            if best[k] >= 0 and overlap[k] > threshold and (image, best[k]) not in taken:
                taken.add((image, int(best[k])))
                hits[k] = True
        tp, fp = np.cumsum(hits), np.cumsum(~hits)
        recall = np.concatenate([[0.0], tp / n_truth, [1.0]])
        precision = np.concatenate([[0.0], tp / np.maximum(tp + fp, 1), [0.0]])
        precision = np.maximum.accumulate(precision[::-1])[::-1]
        steps = np.flatnonzero(recall[1:] != recall[:-1])
        precisions.append(float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1])))
    return precisions


def voc_map(
    truth: Sequence[Any], predictions: Sequence[Any], *, iou_threshold: float = 0.5, box_format: str = "xyxy"
) -> float:
    """PASCAL VOC 2010 mAP at one IoU threshold (IoU > t): mean over the classes in the truth of all-point AP.

    Source: the VOC 2010 devkit (Everingham et al.), as named by Kaggle's VinBigData (IoU > 0.4, "no finding"
    scored as class 14 with box "0 0 1 1") and SIIM-FISABIO-RSNA COVID-19 (IoU > 0.5; study rows are classes
    negative/typical/indeterminate/atypical and image rows "none" with box "0 0 1 1", all in one mean). Both
    conventions are plain classes with a 1x1 box, so they need no special case. Coordinates are continuous (no
    +1 pixel), and predictions of a class absent from the truth are ignored. MLE-bench grades VinBigData with
    pycocotools at IoU 0.4 instead (101-point AP, IoU >= t, x_max/y_max passed as width/height), which is
    not the metric Kaggle describes.
    """
    threshold = float(_thresholds([iou_threshold])[0])
    true_boxes, predicted = _parse_pairs(truth, predictions, box_format)
    precisions = []
    for name in _classes(true_boxes):
        truth_of_class = [image.boxes[image.labels == name] for image in true_boxes]
        pred_of_class = [(image.scores[image.labels == name], image.boxes[image.labels == name]) for image in predicted]
        precisions.extend(_voc_class_aps(truth_of_class, pred_of_class, np.array([threshold])))
    return float(np.mean(precisions))


def _points(text: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse "label x y label x y ..." into labels and (m, 2) centre points."""
    tokens = _text(text).split()
    if len(tokens) % 3:
        raise ValueError(f"{where}: expected groups of 3 fields (label x y), got {len(tokens)} tokens")
    try:
        points = np.array([tokens[i + 1 : i + 3] for i in range(0, len(tokens), 3)], dtype=float).reshape(-1, 2)
    except ValueError:
        raise ValueError(f"{where}: a coordinate is not a number: {_text(text)[:80]!r}") from None
    if not np.isfinite(points).all():
        raise ValueError(f"{where}: coordinates must be finite numbers")
    return np.array(tokens[0::3], dtype=object), points


def point_in_box_f1(truth: Sequence[Any], predictions: Sequence[Any]) -> float:
    """Kuzushiji F1: a "label x y" point matching an unused "label x y w h" box (strictly inside, same label).

    Source: Kaggle kuzushiji-recognition evaluation and its host's reference script (gist by Sohier Dane):
    each truth box, in order, takes the first unused prediction inside it; TP, FP and FN are summed over all
    pages and F1 = 2PR / (P + R), 0 when there is no prediction or no truth at all.
    """
    if len(truth) != len(predictions):
        raise ValueError(f"truth has {len(truth)} images, predictions {len(predictions)}")
    tp = fp = fn = 0
    for row, (t, p) in enumerate(zip(truth, predictions, strict=True)):
        boxes = parse_labeled_boxes(t, scored=False, box_format="xywh", where=f"truth row {row}")
        labels, points = _points(p, f"prediction row {row}")
        unused = np.ones(len(labels), dtype=bool)
        for label, (x0, y0, x1, y1) in zip(boxes.labels, boxes.boxes, strict=True):
            inside = (x0 < points[:, 0]) & (points[:, 0] < x1) & (y0 < points[:, 1]) & (points[:, 1] < y1)
            matching = inside & (labels == label) & unused
            if matching.any():
                unused[_first(matching)] = False
                tp += 1
            else:
                fn += 1
        fp += int(unused.sum())
    if tp == 0:
        return 0.0
    return 2 * tp / (2 * tp + fp + fn)


def parse_boxes_3d(text: Any, *, scored: bool, where: str = "row") -> LabeledBoxes:
    """Parse Lyft's "[confidence] cx cy cz width length height yaw class ..." into labels, (m, 7) boxes, scores."""
    width = 9 if scored else 8
    tokens = _text(text).split()
    if len(tokens) % width:
        raise ValueError(f"{where}: expected groups of {width} fields, got {len(tokens)} tokens")
    groups = [tokens[i : i + width] for i in range(0, len(tokens), width)]
    try:
        numbers = np.array([group[:-1] for group in groups], dtype=float).reshape(-1, width - 1)
    except ValueError:
        raise ValueError(f"{where}: a confidence or box field is not a number: {_text(text)[:80]!r}") from None
    if not np.isfinite(numbers).all():
        raise ValueError(f"{where}: confidences and box fields must be finite numbers")
    boxes = numbers[:, -7:]
    if (boxes[:, 3:6] < 0).any():
        raise ValueError(f"{where}: box {_first((boxes[:, 3:6] < 0).any(axis=1))} has a negative size")
    scores = numbers[:, 0] if scored else np.ones(len(groups))
    return LabeledBoxes(labels=np.array([group[-1] for group in groups], dtype=object), boxes=boxes, scores=scores)


def _ground_corners(box: np.ndarray) -> list[tuple[float, float]]:
    """Counter-clockwise ground corners of a 3D box: length along the yaw heading, width across it."""
    cx, cy, _, width, length, _, yaw = (float(v) for v in box)
    c, s = math.cos(yaw), math.sin(yaw)
    local = [(length / 2, width / 2), (-length / 2, width / 2), (-length / 2, -width / 2), (length / 2, -width / 2)]
    return [(cx + c * x - s * y, cy + s * x + c * y) for x, y in local]


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    """z of (a - o) x (b - o): positive when b lies left of the line o -> a."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def convex_intersection_area(subject: list[tuple[float, float]], clip: list[tuple[float, float]]) -> float:
    """Area of the intersection of two convex counter-clockwise polygons (Sutherland-Hodgman clipping)."""
    polygon = subject
    for i, a in enumerate(clip):
        b = clip[(i + 1) % len(clip)]
        inputs, polygon = polygon, []
        for j, q in enumerate(inputs):
            p = inputs[j - 1]
            dp, dq = _cross(a, b, p), _cross(a, b, q)
            if (dp >= 0) != (dq >= 0):
                t = dp / (dp - dq)
                polygon.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
            if dq >= 0:
                polygon.append(q)
        if not polygon:
            return 0.0
    twice = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True))
    return abs(twice) / 2


def box3d_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (m, p) of oriented 3D boxes cx cy cz w l h yaw: ground-polygon overlap times height overlap."""
    iou = np.zeros((len(a), len(b)))
    if not len(a) or not len(b):
        return iou
    height = np.minimum(a[:, None, 2] + a[:, None, 5] / 2, b[None, :, 2] + b[None, :, 5] / 2) - np.maximum(
        a[:, None, 2] - a[:, None, 5] / 2, b[None, :, 2] - b[None, :, 5] / 2
    )
    radius_a, radius_b = np.hypot(a[:, 3], a[:, 4]) / 2, np.hypot(b[:, 3], b[:, 4]) / 2
    distance = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
    # Polygon clipping is slow Python; only pairs whose bounding circles and heights meet can overlap.
    candidates = np.argwhere((height > 0) & (distance < radius_a[:, None] + radius_b[None, :]))
    corners_a = {int(i): _ground_corners(a[i]) for i in np.unique(candidates[:, 0])}
    for i, j in candidates:
        overlap = convex_intersection_area(_ground_corners(b[j]), corners_a[int(i)]) * height[i, j]
        union = a[i, 3] * a[i, 4] * a[i, 5] + b[j, 3] * b[j, 4] * b[j, 5] - overlap
        iou[i, j] = overlap / union if union > 0 else 0.0
    return iou


def _image_precision(true: LabeledBoxes, predicted: LabeledBoxes, thresholds: np.ndarray) -> float:
    """Mean over thresholds of TP/(TP+FP+FN), predictions by confidence taking the best free same-class truth."""
    if not len(true.labels) and not len(predicted.labels):
        return 1.0
    order = np.argsort(-predicted.scores, kind="stable")
    labels, boxes = predicted.labels[order], predicted.boxes[order]
    iou = box3d_iou(true.boxes, boxes)
    iou[true.labels[:, None] != labels[None, :]] = 0.0
    precisions = []
    for threshold in thresholds:
        free = np.ones(len(true.labels), dtype=bool)
        hits = 0
        for j in range(len(labels) if len(true.labels) else 0):
            candidates = np.where(free, iou[:, j], 0.0)
            best = int(np.argmax(candidates))
            if candidates[best] > threshold:
                free[best] = False
                hits += 1
        precisions.append(hits / (len(true.labels) + len(labels) - hits))
    return float(np.mean(precisions))


def box3d_map(
    truth: Sequence[Any],
    predictions: Sequence[Any],
    *,
    iou_thresholds: Sequence[float] = COCO_IOU_THRESHOLDS,
    average: str = "image",
) -> float:
    """Lyft 3D detection mAP over oriented-box IoU (IoU > t), t = 0.5, 0.55, ..., 0.95.

    Source: Kaggle 3d-object-detection-for-autonomous-vehicles. average="image" is the evaluation page: per
    sample the mean over thresholds of TP/(TP+FP+FN) (boxes by confidence, a prediction matching a truth box of
    its own class), then the mean over samples; a sample with no truth scores 0 with any prediction and 1
    without. average="class" is the host's lyft_dataset_sdk mAP_evaluation: per class and threshold the VOC
    all-point AP over all samples, averaged over thresholds and the classes in the truth. IoU is the ground
    rectangles' overlap (length along yaw) times the height overlap over the union of the two volumes.
    """
    if average not in ("image", "class"):
        raise ValueError(f"average must be 'image' or 'class', got {average!r}")
    if len(truth) != len(predictions):
        raise ValueError(f"truth has {len(truth)} samples, predictions {len(predictions)}")
    if not len(truth):
        raise ValueError("no samples to score")
    thresholds = _thresholds(iou_thresholds)
    true_boxes = [parse_boxes_3d(t, scored=False, where=f"truth row {row}") for row, t in enumerate(truth)]
    predicted = [parse_boxes_3d(p, scored=True, where=f"prediction row {row}") for row, p in enumerate(predictions)]
    if average == "image":
        return float(np.mean([_image_precision(t, p, thresholds) for t, p in zip(true_boxes, predicted, strict=True)]))
    precisions = []
    for name in _classes(true_boxes):
        truth_of_class = [image.boxes[image.labels == name] for image in true_boxes]
        pred_of_class = [(image.scores[image.labels == name], image.boxes[image.labels == name]) for image in predicted]
        precisions.extend(_voc_class_aps(truth_of_class, pred_of_class, thresholds, iou=box3d_iou))
    return float(np.mean(precisions))
