"""The l-z half of the Kaggle catalog: one valid config per competition, faithful to the reference CSVs.

The expected competitions are every row of ../shared/reference/mle_dojo_competitions.csv and every row of
mlebench_competitions.csv that MLE-Dojo lacks, whose slug starts with a letter l-z (case-insensitive); the
a-k half and the digits are another catalog. kaggle_catalog_l_z_reference.csv, beside this file, is a frozen
extract of those rows, checked against the CSVs whenever they are reachable ($MLE_DOJO_REFERENCE, else
../shared/reference), so the config checks run anywhere.
"""

from __future__ import annotations

import csv
import importlib
import os
import re
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pytest

from curation.spec import COMPETITIONS_DIR, CompetitionSpec, load_spec
from graders.metrics import METRICS

# Direction implied by MLE-bench's grader names (its CSV has no direction column).
MLEBENCH_GRADER_HIGHER_IS_BETTER = {
    "accuracy": True,
    "auc-roc": True,
    "auroc-multi-label": True,
    "average-haversine-distance": False,
    "dice-hausdorff-combo": True,
    "f0.5-score": True,
    "jaccard-similarity": True,
    "levenhstein-distance": False,
    "log-loss": False,
    "mAP-at-IoU>0.4": True,
    "MAP@5": True,
    "matthews-correlation-coefficient": True,
    "mean-absolute-error": False,
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
    "weighted-multi-label-log-loss": False,
}
# A config whose direction departs from a reference says why in `notes`, flagged with this.
DIRECTION_FLAG = "direction:"

# MLE-Dojo's modality_coarse, or MLE-bench's category for the rows MLE-Dojo lacks, as tags.
MODALITY_TAGS = {
    "CV": {"image"},
    "NLP": {"text"},
    "Tabular": {"tabular"},
    "Tabular/Time series": {"tabular", "time-series"},
    "Audio": {"audio"},
    "Audio (frame features)": {"audio"},
    "Video/Audio (multimodal)": {"video", "audio"},
    "Video/Tabular": {"video", "tabular"},
    "Tabular/Sequence (protein)": {"tabular", "sequence"},
    "Signal/Time series": {"signal", "time-series"},
    "CV+NLP (multimodal)": {"image", "text"},
    "Sequence (RNA)": {"sequence"},
    "Tabular/Text": {"tabular", "text"},
    "Tabular (RecSys)": {"tabular"},
    "Medical Image Classification (3D)": {"image"},
    "Image Classification": {"image"},
    "Audio Classification": {"audio"},
    "Text Question Answering": {"text"},
}
DESCRIPTION_SECTIONS = ("## Overview", "## Files", "## Columns", "## Metric", "## Submission format")
SIZE_UNITS = {"B": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}  # Kaggle shows decimal units


class Row(NamedTuple):
    """What the reference CSVs say of one competition."""

    slug: str
    higher_is_better: bool | None  # MLE-Dojo's column; None when only MLE-bench has the competition
    mlebench_grader: str | None  # None when MLE-bench lacks the competition
    modality: str
    mledojo_split: str | None  # "eval" | "train"
    lite: bool
    teams: int | None
    data_size: str | None
    split_hint: str  # MLE-bench's split_method_hint, "" when absent


ROWS_FILE = Path(__file__).with_name("kaggle_catalog_l_z_reference.csv")


def _optional_bool(text: str) -> bool | None:
    return None if text == "" else text == "True"


