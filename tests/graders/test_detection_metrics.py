"""Parity and edge-case tests for graders.detection_metrics (COCO mAP vs pycocotools, VOC and Kuzushiji by hand)."""

import contextlib
import io
import math

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from graders.detection_metrics import (
    _ground_corners,
    box3d_iou,
    box3d_map,
    coco_map,
    convex_intersection_area,
    parse_labeled_boxes,
    point_in_box_f1,
    voc_map,
)


def _random_case(seed: int, n_images: int = 12) -> tuple[list[str], list[str], list[dict], list[dict]]:
    """Random truth and noisy predictions as xywh strings, plus the same boxes as COCO annotation dicts."""
    rng = np.random.default_rng(seed)
    truth, predictions, annotations, detections = [], [], [], []
    for image in range(n_images):
        true_tokens: list[str] = []
        for _ in range(rng.integers(0, 5)):
            label = int(rng.integers(1, 4))
            x, y, w, h = (float(v) for v in (*rng.uniform(0, 200, 2), *rng.uniform(5, 80, 2)))
            true_tokens += [str(label), f"{x!r}", f"{y!r}", f"{w!r}", f"{h!r}"]
            annotations.append(
                {"id": len(annotations) + 1, "image_id": image + 1, "category_id": label, "bbox": [x, y, w, h],
                 "area": w * h, "iscrowd": 0}
            )  # fmt: skip
            if rng.random() < 0.8:  # a detection near the truth, sometimes with the wrong class
                jitter = rng.normal(0, 6, 4)
                box = [
                    float(x + jitter[0]),
                    float(y + jitter[1]),
                    max(float(w + jitter[2]), 1.0),
                    max(float(h + jitter[3]), 1.0),
                ]
                guess = label if rng.random() < 0.85 else int(rng.integers(1, 4))
                detections.append((image, guess, float(rng.random()), box))
        for _ in range(rng.integers(0, 3)):  # false alarms
            box = [float(v) for v in (*rng.uniform(0, 200, 2), *rng.uniform(5, 60, 2))]
            detections.append((image, int(rng.integers(1, 4)), float(rng.random()), box))
        truth.append(" ".join(true_tokens))
        predictions.append("")
    results = []
    for image, label, confidence, box in detections:
        predictions[image] += f" {label} {confidence!r} " + " ".join(f"{v!r}" for v in box)
        results.append({"image_id": image + 1, "category_id": label, "bbox": box, "score": confidence})
    return truth, [p.strip() for p in predictions], annotations, results


def _pycocotools_map(n_images: int, annotations: list[dict], results: list[dict], thresholds: list[float]) -> float:
    """stats[0] of pycocotools' COCOeval over the given boxes."""
    categories = sorted({a["category_id"] for a in annotations})
    ground = COCO()
    ground.dataset = {
        "images": [{"id": i + 1} for i in range(n_images)],
        "categories": [{"id": c} for c in categories],
        "annotations": annotations,
    }
    with contextlib.redirect_stdout(io.StringIO()):
        ground.createIndex()
        detected = ground.loadRes(results) if results else COCO()
        evaluator = COCOeval(ground, detected, "bbox")
        evaluator.params.iouThrs = np.array(thresholds)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return float(evaluator.stats[0])


@pytest.mark.parametrize("seed", range(6))
def test_coco_map_matches_pycocotools(seed: int) -> None:
    truth, predictions, annotations, results = _random_case(seed)
    thresholds = [round(0.5 + 0.05 * i, 2) for i in range(10)]
    expected = _pycocotools_map(len(truth), annotations, results, thresholds)
    assert expected > 0
    assert coco_map(truth, predictions, box_format="xywh") == pytest.approx(expected, abs=1e-9)


def test_coco_map_matches_pycocotools_at_one_threshold() -> None:
    truth, predictions, annotations, results = _random_case(99, n_images=20)
    expected = _pycocotools_map(len(truth), annotations, results, [0.4])
    assert coco_map(truth, predictions, box_format="xywh", iou_thresholds=[0.4]) == pytest.approx(expected, abs=1e-9)


