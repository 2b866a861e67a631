"""Slow: the runtime on the real offline benchmark, built by `dojo build` into a temporary DOJO_HOME.

Every built task passes Gymnasium's env checker, and the baseline agent beats the dummy rung of the
reference leaderboard on at least 80% of the offline tasks. Set DOJO_TEST_OFFLINE_HOME to a home where
the offline benchmark is already built to skip the build.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import dojo
from curation.layout import Home
from dojo.evaluate import evaluate
from dojo.registration import built_slugs
from dojo.sandbox import bubblewrap_problem
from graders.leaderboards import dummy_score, load_leaderboard

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bubblewrap_problem() is not None, reason=f"bubblewrap unusable: {bubblewrap_problem()}"),
]

MIN_TASKS = 20  # the offline benchmark has more; fewer means the build itself broke
MIN_BEAT_SHARE = 0.8


@pytest.fixture(scope="module")
def offline_home(built_home: Path) -> Path:
    """A DOJO_HOME with the offline benchmark built: the session's build (conftest.built_home), or
    DOJO_TEST_OFFLINE_HOME when set."""
    if os.environ.get("DOJO_TEST_OFFLINE_HOME"):
        return Path(os.environ["DOJO_TEST_OFFLINE_HOME"])
    return built_home


@pytest.fixture(scope="module")
def graded_slugs(offline_home) -> list[str]:
    """Built offline tasks that have a reference leaderboard with a dummy rung."""
    home = Home(offline_home)
    slugs = [
        slug
        for slug in built_slugs(home)
        if (board := load_leaderboard(home.leaderboard_dir(slug))) is not None and dummy_score(board) is not None
    ]
    assert len(slugs) >= MIN_TASKS, f"only {len(slugs)} offline tasks built with a leaderboard under {home.root}"
    return slugs


def test_env_checker_passes_on_every_registered_offline_task(offline_home, tmp_path):
    ids = dojo.register_envs(offline_home)
    assert len(ids) >= MIN_TASKS
    for identifier in ids:
        env = gym.make(identifier, out_dir=tmp_path / identifier.replace("/", "_"))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_env(env.unwrapped)
        env.close()


def test_baseline_beats_the_dummy_on_most_offline_tasks(offline_home, graded_slugs, tmp_path):
    table = evaluate(graded_slugs, "baseline", out_dir=tmp_path / "evaluation", home=Home(offline_home))
    failed = table.filter(table["status"] != "ok")
    assert failed.is_empty(), failed.select("task", "error").to_dicts()
    beaten = table.filter(table["beats_dummy"])["task"].to_list()
    share = len(beaten) / table.height
    report = table.select("task", "metric", "private_score", "dummy_private_score", "beats_dummy").to_dicts()
    assert share >= MIN_BEAT_SHARE, f"baseline beat the dummy on {len(beaten)}/{table.height} tasks: {report}"