def read_rows(path: Path) -> list[Row]:
    """The frozen extract: one CSV line per competition, the fields of Row in order, "" for None."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Row(
                r["slug"],
                _optional_bool(r["higher_is_better"]),
                r["mlebench_grader"] or None,
                r["modality"],
                r["mledojo_split"] or None,
                r["lite"] == "True",
                int(r["teams"]) if r["teams"] else None,
                r["data_size"] or None,
                r["split_hint"],
            )
            for r in csv.DictReader(handle)
        ]


ROWS = read_rows(ROWS_FILE)
BY_SLUG = {row.slug: row for row in ROWS}


def in_half(slug: str) -> bool:
    return "l" <= slug[0].lower() <= "z"


def reference_dir() -> Path:
    """Where the reference CSVs live: $MLE_DOJO_REFERENCE, else ../shared/reference beside the repository."""
    return Path(os.environ.get("MLE_DOJO_REFERENCE", Path(__file__).resolve().parents[2] / "shared" / "reference"))


def rows_from_csvs(directory: Path) -> list[Row]:
    """The l-z rows of both CSVs as Row records, sorted like ROWS."""
    with (directory / "mle_dojo_competitions.csv").open(newline="", encoding="utf-8") as handle:
        dojo = {r["slug"]: r for r in csv.DictReader(handle)}
    with (directory / "mlebench_competitions.csv").open(newline="", encoding="utf-8") as handle:
        bench = {r["competition_id"]: r for r in csv.DictReader(handle)}
    rows = []
    for slug in {s for s in dojo if in_half(s)} | {s for s in bench if s not in dojo and in_half(s)}:
        d, m = dojo.get(slug), bench.get(slug)
        rows.append(
            Row(
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
        )
    return sorted(rows, key=lambda r: r.slug.lower())


@cache
def spec_of(slug: str) -> CompetitionSpec:
    return load_spec(COMPETITIONS_DIR / f"{slug}.yaml")


def test_frozen_rows_match_the_csvs() -> None:
    directory = reference_dir()
    if not (directory / "mle_dojo_competitions.csv").is_file():
        pytest.skip(f"reference CSVs not found in {directory}; the frozen ROWS are used alone")
    assert rows_from_csvs(directory) == ROWS


def test_catalog_holds_exactly_the_l_to_z_kaggle_competitions() -> None:
    present = {path.stem for path in COMPETITIONS_DIR.glob("*.yaml") if in_half(path.stem)}
    kaggle = {slug for slug in present if spec_of(slug).source.kind == "kaggle"}
    assert len(ROWS) == 125
    assert kaggle == set(BY_SLUG)


@pytest.mark.parametrize("slug", sorted(BY_SLUG))
def test_config_is_faithful_to_the_reference(slug: str) -> None:
    spec, row = spec_of(slug), BY_SLUG[slug]
    assert spec.source.kind == "kaggle"
    assert spec.source.url == f"https://www.kaggle.com/competitions/{slug}"
    if row.data_size:
        number, unit = row.data_size.split()
        assert (spec.source.data_size, spec.source.data_bytes) == (
            row.data_size,
            round(float(number) * SIZE_UNITS[unit]),
        )
    if row.teams is not None:
        assert spec.source.teams == row.teams

    # The metric is a contract name, and the direction is the registry's for it.
    assert spec.metric.name in METRICS
    assert spec.higher_is_better is METRICS[spec.metric.name].higher_is_better
    # ...and agrees with every reference that states one, unless the config says why not.
    references = [row.higher_is_better] if row.higher_is_better is not None else []
    if row.mlebench_grader:
        references.append(MLEBENCH_GRADER_HIGHER_IS_BETTER[row.mlebench_grader])
    if any(ref is not spec.higher_is_better for ref in references):
        assert spec.notes and DIRECTION_FLAG in spec.notes, f"{slug}: direction differs from a reference CSV"

    expected_tags = MODALITY_TAGS[row.modality] | {"kaggle"}
    if row.mledojo_split:
        expected_tags.add(f"mle-dojo-{row.mledojo_split}")
    if row.mlebench_grader:
        expected_tags.add("mle-bench")
    if row.lite:
        expected_tags.add("lite")
    if not spec.gradable:
        expected_tags.add("not-gradable")
        assert spec.notes and spec.notes.startswith("Not gradable"), f"{slug}: notes must say why it is not gradable"
    assert set(spec.tags) == expected_tags

    for section in DESCRIPTION_SECTIONS:
        assert section in spec.description, f"{slug}: description lacks {section}"


@pytest.mark.parametrize("slug", sorted(BY_SLUG))
def test_split_fits_the_task(slug: str) -> None:
    spec, split = spec_of(slug), spec_of(slug).split
    if split.method == "stratified":
        # Stratify on the label, or on the given sentiment of a span-extraction task.
        assert split.stratify_column in (*spec.target_columns, "sentiment"), slug
    if spec.task_type == "forecasting":
        assert split.method == "time", f"{slug}: a forecasting task holds out the latest window"
    match = re.search(r"(test|train)_size=([0-9._]+)\b", BY_SLUG[slug].split_hint)
    if match:
        value = float(match.group(2).replace("_", ""))
        if value < 1:
            held_out = value if match.group(1) == "test" else 1 - value
            assert split.test_fraction == pytest.approx(held_out), f"{slug}: MLE-bench holds out {held_out}"
        else:  # an absolute row count; the config's split comment gives the fraction it makes
            assert split.test_fraction < 0.5


@pytest.mark.parametrize("slug", sorted(s for s in BY_SLUG if spec_of(s).preparer))
def test_named_preparer_exists(slug: str) -> None:
    module_name, function_name = spec_of(slug).preparer.split(":")
    module = importlib.import_module(f"curation.preparers.{module_name}")
    assert callable(getattr(module, function_name))
