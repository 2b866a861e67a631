"""The Dagster Definitions of MLE-Dojo: assets, checks, jobs, the competitions sensor and resources."""

from __future__ import annotations

import dagster as dg

from assets.catalog import catalog
from assets.home_resource import DojoHomeResource
from assets.leaderboard import leaderboard
from assets.raw_files import raw_files
from assets.release import release, release_job
from assets.task import task
from pipelines.competitions_sensor import competitions_sensor
from pipelines.kaggle_resource import kaggle_resource_from_env

build_competition_job = dg.define_asset_job(
    "build_competition",
    selection=dg.AssetSelection.assets(raw_files, task, leaderboard),
    # The checks run inside `task`; `leaderboard` serves the task last, so a failed check leaves it unserved.
    description="Fetch, split, check, rank and serve one competition (a partition of 'competitions').",
)

catalog_job = dg.define_asset_job(
    "build_catalog",
    selection=dg.AssetSelection.assets(catalog),
    description="Rebuild catalog.duckdb over everything built.",
)

defs = dg.Definitions(
    assets=[raw_files, task, leaderboard, catalog, release],
    jobs=[build_competition_job, catalog_job, release_job],
    sensors=[competitions_sensor],
    resources={"dojo": DojoHomeResource(), "kaggle": kaggle_resource_from_env()},
)
