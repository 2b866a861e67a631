"""Every offline competition (builtin or synthetic source): its YAML, its labeled table, its metric, its description."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from PIL import Image

from curation.builtin_datasets import load_builtin
from curation.sources import labeled_table, write_table
from curation.spec import COMPETITIONS_DIR, CompetitionSpec, load_spec
from curation.synthetic import generate
from graders.metrics import get_metric

OFFLINE_KINDS = ("builtin", "synthetic")
MODALITIES = frozenset({"tabular", "text", "image", "time-series", "recsys"})
CLASSIFICATION = frozenset({"binary", "multiclass", "text_classification", "image_classification"})
# A builtin dataset must stay small enough to fit a dozen scikit-learn models in seconds.
MAX_BUILTIN_ROWS = 50_000
SALT = bytes(range(32))  # a fixed test salt; builds draw theirs from curation.secret
SECTIONS = ("## Overview", "## Files", "## Columns", "## Evaluation", "## Submission format")


def _offline_paths() -> list[Path]:
    """YAML files whose source kind is builtin or synthetic (others belong to the Kaggle catalog)."""
    paths = []
    for path in sorted(COMPETITIONS_DIR.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(raw, dict) and isinstance(raw.get("source"), dict) and raw["source"].get("kind") in OFFLINE_KINDS:
            paths.append(path)
    return paths


OFFLINE_PATHS = _offline_paths()
SPECS: dict[str, CompetitionSpec] = {path.stem: load_spec(path) for path in OFFLINE_PATHS}
SLUGS = sorted(SPECS)


class LabeledTables(dict[str, pl.DataFrame]):
    """Labeled tables built on first use the way the fetch step builds them: raw data.parquet, then the spec."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def __missing__(self, slug: str) -> pl.DataFrame:
        spec = SPECS[slug]
        files_dir = self.root / slug / "files"
        files_dir.mkdir(parents=True)
        source = spec.source
        if source.kind == "builtin":
            raw = load_builtin(source.dataset)
        else:
            assert source.kind == "synthetic"
            raw = generate(source.generator, source.rows, source.seed, source.params)
        write_table(raw, files_dir / "data.parquet")
        self[slug] = labeled_table(spec, files_dir, SALT)
        return self[slug]


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> LabeledTables:
    """One build per competition for the whole module."""
    return LabeledTables(tmp_path_factory.mktemp("offline-raw"))


@pytest.mark.parametrize("path", OFFLINE_PATHS, ids=lambda path: path.stem)
def test_offline_yaml_validates(path: Path) -> None:
    spec = load_spec(path)
    assert spec.source.kind in OFFLINE_KINDS
    assert spec.slug == path.stem


@pytest.mark.parametrize("slug", SLUGS)
def test_labeled_table_has_unique_ids_targets_and_split_columns(slug: str, tables: LabeledTables) -> None:
    spec = SPECS[slug]
    table = tables[slug]
    assert table.height >= 150, f"{slug}: only {table.height} rows"
    ids = table[spec.id_column]
    assert ids.null_count() == 0 and ids.n_unique() == table.height
    for target in spec.target_columns:
        assert target in table.columns and table[target].null_count() == 0, target
    for column in (spec.split.stratify_column, spec.split.group_column, spec.split.time_column):
        if column:
            assert column in table.columns and table[column].null_count() == 0, column
    features = set(table.columns) - {spec.id_column, *spec.target_columns}
    assert features, f"{slug}: no feature columns"
    if spec.source.kind == "builtin":
        assert table.height <= MAX_BUILTIN_ROWS, f"{slug}: {table.height} rows; cap them with source.max_rows"


@pytest.mark.parametrize("slug", SLUGS)
def test_ids_say_nothing_about_the_target(slug: str, tables: LabeledTables) -> None:
    """The order of ids must not follow the target, or sorting by id would be a leak."""
    spec = SPECS[slug]
    table = tables[slug].sort(spec.id_column)
    position = np.arange(table.height, dtype=float)
    worst = 0.0
    for target in spec.target_columns:
        values = table[target]
        if values.dtype.is_numeric() and values.n_unique() > 10:
            ranks = values.rank("average").to_numpy().astype(float)
            worst = max(worst, abs(np.corrcoef(position, ranks)[0, 1]))
        else:
            for level in values.unique().to_list():
                indicator = (values == level).to_numpy().astype(float)
                worst = max(worst, abs(np.corrcoef(position, indicator)[0, 1]))
    assert worst < spec.leak.max_order_correlation, f"{slug}: id order correlates {worst:.2f} with the target"


