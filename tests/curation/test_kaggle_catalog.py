"""The Kaggle catalog: one valid config per competition of the reference lists, faithful to them.

The reference lists are tests/reference/mle_dojo_competitions.csv (MLE-Dojo's 202 competitions) and
tests/reference/mlebench_competitions.csv (MLE-bench's 82): public facts (title, metric direction, team count,
data size, modality, split) copied into the repository. Every row of either must have a config in
curation/competitions/, and every Kaggle config must be a row of one of them.
"""

from __future__ import annotations

import csv
import functools
import importlib
import re
from pathlib import Path
from typing import NamedTuple

import pytest

from curation.spec import COMPETITIONS_DIR, CompetitionSpec, load_catalog, load_spec
from graders.metrics import METRICS

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"

# Direction implied by MLE-bench's grader names (its CSV has no direction column).
MLEBENCH_GRADER_HIGHER_IS_BETTER = {
    "accuracy": True,
    "auc-roc": True,
    "auroc-multi-label": True,
    "average-haversine-distance": False,
    "column-wise ROC AUC": True,
    "column-wise-spearman": True,
    "dice-coefficient": True,
    "dice-hausdorff-combo": True,
    "f0.5-score": True,
    "f1-score": True,
    "global-dice": True,
    "jaccard-similarity": True,
    "jigsaw-unintended-bias-in-toxicity-classification-score": True,
    "kendall-tau": True,
    "KL-divergence": False,
    "label-ranking-average-precision": True,
    "levenhstein-distance": False,
    "levenshtein-distance": False,
    "log-loss": False,
    "log-mean-absolute-error": False,
    "macro-f1-score": True,
    "map-at-5": True,
    "mAP-at-IoU>0.4": True,
    "MAP@12": True,
    "MAP@5": True,
    "matthews-correlation-coefficient": True,
    "mean-absolute-error": False,
    "mean-angular-error": False,
    "mean-average-precision": True,
    "mean-column-wise-rmsle": False,
    "mean-column-wise-roc-auc": True,
    "mean-precision-intersection-over-union-at-different-thresholds": True,
    "micro-f1-score": True,
    "modified-laplace-log-likelihood": True,
    "multi-class-classification-accuracy": True,
    "multi-class-log-loss": False,
    "pearson-correlation-coefficient": True,
    "probabilistic-f1-score": True,
    "quadratic-weighted-kappa": True,
    "root-mean-squared-error": False,
    "root_mean_squared_error": False,
    "top-1-classification-error": False,
    "weighted-auroc": True,
    "weighted-multi-label-log-loss": False,
    "word-level-jaccard-score": True,
}
# A config whose direction departs from a reference says why in `notes`, flagged with this.
DIRECTION_FLAG = "direction:"

# MLE-Dojo's modality_coarse, or MLE-bench's category for the rows MLE-Dojo lacks, as the tags they imply.
MODALITY_TAGS = {
    "CV": {"image"},
    "NLP": {"text"},
    "Tabular": {"tabular"},
    "Tabular/Time series": {"tabular", "time-series"},
    "Tabular (RecSys)": {"tabular"},
    "Tabular (simulation grid)": {"tabular"},
    "Tabular/Text": {"tabular", "text"},
    "Tabular/Sequence (protein)": {"tabular", "sequence"},
    "Audio": {"audio"},
    "Audio (frame features)": {"audio"},
    "Video/Audio (multimodal)": {"video", "audio"},
    "Video/Tabular": {"video", "tabular"},
    "Signal/Time series": {"signal", "time-series"},
    "CV+NLP (multimodal)": {"image", "text"},
    "Sequence (RNA)": {"sequence"},
    "Object Detection (3D)": {"image"},
    "Image Segmentation": {"image"},
    "Medical Image Classification (3D)": {"image"},
    "Image Classification": {"image"},
    "Audio Classification": {"audio"},
    "Text Question Answering": {"text"},
}
# Finer modality tags a config may add where the reference's coarse modality says less.
EXTRA_MODALITY_TAGS = {"geospatial", "lidar", "recommender-systems", "simulation", "tabular"}
CURATION_TAGS = {"kaggle", "mle-bench", "lite", "mle-dojo-eval", "mle-dojo-train", "not-gradable"}
STRATIFIABLE_TASK_TYPES = (
    "binary",
    "multiclass",
    "multilabel",
    "text_classification",
    "image_classification",
    "ranking",
    "sequence",
    "rating",
)
SIZE_UNITS = {"B": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}  # Kaggle shows decimal units


class Reference(NamedTuple):
    """What the reference CSVs say of one competition."""

    slug: str
    higher_is_better: bool | None  # MLE-Dojo's column; None when only MLE-bench has the competition
    mlebench_grader: str | None  # None when MLE-bench lacks the competition
    modality: str
    mledojo_split: str | None  # "eval" | "train"; None when only MLE-bench has it
    lite: bool
    teams: int | None
    data_size: str | None
    split_hint: str  # MLE-bench's split_method_hint, "" when absent