def test_coco_map_edges() -> None:
    # Perfect detections score 1; a class with truth but no detection scores 0 in the mean.
    assert coco_map(["a 0 0 10 10 b 20 20 30 30"], ["a 0.9 0 0 10 10 b 0.8 20 20 30 30"]) == 1.0
    assert coco_map(["a 0 0 10 10 b 20 20 30 30"], ["a 0.9 0 0 10 10"]) == 0.5
    # Detections of a class absent from the truth are ignored, as COCOeval does.
    assert coco_map(["a 0 0 10 10"], ["a 0.9 0 0 10 10 zzz 0.99 0 0 10 10"]) == 1.0
    assert coco_map(["a 0 0 10 10", None], ["", float("nan")]) == 0.0
    with pytest.raises(ValueError, match="truth has no boxes"):
        coco_map(["", ""], ["a 0.5 0 0 1 1", ""])


def test_voc_map_hand_computed() -> None:
    # One class, 3 true boxes. By confidence: TP (0.9), FP (0.8, no overlap), TP (0.7), FP (0.6, a second
    # detection of an already found box). Precision 1, 1/2, 2/3, 1/2 at recall 1/3, 1/3, 2/3, 2/3:
    # AP = 1/3 * 1 + 1/3 * 2/3 = 5/9.
    truth = ["1 0 0 10 10 1 50 50 60 60", "1 0 0 20 20"]
    predictions = ["1 0.9 0 0 10 10 1 0.8 100 100 110 110 1 0.6 0 0 10 10", "1 0.7 0 0 20 20"]
    assert voc_map(truth, predictions, iou_threshold=0.4) == pytest.approx(5 / 9)
    # A second class, the "no finding" convention (class 14, box 0 0 1 1), found perfectly: mean of 5/9 and 1.
    truth2 = [truth[0] + " 14 0 0 1 1", truth[1]]
    predictions2 = [predictions[0] + " 14 0.5 0 0 1 1", predictions[1]]
    assert voc_map(truth2, predictions2, iou_threshold=0.4) == pytest.approx((5 / 9 + 1) / 2)


def test_voc_map_threshold_is_strict_and_duplicates_are_false_positives() -> None:
    # IoU of 0 0 10 10 with 0 0 10 5 is exactly 0.5: not a match at 0.5 (VOC needs IoU > t), a match at 0.4.
    assert voc_map(["c 0 0 10 10"], ["c 0.9 0 0 10 5"], iou_threshold=0.5) == 0.0
    assert voc_map(["c 0 0 10 10"], ["c 0.9 0 0 10 5"], iou_threshold=0.4) == 1.0
    # Two detections of one box: the second is a false positive, but it ranks last so AP stays 1.
    assert voc_map(["c 0 0 10 10"], ["c 0.9 0 0 10 10 c 0.1 0 0 10 10"]) == 1.0
    # The same duplicate ranked first drops the precision at full recall to 1/2.
    assert voc_map(["c 0 0 10 10 c 30 30 40 40"], ["c 0.9 0 0 10 10 c 0.8 0 0 10 10 c 0.7 30 30 40 40"]) == (
        pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    )
    # SIIM style: study classes and image "none" rows share the mean.
    truth = ["negative 0 0 1 1", "opacity 10 10 50 50", "none 0 0 1 1"]
    guesses = ["negative 0.7 0 0 1 1 typical 0.3 0 0 1 1", "opacity 0.8 12 12 50 50", "opacity 0.9 0 0 5 5"]
    # negative: AP 1; opacity: FP (0.9) then TP (0.8): AP 1/2; none: never predicted, AP 0.
    assert voc_map(truth, guesses) == pytest.approx((1 + 0.5 + 0) / 3)


def test_parsing_errors_name_the_row() -> None:
    with pytest.raises(ValueError, match="prediction row 1: expected groups of 6 fields"):
        voc_map(["a 0 0 1 1", "a 0 0 1 1"], ["a 0.5 0 0 1 1", "a 0.5 0 0 1"])
    with pytest.raises(ValueError, match="truth row 0: box 0 has x1 < x0"):
        voc_map(["a 5 0 1 1"], [""])
    with pytest.raises(ValueError, match="not a number"):
        coco_map(["a 0 0 1 1"], ["a high 0 0 1 1"])
    with pytest.raises(ValueError, match="finite"):
        coco_map(["a 0 0 1 1"], ["a nan 0 0 1 1"])
    with pytest.raises(ValueError, match="negative width"):
        parse_labeled_boxes("a 0 0 -1 1", scored=False, box_format="xywh")
    with pytest.raises(ValueError, match="box_format"):
        parse_labeled_boxes("a 0 0 1 1", scored=False, box_format="cxcywh")
    with pytest.raises(ValueError, match="2 images, predictions 1"):
        coco_map(["a 0 0 1 1", ""], [""])
    with pytest.raises(ValueError, match="IoU thresholds"):
        voc_map(["a 0 0 1 1"], [""], iou_threshold=1.5)