@pytest.mark.parametrize("slug", SLUGS)
def test_metric_is_a_contract_metric_that_fits_the_target(slug: str, tables: LabeledTables) -> None:
    spec = SPECS[slug]
    metric = get_metric(spec.metric.name)  # KeyError for a name outside the registry (test_metrics pins it)
    assert spec.higher_is_better is metric.higher_is_better
    assert (spec.submission_format == "class_probabilities") == (metric.prediction == "class_probabilities")
    table = tables[slug]
    truth = table.select(spec.target_columns).to_numpy()
    truth = truth[:, 0] if truth.shape[1] == 1 else truth
    if metric.prediction == "probability":
        assert set(np.unique(truth).tolist()) == {0, 1}, f"{slug}: {spec.metric.name} needs 0/1 targets"
    if spec.metric.name in ("rmsle", "msle", "mcrmsle"):
        assert (truth >= 0).all(), f"{slug}: {spec.metric.name} needs non-negative targets"
    if metric.prediction == "label":
        assert spec.task_type in CLASSIFICATION
    # Perfect predictions are accepted and score the metric's best value.
    params = dict(spec.metric.params)
    if metric.prediction == "class_probabilities":
        labels = sorted(np.unique(truth).tolist())
        one_hot = (truth[:, None] == np.array(labels)[None, :]).astype(float)
        score = metric.fn(truth, one_hot, **{"labels": labels, **params})
    elif metric.prediction in ("probability", "number"):
        score = metric.fn(truth, truth.astype(float), **params)
    else:
        score = metric.fn(truth, truth, **params)
    best = {"r2": 1.0, "smape": 0.0}.get(spec.metric.name, 1.0 if metric.higher_is_better else 0.0)
    assert score == pytest.approx(best, abs=1e-6), f"{slug}: perfect predictions score {score}"


@pytest.mark.parametrize("slug", SLUGS)
def test_description_documents_every_column_and_the_submission(slug: str, tables: LabeledTables) -> None:
    spec = SPECS[slug]
    text = spec.description
    for section in SECTIONS:
        assert section in text, f"{slug}: description lacks {section!r}"
    documented = set(re.findall(r"`([^`\s]+)`", text))
    undocumented = [column for column in tables[slug].columns if column not in documented]
    assert not undocumented, f"{slug}: description does not describe columns {undocumented}"
    example = re.search(r"```csv\n(.+?)\n", text)
    assert example, f"{slug}: no csv example in the submission format section"
    if spec.submission_format == "class_probabilities":
        classes = sorted(str(value) for value in tables[slug][spec.target_columns[0]].unique().to_list())
        expected = [spec.id_column, *classes]
    else:
        expected = [spec.id_column, *spec.target_columns]
    assert example.group(1).split(",") == expected


@pytest.mark.parametrize("slug", SLUGS)
def test_tags_name_modality_task_and_offline(slug: str) -> None:
    spec = SPECS[slug]
    assert "offline" in spec.tags
    assert spec.task_type in spec.tags
    assert MODALITIES & set(spec.tags), f"{slug}: no modality tag among {sorted(MODALITIES)}"


def test_classification_splits_keep_class_balance_or_structure() -> None:
    """Classification tasks are stratified unless groups or time decide the split."""
    for spec in SPECS.values():
        if spec.task_type in CLASSIFICATION:
            assert spec.split.method in ("stratified", "group", "time"), spec.slug
            if spec.split.method == "stratified":
                assert spec.split.stratify_column in spec.target_columns, spec.slug


def test_the_offline_benchmark_covers_every_kind_of_task() -> None:
    builtin = [spec for spec in SPECS.values() if spec.source.kind == "builtin"]
    synthetic = [spec for spec in SPECS.values() if spec.source.kind == "synthetic"]
    assert len(builtin) >= 22 and "synthetic-tabular-binary" in {spec.slug for spec in synthetic}
    task_types = {spec.task_type for spec in SPECS.values()}
    required = {
        "binary",
        "multiclass",
        "regression",
        "multi_regression",
        "forecasting",
        "text_classification",
        "image_classification",
        "rating",
    }
    assert required <= task_types, required - task_types
    assert {"stratified", "group", "time"} <= {spec.split.method for spec in SPECS.values()}
    assert any("imbalanced" in spec.tags and spec.task_type == "binary" for spec in SPECS.values())
    assert all(spec.split.time_column for spec in SPECS.values() if spec.task_type == "forecasting")
    assert len({spec.metric.name for spec in SPECS.values()}) >= 15


def test_digit_images_are_written_for_every_row(tables: LabeledTables, tmp_path: Path) -> None:
    spec = SPECS["digits-images"]
    assert spec.files.media is not None
    files_dir = tmp_path / "files"
    files_dir.mkdir()
    write_table(load_builtin("sklearn:digits"), files_dir / "data.parquet")
    table = labeled_table(spec, files_dir, SALT)
    assert table.equals(tables["digits-images"])
    image_dir = files_dir / spec.files.media.raw_dir
    assert sorted(path.name for path in image_dir.iterdir()) == sorted(table[spec.files.media.column].to_list())
    first = table.row(0, named=True)
    with Image.open(image_dir / first[spec.files.media.column]) as image:
        assert image.size == (8, 8) and image.mode == "L"
    assert first[spec.files.media.column] == f"{first[spec.id_column]}.png"


def test_preparers_are_deterministic(tables: LabeledTables, tmp_path: Path) -> None:
    for slug in ("penguins-species", "trump-tweets-source", "nycflights-daily-departures", "caravan-insurance"):
        spec = SPECS[slug]
        files_dir = tmp_path / slug
        files_dir.mkdir()
        assert spec.source.kind == "builtin"
        write_table(load_builtin(spec.source.dataset), files_dir / "data.parquet")
        assert labeled_table(spec, files_dir, SALT).equals(tables[slug]), slug


def test_exact_repeats_are_kept_once(tables: LabeledTables) -> None:
    # modeldata's meats repeats 22 of its 215 samples exactly; a repeat split across train and test answers itself.
    table = tables["meats-composition"]
    assert table.height == 193
    assert table.drop(SPECS["meats-composition"].id_column).is_duplicated().sum() == 0