def _rows(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_references() -> dict[str, Reference]:
    """Every competition of either CSV, by slug."""
    dojo = {row["slug"]: row for row in _rows("mle_dojo_competitions.csv")}
    bench = {row["competition_id"]: row for row in _rows("mlebench_competitions.csv")}
    references = {}
    for slug in dojo.keys() | bench.keys():
        d, m = dojo.get(slug), bench.get(slug)
        references[slug] = Reference(
            slug,
            d["higher_is_better"] == "True" if d else None,
            m["grader_name"] if m else None,
            d["modality_coarse"] if d else m["category"],
            ("eval" if d["mledojo_split"].startswith("eval") else "train") if d else None,
            bool(m and m["lite"] == "yes"),
            int(d["kaggle_teams"].replace(",", "")) if d and d["kaggle_teams"] else None,
            (d["kaggle_data_size"] or None) if d else None,
            m["split_method_hint"] if m else "",
        )
    return references


REFERENCES = read_references()
SLUGS = sorted(REFERENCES, key=str.lower)


@functools.cache
def spec_of(slug: str) -> CompetitionSpec:
    return load_spec(COMPETITIONS_DIR / f"{slug}.yaml")


def test_reference_lists_are_whole() -> None:
    assert len(_rows("mle_dojo_competitions.csv")) == 202
    assert len(_rows("mlebench_competitions.csv")) == 82
    assert len(REFERENCES) == 209
    graders = {r.mlebench_grader for r in REFERENCES.values() if r.mlebench_grader}
    assert graders <= MLEBENCH_GRADER_HIGHER_IS_BETTER.keys()
    assert {r.modality for r in REFERENCES.values()} <= MODALITY_TAGS.keys()


def test_catalog_holds_exactly_the_reference_competitions() -> None:
    catalog = load_catalog(COMPETITIONS_DIR)
    assert catalog.errors == []
    kaggle = {spec.slug for spec in catalog.specs.values() if spec.source.kind == "kaggle"}
    assert kaggle == set(REFERENCES)


@pytest.mark.parametrize("slug", SLUGS)
def test_config_is_faithful_to_the_reference(slug: str) -> None:
    spec, reference = spec_of(slug), REFERENCES[slug]
    assert spec.source.kind == "kaggle"
    assert spec.source.url == f"https://www.kaggle.com/competitions/{slug}"
    if reference.teams is not None:
        assert spec.source.teams == reference.teams
    assert spec.source.data_size == reference.data_size
    if reference.data_size:
        number, unit = reference.data_size.split()
        assert spec.source.data_bytes == round(float(number) * SIZE_UNITS[unit])

    # The metric is a registry name, and the direction is the registry's for it...
    assert spec.metric.name in METRICS, f"{slug}: metric {spec.metric.name!r} is not in the registry"
    assert spec.higher_is_better is METRICS[spec.metric.name].higher_is_better
    # ...and agrees with every reference that states one, unless the config says why not.
    stated = [reference.higher_is_better] if reference.higher_is_better is not None else []
    if reference.mlebench_grader:
        stated.append(MLEBENCH_GRADER_HIGHER_IS_BETTER[reference.mlebench_grader])
    if any(direction is not spec.higher_is_better for direction in stated):
        assert spec.notes and DIRECTION_FLAG in spec.notes, (
            f"{slug}: higher_is_better={spec.higher_is_better} differs from a reference ({stated}); "
            f"a deliberate difference needs '{DIRECTION_FLAG}' in notes"
        )


@pytest.mark.parametrize("slug", SLUGS)
def test_tags_follow_the_reference(slug: str) -> None:
    spec, reference = spec_of(slug), REFERENCES[slug]
    tags = set(spec.tags)
    expected = {"kaggle"}
    if reference.mledojo_split:
        expected.add(f"mle-dojo-{reference.mledojo_split}")
    if reference.mlebench_grader:
        expected.add("mle-bench")
    if reference.lite:
        expected.add("lite")
    if not spec.gradable:
        expected.add("not-gradable")
    assert tags & CURATION_TAGS == expected
    modality = MODALITY_TAGS[reference.modality]
    assert modality <= tags, f"{slug}: {reference.modality!r} implies tags {sorted(modality)}"
    assert tags - CURATION_TAGS - modality <= EXTRA_MODALITY_TAGS


@pytest.mark.parametrize("slug", SLUGS)
def test_config_is_buildable_or_says_why_not(slug: str) -> None:
    spec = spec_of(slug)
    if not spec.gradable:
        assert spec.notes and spec.notes.startswith("Not gradable"), f"{slug}: a non-gradable config says why"
        return
    if spec.preparer:
        module_name, function_name = spec.preparer.split(":")
        module = importlib.import_module(f"curation.preparers.{module_name}")
        assert callable(getattr(module, function_name, None)), f"{slug}: preparer {spec.preparer} not found"
    if spec.split.method == "stratified" and spec.split.stratify_column in spec.target_columns:
        assert spec.task_type in STRATIFIABLE_TASK_TYPES, f"{slug}: {spec.task_type} has no classes to stratify on"
    if spec.submission_format == "class_probabilities":
        assert METRICS[spec.metric.name].prediction == "class_probabilities"


@pytest.mark.parametrize("slug", SLUGS)
def test_split_fits_the_task(slug: str) -> None:
    spec, split = spec_of(slug), spec_of(slug).split
    if split.method == "stratified":
        # Stratify on the label, or on a column the agent is told of (sentiment, language, ...).
        column = split.stratify_column
        assert column in spec.target_columns or column in spec.description, slug
    if spec.task_type == "forecasting":
        assert split.method == "time", f"{slug}: a forecasting task holds out the latest window"
    match = re.search(r"(test|train)_size=([0-9._]+)\b", REFERENCES[slug].split_hint)
    if match and spec.gradable:
        value = float(match.group(2).replace("_", ""))
        if value < 1:
            held_out = value if match.group(1) == "test" else 1 - value
            assert split.test_fraction == pytest.approx(held_out), f"{slug}: MLE-bench holds out {held_out}"
        else:  # an absolute row count; the config's split comment gives the fraction it makes
            assert split.test_fraction < 0.5


@pytest.mark.parametrize("slug", SLUGS)
def test_description_covers_the_task(slug: str) -> None:
    description = spec_of(slug).description
    assert description.startswith("#"), f"{slug}: a description starts with a heading"
    for section in ("## Metric", "## Submission"):
        assert section in description, f"{slug}: description lacks {section!r}"
    assert "## Files" in description or "## Target" in description
