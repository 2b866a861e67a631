"""The a-k Kaggle catalog: one valid config per competition of the reference lists, faithful to them.

The reference lists are ../shared/reference/mle_dojo_competitions.csv (every row) and mlebench_competitions.csv
(rows MLE-Dojo lacks), restricted to slugs starting with a-k or a digit; the l-z half is another catalog.
REFERENCE below is a frozen extract of those rows, checked against the CSVs whenever they are reachable
(MLE_DOJO_REFERENCE or ../shared/reference), so the config checks also run where the CSVs are not.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
from pathlib import Path
from typing import NamedTuple

import polars as pl
import pytest

from curation.spec import COMPETITIONS_DIR, CompetitionSpec, load_catalog, load_spec
from graders.metrics import METRICS

A_TO_K = re.compile(r"^[a-kA-K0-9]")
SIZE_UNITS = {"kB": 10**3, "MB": 10**6, "GB": 10**9}
# Direction of the MLE-bench graders of the competitions MLE-Dojo lacks (its CSV has no direction column).
MLEBENCH_GRADER_HIGHER_IS_BETTER = {"mean-average-precision": True, "global-dice": True}
# A config whose direction departs from the reference says why in `notes`, starting the reason with this flag.
DIRECTION_FLAG = "direction:"


class Reference(NamedTuple):
    """What the reference CSVs say of one competition."""

    slug: str
    higher_is_better: bool
    mledojo_split: str | None  # "eval" | "train"; None when only MLE-bench has it
    mle_bench: bool
    lite: bool
    teams: int | None
    data_size: str | None


REFERENCE = [
    Reference("20-newsgroups-ciphertext-challenge", True, "eval", False, False, 142, "36.97 MB"),
    Reference("3d-object-detection-for-autonomous-vehicles", True, None, True, False, None, None),
    Reference("acquire-valued-shoppers-challenge", True, "train", False, False, 949, "3.07 GB"),
    Reference("aerial-cactus-identification", True, "eval", True, True, 1221, "25.4 MB"),
    Reference("afsis-soil-properties", False, "train", False, False, 1231, "21.7 MB"),
    Reference("AI4Code", True, "eval", True, False, 1135, "2.16 GB"),
    Reference("airbnb-recruiting-new-user-bookings", True, "train", False, False, 1458, "67.85 MB"),
    Reference("airbus-ship-detection", True, "eval", False, False, 878, "31.41 GB"),
    Reference("alaska2-image-steganalysis", True, "eval", True, False, 1095, "32.27 GB"),
    Reference("allstate-claims-severity", False, "train", False, False, 3045, "142.87 MB"),
    Reference("allstate-purchase-prediction-challenge", True, "train", False, False, 1566, "8.97 MB"),
    Reference("amazon-employee-access-challenge", True, "train", False, False, 1686, "6.39 MB"),
    Reference("aptos2019-blindness-detection", True, "eval", True, True, 2928, "10.22 GB"),
    Reference("ashrae-energy-prediction", False, "train", False, False, 3614, "2.61 GB"),
    Reference("avazu-ctr-prediction", False, "train", False, False, 1602, "1.28 GB"),
    Reference("battlefin-s-big-data-combine-forecasting-challenge", False, "train", False, False, 424, "30.23 MB"),
    Reference("benchmark-bond-trade-price-challenge", False, "train", False, False, 263, "910.54 MB"),
    Reference("bengaliai-cv19", True, "eval", False, False, 2059, "5.18 GB"),
    Reference("bigquery-geotab-intersection-congestion", False, "train", False, False, 432, "577.97 MB"),
    Reference("bike-sharing-demand", False, "train", False, False, 3242, "1.12 MB"),
    Reference("billion-word-imputation", False, "eval", True, False, 87, "1.7 GB"),
    Reference("bioresponse", False, "train", False, False, 698, "31.06 MB"),
    Reference("bms-molecular-translation", False, "eval", True, False, 874, "8.87 GB"),
    Reference("bnp-paribas-cardif-claims-management", False, "train", False, False, 2920, "103.75 MB"),
    Reference("cassava-leaf-disease-classification", True, "eval", True, False, 3900, "6.19 GB"),
    Reference("cat-in-the-dat", True, "train", False, False, 1338, "67.96 MB"),
    Reference("cat-in-the-dat-ii", True, "train", False, False, 1161, "145.84 MB"),
    Reference("cdiscount-image-classification-challenge", True, "train", True, False, 626, "78.12 GB"),
    Reference("chaii-hindi-and-tamil-question-answering", True, "train", True, False, 943, "31.8 MB"),
    Reference("champs-scalar-coupling", False, "train", True, False, 2737, "1.22 GB"),
    Reference("commonlitreadabilityprize", False, "train", False, False, 3633, "2.93 MB"),
    Reference("conways-reverse-game-of-life-2020", False, "eval", False, False, 188, "251.11 MB"),
    Reference("covid19-global-forecasting-week-1", False, "train", False, False, 545, "1.63 MB"),
    Reference("covid19-global-forecasting-week-2", False, "train", False, False, 215, "1.26 MB"),
    Reference("covid19-global-forecasting-week-3", False, "train", False, False, 452, "1.41 MB"),
    Reference("covid19-global-forecasting-week-4", False, "train", False, False, 472, "1.95 MB"),
    Reference("crowdflower-weather-twitter", False, "train", False, False, 258, "25.4 MB"),
    Reference("demand-forecasting-kernels-only", False, "eval", False, False, 459, "18.7 MB"),
    Reference("denoising-dirty-documents", False, "eval", True, True, 161, "58.81 MB"),
    Reference("detecting-insults-in-social-commentary", True, "eval", True, True, 50, "3.02 MB"),
    Reference("dog-breed-identification", False, "eval", True, True, 1280, "750.43 MB"),
    Reference("dogs-vs-cats-redux-kernels-edition", False, "eval", True, True, 1314, "854.51 MB"),
    Reference("dont-call-me-turkey", True, "train", False, False, 266, "11.04 MB"),
    Reference("dont-overfit-ii", True, "eval", False, False, 2315, "38.6 MB"),
    Reference("DontGetKicked", True, "train", False, False, 570, "29.52 MB"),
    Reference("draper-satellite-image-chronology", True, "eval", False, False, 399, "36.07 GB"),
    Reference("facebook-recruiting-iii-keyword-extraction", True, "train", True, False, 366, "3.19 GB"),
    Reference("facebook-recruiting-iv-human-or-bot", True, "train", False, False, 983, "260.68 MB"),
    Reference("facial-keypoints-detection", False, "eval", False, False, 175, "80.86 MB"),
    Reference("feedback-prize-english-language-learning", False, "train", False, False, 2654, "9.3 MB"),
    Reference("flavours-of-physics-kernels-only", True, "train", False, False, 63, "436.14 MB"),
    Reference("forest-cover-type-kernels-only", True, "train", False, False, 358, "15.38 MB"),
    Reference("freesound-audio-tagging-2019", True, "train", True, False, 880, "26.15 GB"),
    Reference("GiveMeSomeCredit", True, "train", False, False, 924, "14.47 MB"),
    Reference("global-wheat-detection", True, "train", False, False, 2245, "643.57 MB"),
    Reference("google-quest-challenge", True, "train", True, False, 1571, "14.85 MB"),
    Reference("google-research-identify-contrails-reduce-global-warming", True, None, True, False, None, None),
    Reference("grupo-bimbo-inventory-demand", False, "train", False, False, 1963, "502.44 MB"),
    Reference("h-and-m-personalized-fashion-recommendations", True, "train", True, False, 2952, "34.56 GB"),
    Reference("herbarium-2020-fgvc7", True, "train", True, False, 153, "63.16 GB"),
    Reference("herbarium-2021-fgvc8", True, "train", True, False, 80, "161.9 GB"),
    Reference("herbarium-2022-fgvc9", True, "train", True, False, 134, "163.17 GB"),
    Reference("histopathologic-cancer-detection", True, "eval", True, True, 1149, "7.76 GB"),
    Reference("hms-harmful-brain-activity-classification", False, "train", True, False, 2767, "26.4 GB"),
    Reference("home-data-for-ml-course", False, "train", False, False, 4976, "1.15 MB"),
    Reference("home-depot-product-search-relevance", False, "train", False, False, 2123, "72.93 MB"),
    Reference("homesite-quote-conversion", True, "train", False, False, 1755, "65.13 MB"),
    Reference("hotel-id-2021-fgvc8", True, "train", True, False, 92, "26.65 GB"),
    Reference("hubmap-kidney-segmentation", True, "train", True, False, 1200, "32.97 GB"),
    Reference("icecube-neutrinos-in-deep-ice", False, "train", True, False, 812, "117.18 GB"),
    Reference("icr-identify-age-related-conditions", False, "train", False, False, 6430, "356.88 kB"),
    Reference("imaterialist-challenge-furniture-2018", False, "train", False, False, 426, "48.59 MB"),
    Reference("imet-2020-fgvc7", True, "eval", True, False, 96, "29.46 GB"),
    Reference("inaturalist-2019-fgvc6", False, "train", True, False, 213, "87.76 GB"),
    Reference("instant-gratification", True, "eval", False, False, 1818, "972.6 MB"),
    Reference("integer-sequence-learning", True, "train", False, False, 284, "17.91 MB"),
    Reference("invasive-species-monitoring", True, "train", True, False, 511, "3.35 GB"),
    Reference("iwildcam-2019-fgvc6", True, "train", True, False, 336, "46.68 GB"),
    Reference("iwildcam-2020-fgvc7", True, "train", True, False, 121, "118.59 GB"),
    Reference("jigsaw-toxic-comment-classification-challenge", True, "eval", True, True, 4539, "55.18 MB"),
    Reference("jigsaw-unintended-bias-in-toxicity-classification", True, "train", True, False, 3165, "2.38 GB"),
    Reference("kaggle-llm-science-exam", True, "eval", False, False, 2664, "364.21 kB"),
    Reference("kobe-bryant-shot-selection", False, "train", False, False, 1117, "708.3 kB"),
    Reference("kuzushiji-recognition", True, "train", True, False, 293, "4.51 GB"),
]
BY_SLUG = {row.slug: row for row in REFERENCE}


def reference_dir() -> Path:
    """Where the reference CSVs live: $MLE_DOJO_REFERENCE, else ../shared/reference beside the repository."""
    default = Path(__file__).resolve().parents[2] / "shared" / "reference"
    return Path(os.environ.get("MLE_DOJO_REFERENCE", default))


def references_from_csvs(directory: Path) -> list[Reference]:
    """The a-k rows of both CSVs, as REFERENCE records."""
    dojo = pl.read_csv(directory / "mle_dojo_competitions.csv", infer_schema_length=0)
    bench = {
        row["competition_id"]: row for row in pl.read_csv(directory / "mlebench_competitions.csv").iter_rows(named=True)
    }
    rows = []
    for row in dojo.iter_rows(named=True):
        if not A_TO_K.match(row["slug"]):
            continue
        in_bench = bench.get(row["slug"])
        rows.append(
            Reference(
                row["slug"],
                row["higher_is_better"] == "True",
                "eval" if row["mledojo_split"].startswith("eval") else "train",
                in_bench is not None,
                bool(in_bench and in_bench["lite"] == "yes"),
                int(row["kaggle_teams"].replace(",", "")),
                row["kaggle_data_size"],
            )
        )
    for slug, row in bench.items():
        if A_TO_K.match(slug) and slug not in set(dojo["slug"]):
            direction = MLEBENCH_GRADER_HIGHER_IS_BETTER[row["grader_name"]]
            rows.append(Reference(slug, direction, None, True, row["lite"] == "yes", None, None))
    return sorted(rows, key=lambda r: r.slug.lower())


@functools.cache
def spec_of(slug: str) -> CompetitionSpec:
    return load_spec(COMPETITIONS_DIR / f"{slug}.yaml")


def test_frozen_reference_matches_the_csvs() -> None:
    directory = reference_dir()
    if not (directory / "mle_dojo_competitions.csv").is_file():
        pytest.skip(f"reference CSVs not found in {directory}; the frozen REFERENCE is used alone")
    assert references_from_csvs(directory) == REFERENCE


def test_catalog_holds_exactly_the_a_to_k_competitions() -> None:
    # Files of other catalogs may be mid-edit; only a failure of one of ours is this test's business.
    catalog = load_catalog(COMPETITIONS_DIR)
    assert not [e for e in catalog.errors if e.path.stem in BY_SLUG], catalog.errors
    kaggle_a_to_k = {s.slug for s in catalog.specs.values() if s.source.kind == "kaggle" and A_TO_K.match(s.slug)}
    assert kaggle_a_to_k == set(BY_SLUG)


@pytest.mark.parametrize("slug", sorted(BY_SLUG))
def test_config_agrees_with_the_reference(slug: str) -> None:
    spec = spec_of(slug)
    reference = BY_SLUG[slug]
    assert spec.source.kind == "kaggle"
    assert spec.source.url == f"https://www.kaggle.com/competitions/{slug}"
    if reference.teams is not None:
        assert spec.source.teams == reference.teams
    assert spec.source.data_size == reference.data_size
    if reference.data_size:
        number, unit = reference.data_size.split()
        assert spec.source.data_bytes == round(float(number) * SIZE_UNITS[unit])
    assert spec.metric.name in METRICS, f"{slug}: metric {spec.metric.name!r} is not in the registry"
    assert spec.higher_is_better == METRICS[spec.metric.name].higher_is_better
    flagged = DIRECTION_FLAG in (spec.notes or "")
    assert (spec.higher_is_better != reference.higher_is_better) == flagged, (
        f"{slug}: higher_is_better={spec.higher_is_better}, the reference says {reference.higher_is_better}; "
        f"a deliberate difference needs '{DIRECTION_FLAG}' in notes"
    )


@pytest.mark.parametrize("slug", sorted(BY_SLUG))
def test_tags_follow_the_reference(slug: str) -> None:
    spec = spec_of(slug)
    reference = BY_SLUG[slug]
    tags = set(spec.tags)
    assert "kaggle" in tags
    assert ("mle-bench" in tags) == reference.mle_bench
    assert ("lite" in tags) == reference.lite
    assert ("mle-dojo-eval" in tags) == (reference.mledojo_split == "eval")
    assert ("mle-dojo-train" in tags) == (reference.mledojo_split == "train")
    assert tags & {"tabular", "image", "text", "audio", "signal", "time-series"}, f"{slug}: no modality tag"
    assert ("not-gradable" in tags) == (not spec.gradable)


@pytest.mark.parametrize("slug", sorted(BY_SLUG))
def test_config_is_buildable_or_says_why_not(slug: str) -> None:
    spec = spec_of(slug)
    if not spec.gradable:
        assert spec.notes and spec.notes.startswith("Not gradable"), f"{slug}: a non-gradable config says why"
        return
    if spec.preparer:
        module_name, function_name = spec.preparer.split(":")
        module = importlib.import_module(f"curation.preparers.{module_name}")
        assert callable(getattr(module, function_name, None)), f"{slug}: preparer {spec.preparer} not found"
    if spec.split.method == "stratified":
        assert spec.task_type in (
            "binary",
            "multiclass",
            "multilabel",
            "text_classification",
            "image_classification",
            "ranking",
            "sequence",
        )
    if spec.submission_format == "class_probabilities":
        assert METRICS[spec.metric.name].prediction == "class_probabilities"


@pytest.mark.parametrize("slug", sorted(BY_SLUG))
def test_description_covers_the_task(slug: str) -> None:
    description = spec_of(slug).description
    assert description.startswith("# ")
    for section in ("## Metric", "## Submission"):
        assert section in description, f"{slug}: description lacks {section!r}"
    assert "## Files" in description or "## Target" in description