def test_point_in_box_f1_hand_computed() -> None:
    # Page 0: boxes U+3042 at (0,0,10,10) and U+3044 at (20,0,10,10). Points: one inside the first box with the
    # right label (TP), one inside the second with the wrong label (FP; the box is an FN), one on the first
    # box's edge (strictly inside is required: FP). Page 1: no truth, one point (FP). Page 2: a box, no point (FN).
    truth = ["U+3042 0 0 10 10 U+3044 20 0 10 10", None, "U+3046 0 0 5 5"]
    predictions = ["U+3042 5 5 U+3042 25 5 U+3042 10 5", "U+3042 1 1", ""]
    tp, fp, fn = 1, 3, 2
    assert point_in_box_f1(truth, predictions) == pytest.approx(2 * tp / (2 * tp + fp + fn))
    # One prediction serves one box only: two boxes of one label, one point inside both.
    assert point_in_box_f1(["a 0 0 10 10 a 0 0 10 10"], ["a 5 5"]) == pytest.approx(2 / 3)
    assert point_in_box_f1([""], [""]) == 0.0
    with pytest.raises(ValueError, match="prediction row 0: expected groups of 3"):
        point_in_box_f1(["a 0 0 1 1"], ["a 1"])


def test_convex_intersection_area() -> None:
    square = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
    diamond = [
        (math.sqrt(2) * math.cos(a), math.sqrt(2) * math.sin(a)) for a in (0, math.pi / 2, math.pi, 1.5 * math.pi)
    ]
    # A 2x2 square and itself turned 45 degrees overlap in a regular octagon of area 8 (sqrt(2) - 1).
    assert convex_intersection_area(square, diamond) == pytest.approx(8 * (math.sqrt(2) - 1))
    assert convex_intersection_area(square, square) == pytest.approx(4.0)
    far = [(x + 5, y) for x, y in square]
    assert convex_intersection_area(square, far) == 0.0
    # Random rectangles against a Monte Carlo estimate.
    rng = np.random.default_rng(31)
    for _ in range(3):
        a = _ground_corners(np.array([0, 0, 0, 2.0, 4.0, 1, rng.uniform(-3, 3)]))
        b = _ground_corners(np.array([*rng.uniform(-1.5, 1.5, 2), 0, 1.5, 3.0, 1, rng.uniform(-3, 3)]))
        points = rng.uniform(-4, 4, (200_000, 2))
        inside_a = np.all([_left(p, q, points) for p, q in zip(a, a[1:] + a[:1], strict=True)], axis=0)
        inside_b = np.all([_left(p, q, points) for p, q in zip(b, b[1:] + b[:1], strict=True)], axis=0)
        estimate = 64 * np.mean(inside_a & inside_b)
        assert convex_intersection_area(a, b) == pytest.approx(estimate, abs=0.1)


def _left(p: tuple[float, float], q: tuple[float, float], points: np.ndarray) -> np.ndarray:
    """Points on the left of the directed line p -> q."""
    return (q[0] - p[0]) * (points[:, 1] - p[1]) - (q[1] - p[1]) * (points[:, 0] - p[0]) >= 0


