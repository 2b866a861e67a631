"""Where the offline sources' data lie: the fine list the agent env deletes, the coarse one the sandbox hides."""

from __future__ import annotations

from pathlib import Path

from curation.source_packages import SOURCE_DATA, all_masked_paths, all_mount_masks, is_masked


def _site_packages(root: Path) -> Path:
    """A fake site-packages with scikit-learn's data, a statsmodels dataset and a whole dataset package."""
    (root / "sklearn" / "datasets" / "data").mkdir(parents=True)
    (root / "sklearn" / "datasets" / "data" / "wine_data.csv").write_text("1,2\n")
    cars = root / "statsmodels" / "datasets" / "cars"
    cars.mkdir(parents=True)
    (cars / "cars.csv").write_text("a\n")
    (cars / "data.py").write_text("")
    (root / "palmerpenguins").mkdir()
    return root


def test_the_sandbox_mounts_over_whole_data_dirs_and_packages(tmp_path: Path) -> None:
    site = _site_packages(tmp_path)
    assert all_mount_masks(site) == [
        (site / "sklearn" / "datasets" / "data").resolve(),
        (site / "statsmodels" / "datasets").resolve(),  # loaders too: an empty dir still imports
        site.resolve() / "palmerpenguins",
    ]


def test_the_agent_env_deletes_only_data_files_where_loaders_must_stay(tmp_path: Path) -> None:
    site = _site_packages(tmp_path)
    assert all_masked_paths(site) == [
        (site / "sklearn" / "datasets" / "data").resolve(),
        (site / "statsmodels" / "datasets" / "cars" / "cars.csv").resolve(),
        site.resolve() / "palmerpenguins",
    ]


def test_every_mount_mask_covers_the_fine_paths_of_this_interpreter() -> None:
    masks = all_mount_masks()
    assert masks, "the offline providers' packages are installed with the project"
    for path in all_masked_paths():
        assert any(path.is_relative_to(mask) for mask in masks), path


def test_every_provider_is_masked() -> None:
    assert all(is_masked(provider) for provider in SOURCE_DATA)
    assert not is_masked("sklearn", frozenset())
