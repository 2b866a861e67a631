"""Shared fixtures: a temp DOJO_HOME per test, and one offline benchmark built once per session."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DOJO = str(Path(sys.executable).parent / "dojo")


@pytest.fixture
def dojo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty DOJO_HOME for one test, set in the environment."""
    home = tmp_path / "dojo-home"
    monkeypatch.setenv("DOJO_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    return home


def run_dojo(*args: str, home: Path, timeout: float = 1800, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed `dojo` command against `home`, capturing output."""
    environment = os.environ | {"DOJO_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")} | (env or {})
    return subprocess.run(
        [DOJO, *args], capture_output=True, text=True, timeout=timeout, env=environment, cwd=REPO_ROOT
    )


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every offline competition built once with `dojo build` (the README's first command), shared by tests."""
    home = tmp_path_factory.mktemp("built") / "dojo-home"
    result = run_dojo("build", home=home)
    if result.returncode != 0:
        pytest.fail(f"dojo build failed ({result.returncode}):\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}")
    return home


@pytest.fixture
def make_env(home: Path, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """A factory of envs over the test module's own `home` fixture, each with its own out dir, closed after."""
    import dojo  # the runtime, imported only by the tests that make envs

    envs = []

    def factory(slug: str = "tiny-binary", **options: Any) -> Any:
        env = dojo.make(slug, home=home, out_dir=tmp_path / f"run-{len(envs)}", **options)
        envs.append(env)
        return env

    yield factory
    for env in envs:
        env.close()