def test_box3d_iou_hand_computed() -> None:
    # Width 2 across, length 4 along the heading (yaw 0: along x), height 2.
    a = np.array([[0.0, 0.0, 0.0, 2.0, 4.0, 2.0, 0.0]])
    shifted = np.array([[1.0, 0.0, 0.5, 2.0, 4.0, 2.0, 0.0]])  # ground overlap 3 x 2, height overlap 1.5
    assert box3d_iou(a, shifted)[0, 0] == pytest.approx(9 / (16 + 16 - 9))
    turned = np.array([[0.0, 0.0, 0.0, 2.0, 4.0, 2.0, math.pi / 2]])  # ground overlap 2 x 2
    assert box3d_iou(a, turned)[0, 0] == pytest.approx(8 / (32 - 8))
    above = np.array([[0.0, 0.0, 5.0, 2.0, 4.0, 2.0, 0.0]])
    assert box3d_iou(a, above)[0, 0] == 0.0
    # Turning the whole scene about the origin changes nothing.
    angle = 0.7
    c, s = math.cos(angle), math.sin(angle)
    moved = [
        np.array([[c * b[0] - s * b[1], s * b[0] + c * b[1], b[2], b[3], b[4], b[5], b[6] + angle]])
        for b in (a[0], shifted[0])
    ]
    assert box3d_iou(*moved)[0, 0] == pytest.approx(9 / 23)


def _car(x: float, confidence: float | None = None, name: str = "car") -> str:
    """A 2 x 4 x 2 box at (x, 0, 0), yaw 0."""
    box = f"{x} 0 0 2 4 2 0 {name}"
    return box if confidence is None else f"{confidence} {box}"


def test_box3d_map_per_image_as_the_page_defines() -> None:
    # Shifted 0.65 along its length: IoU 3.35 / 4.65 = 0.72, a hit at 0.5..0.7 (5 of 10 thresholds).
    assert box3d_map([_car(0)], [_car(0.65, 1.0)]) == pytest.approx(0.5)
    assert box3d_map([_car(0)], [_car(0, 1.0)]) == 1.0
    # The class must match; a sample without truth scores 0 with any prediction and 1 without.
    assert box3d_map([_car(0)], [_car(0, 1.0, name="bus")]) == 0.0
    assert box3d_map(["", ""], [_car(0, 1.0), ""]) == pytest.approx(0.5)
    # Two predictions of one car: at t <= 0.7 the more confident shifted box takes it and the exact one is a
    # false positive; above, the shifted box misses and the exact one hits. TP 1, FP 1 everywhere: 1/2.
    assert box3d_map([_car(0)], [f"{_car(0.65, 0.9)} {_car(0, 0.8)}"]) == pytest.approx(0.5)


def test_box3d_map_per_class_as_the_sdk() -> None:
    # Two samples, one car each: exact (0.9) and shifted 0.65 (0.8). Thresholds up to 0.7: AP 1; from 0.75 on
    # the second is a false positive after a hit: AP = 1/2 * 1. Mean over thresholds 0.75.
    truth = [_car(0), _car(10)]
    guesses = [_car(0, 0.9), _car(10.65, 0.8)]
    assert box3d_map(truth, guesses, average="class") == pytest.approx(0.75)
    with pytest.raises(ValueError, match="prediction row 0: expected groups of 9"):
        box3d_map(truth, [_car(0), ""])
    with pytest.raises(ValueError, match="negative size"):
        box3d_map(["0 0 0 -2 4 2 0 car"], [""])
    with pytest.raises(ValueError, match="average"):
        box3d_map(truth, guesses, average="sample")


def test_box3d_iou_against_monte_carlo_volumes() -> None:
    rng = np.random.default_rng(5)
    a = np.array([[0.0, 0.0, 0.0, 1.8, 4.5, 1.6, rng.uniform(-3, 3)]])
    b = np.array([[*rng.uniform(-1, 1, 2), 0.3, 2.0, 4.0, 1.5, rng.uniform(-3, 3)]])
    points = rng.uniform(-4, 4, (400_000, 3))

    def inside(box: np.ndarray) -> np.ndarray:
        corners = _ground_corners(box)
        edges = zip(corners, corners[1:] + corners[:1], strict=True)
        ground = np.all([_left(p, q, points[:, :2]) for p, q in edges], axis=0)
        return ground & (np.abs(points[:, 2] - box[2]) <= box[5] / 2)

    in_a, in_b = inside(a[0]), inside(b[0])
    estimate = (in_a & in_b).sum() / (in_a | in_b).sum()
    assert box3d_iou(a, b)[0, 0] == pytest.approx(estimate, abs=0.01)
    assert box3d_iou(b, a)[0, 0] == pytest.approx(box3d_iou(a, b)[0, 0])
