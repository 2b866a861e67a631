"""The agent interpreter (`dojo agent-env create`): what it holds, what it must never hold, and how it is built.

One env is created per test session (about 30 s with a warm package cache), in a world-traversable temp dir
so that the unprivileged user can run it too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from curation.layout import Home
from curation.source_packages import SOURCE_DATA, all_masked_paths, masked_paths
from dojo import agent_env
from dojo.agent_env import (
    FORBIDDEN_MODULES,
    MARKER_NAME,
    REQUIREMENTS,
    TORCH_REQUIREMENTS,
    AgentEnvError,
    AgentEnvMissing,
    agent_python,
    bundled_data,
    create,
    default_path,
    env_python,
    require_agent_python,
    requirement_files,
    site_packages,
    status,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _security_fixtures():
    """tests/security/conftest.py, loaded under its own name: its fixtures run commands as `nobody`."""
    spec = importlib.util.spec_from_file_location("security_fixtures", REPO_ROOT / "tests/security/conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Re-exported so pytest finds them as fixtures of this module.
as_nobody = _security_fixtures().as_nobody
nobody_python = _security_fixtures().nobody_python


@pytest.fixture(scope="session")
def agent_home() -> Iterator[Path]:
    """A DOJO_HOME, reachable by every user, whose agent env is created once for the session."""
    root = Path(tempfile.mkdtemp(prefix="dojo-agent-env-"))
    root.chmod(0o755)
    try:
        create(default_path(Home(root)), log=lambda line: None)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def env(agent_home: Path) -> Path:
    return default_path(Home(agent_home))


def run_in(env: Path, code: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `code` on the env's python in isolated mode from a neutral directory, as agent code would run."""
    with tempfile.TemporaryDirectory() as neutral:
        return subprocess.run(
            [str(env_python(env)), "-I", "-c", code],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=cwd or neutral,
            env={"PATH": os.defpath},
        )


FIT_ALL = """
import numpy as np, pandas as pd, polars as pl, statsmodels.api as sm, sklearn.ensemble
import lightgbm, xgboost, catboost
rng = np.random.default_rng(0)
x = rng.normal(size=(200, 3)); y = (x[:, 0] > 0).astype(int)
models = [
    lightgbm.LGBMClassifier(n_estimators=5, verbose=-1),
    xgboost.XGBClassifier(n_estimators=5),
    catboost.CatBoostClassifier(iterations=5, verbose=False, allow_writing_files=False),
    sklearn.ensemble.RandomForestClassifier(n_estimators=5),
]
for model in models:
    assert (model.fit(x, y).predict(x).astype(int) == y).mean() > 0.9, model
sm.OLS(y, sm.add_constant(x)).fit()
assert pl.from_pandas(pd.DataFrame(x)).height == 200
print("fitted")
"""

FORBIDDEN_CHECK = """
import importlib.util, json
print(json.dumps([name for name in {names!r} if importlib.util.find_spec(name) is not None]))
"""

LOAD_WINE = "from sklearn.datasets import load_wine; load_wine(); print('LEAK')"
LOAD_MACRODATA = "import statsmodels.api as sm; sm.datasets.macrodata.load_pandas(); print('LEAK')"


def test_the_kaggle_staples_import_and_fit(env: Path):
    result = run_in(env, FIT_ALL)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fitted" in result.stdout


def test_forbidden_packages_are_not_importable(env: Path):
    result = run_in(env, FORBIDDEN_CHECK.format(names=FORBIDDEN_MODULES))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_bundled_datasets_are_gone(env: Path):
    for code in (LOAD_WINE, LOAD_MACRODATA):
        result = run_in(env, code)
        assert result.returncode != 0 and "LEAK" not in result.stdout, code
    assert all_masked_paths(site_packages(env)) == []
    assert bundled_data(env) == []
    # stl_co2: statsmodels' STL tests hold the Mauna Loa CO2 series that co2-weekly-forecast is carved from.
    for name in ("wine_data.csv", "iris.csv", "macrodata.csv", "stl_co2.csv", "stl_co2", "iris.txt"):
        assert not list(site_packages(env).rglob(name)), name


def test_an_unprivileged_user_runs_the_env_and_gets_no_data(env: Path, nobody_python):
    """The sandbox may run agent code as nobody: the env must be readable by it, and leak nothing to it."""

    def as_nobody_in_env(code: str) -> subprocess.CompletedProcess[str]:
        # nobody_python makes the base interpreter reachable (it may sit under root's 0700 home), then execs
        # the agent env's python, which is a symlink to that interpreter.
        python = str(env_python(env))
        hop = f"import os, sys; os.chdir('/'); os.execv({python!r}, [{python!r}, '-I', '-c', sys.argv[1]])"
        return nobody_python(["-I", "-c", hop, code])

    fitted = as_nobody_in_env(FIT_ALL)
    assert fitted.returncode == 0, fitted.stderr[-3000:]
    forbidden = as_nobody_in_env(FORBIDDEN_CHECK.format(names=FORBIDDEN_MODULES))
    assert forbidden.returncode == 0 and json.loads(forbidden.stdout) == [], forbidden.stderr
    for code in (LOAD_WINE, LOAD_MACRODATA):
        leaked = as_nobody_in_env(code)
        assert leaked.returncode != 0 and "LEAK" not in leaked.stdout, code


def test_the_runtime_finds_the_complete_env(agent_home: Path, env: Path, tmp_path: Path):
    assert agent_python(Home(agent_home)) == env_python(env)
    assert require_agent_python(Home(agent_home)) == env_python(env)
    assert status(env).complete and not status(env).with_torch
    assert agent_python(Home(tmp_path)) is None
    with pytest.raises(AgentEnvMissing, match="dojo agent-env create"):
        require_agent_python(Home(tmp_path))


def test_a_second_create_is_a_no_op(env: Path):
    marker = (env / MARKER_NAME).stat().st_mtime_ns
    lines: list[str] = []
    result = create(env, log=lines.append)
    assert not result.built and result.seconds < 5
    assert any("nothing to do" in line for line in lines)
    assert (env / MARKER_NAME).stat().st_mtime_ns == marker


def test_a_changed_requirements_file_makes_the_env_outdated(env: Path, tmp_path: Path, monkeypatch):
    changed = tmp_path / REQUIREMENTS.name
    changed.write_text(REQUIREMENTS.read_text() + "# a new pin would go here\n")
    monkeypatch.setattr(agent_env, "REQUIREMENTS", changed)
    assert not status(env).complete and "outdated" in status(env).reason
    assert agent_python(Home(env.parent)) is None


def test_a_changed_requirements_file_rebuilds(tmp_path: Path):
    target = tmp_path / "agent-env"
    first = create(target, log=lambda line: None)
    assert first.built
    (target / "sentinel").write_text("from the first build")
    changed = tmp_path / REQUIREMENTS.name
    changed.write_text(REQUIREMENTS.read_text() + "# a new pin would go here\n")
    second = create(target, requirements=(changed,), log=lambda line: None)
    assert second.built
    assert not (target / "sentinel").exists()
    assert run_in(target, "import lightgbm, xgboost, catboost").returncode == 0
    assert not create(target, requirements=(changed,), log=lambda line: None).built
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".agent-env.")) == [".agent-env.lock"]


def test_a_killed_create_leaves_nothing_usable_and_the_next_one_works(tmp_path: Path):
    target = tmp_path / "agent-env"
    code = f"from pathlib import Path; from dojo.agent_env import create; create(Path({str(target)!r}))"
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO_ROOT, start_new_session=True, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 240
        # Kill once the packages are in (bytecode compiling or the check still running): mid-install.
        while not list(tmp_path.glob(".agent-env.build-*/lib/python3.*/site-packages/sklearn")):
            assert process.poll() is None, "create ended before it could be killed"
            assert time.monotonic() < deadline, "create never got to installing"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    assert list(tmp_path.glob(".agent-env.build-*")), "the partial build should still be there"
    assert not status(target).complete
    assert agent_python(Home(tmp_path)) is None
    assert create(target, log=lambda line: None).built
    assert agent_python(Home(tmp_path)) == env_python(target)
    assert not list(tmp_path.glob(".agent-env.build-*"))


def test_a_create_whose_check_fails_leaves_nothing(tmp_path: Path, monkeypatch):
    # `six` stands in for a forbidden package that slips in (a cheap install; the real list is attacked below).
    requirements = tmp_path / "leaky.txt"
    requirements.write_text("six==1.17.0\n")
    monkeypatch.setattr(agent_env, "STAPLES", ())
    monkeypatch.setattr(agent_env, "FORBIDDEN_MODULES", (*FORBIDDEN_MODULES, "six"))
    target = tmp_path / "agent-env"
    with pytest.raises(AgentEnvError, match="six is importable"):
        create(target, requirements=(requirements,), log=lambda line: None)
    assert not target.exists()
    assert not list(tmp_path.glob(".agent-env.build-*"))


def test_a_dataset_package_in_the_requirements_is_removed_whole(tmp_path: Path, monkeypatch):
    requirements = tmp_path / "penguins.txt"
    requirements.write_text("palmerpenguins==0.1.6\n")
    monkeypatch.setattr(agent_env, "STAPLES", ())
    target = tmp_path / "agent-env"
    assert create(target, requirements=(requirements,), log=lambda line: None).built
    assert not (site_packages(target) / "palmerpenguins").exists()
    assert json.loads(run_in(target, FORBIDDEN_CHECK.format(names=FORBIDDEN_MODULES)).stdout) == []


def test_create_never_replaces_a_directory_it_did_not_make(tmp_path: Path):
    precious = tmp_path / "work"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(AgentEnvError, match="is not an agent env"):
        create(precious, log=lambda line: None)
    assert (precious / "notes.txt").read_text() == "keep me"
    assert not list(tmp_path.glob(".work.build-*"))


def test_restored_wine_data_fails_the_check(env: Path):
    """If the dataset removal ever missed sklearn's tables, the final check must catch it."""
    ours = Path(importlib.util.find_spec("sklearn").origin).parent / "datasets"
    theirs = site_packages(env) / "sklearn" / "datasets"
    try:
        for part in ("data", "descr"):
            shutil.copytree(ours / part, theirs / part)
        with pytest.raises(AgentEnvError, match="load_wine"):
            agent_env._verify(env, with_torch=False)
    finally:
        for part in ("data", "descr"):
            shutil.rmtree(theirs / part, ignore_errors=True)
    assert run_in(env, LOAD_WINE).returncode != 0


def test_the_project_on_the_path_fails_the_check(env: Path):
    planted = site_packages(env) / "dagster"
    try:
        planted.mkdir()
        (planted / "__init__.py").write_text("")
        with pytest.raises(AgentEnvError, match="dagster is importable"):
            agent_env._verify(env, with_torch=False)
    finally:
        shutil.rmtree(planted, ignore_errors=True)


def test_masked_paths_can_point_at_another_site_packages(tmp_path: Path):
    data = tmp_path / "sklearn" / "datasets" / "data"
    data.mkdir(parents=True)
    (tmp_path / "statsmodels" / "datasets" / "cars").mkdir(parents=True)
    (tmp_path / "statsmodels" / "datasets" / "cars" / "cars.csv").write_text("a\n")
    (tmp_path / "statsmodels" / "datasets" / "cars" / "data.py").write_text("")
    assert masked_paths(SOURCE_DATA["sklearn"], tmp_path) == [data.resolve()]
    assert all_masked_paths(tmp_path) == [
        data.resolve(),
        (tmp_path / "statsmodels" / "datasets" / "cars" / "cars.csv").resolve(),
    ]
    # Without it, the paths are this interpreter's, as before.
    assert all(not path.is_relative_to(tmp_path) for path in all_masked_paths())
    assert masked_paths(SOURCE_DATA["sklearn"])[0].is_relative_to(Path(sys.prefix).resolve())


def test_requirements_are_pinned_and_torch_is_chosen_only_when_asked():
    assert requirement_files(False) == (REQUIREMENTS,)
    assert requirement_files(True) == (REQUIREMENTS, TORCH_REQUIREMENTS)
    base = [Requirement(line) for line in REQUIREMENTS.read_text().splitlines() if line and line[0] != "#"]
    names = {requirement.name for requirement in base}
    assert {"lightgbm", "xgboost-cpu", "catboost", "scikit-learn", "statsmodels", "polars"} <= names
    assert "xgboost" not in names and "torch" not in names
    assert all(str(requirement.specifier).startswith("==") for requirement in base)
    torch = [Requirement(line) for line in TORCH_REQUIREMENTS.read_text().splitlines() if line and line[0] != "#"]
    for machine, versions in {"x86_64": ("2.14.1", "0.29.1"), "aarch64": ("2.9.1", "0.24.1")}.items():
        chosen = {r.name: str(r.specifier) for r in torch if r.marker.evaluate({"platform_machine": machine})}
        assert chosen == {"torch": f"=={versions[0]}", "torchvision": f"=={versions[1]}"}


def test_torch_is_installed_with_pip_on_top_of_the_staples(tmp_path: Path, monkeypatch):
    commands: list[list[str]] = []
    monkeypatch.setattr(agent_env, "_run", lambda argv, *args, **kwargs: commands.append(argv))
    agent_env._install(tmp_path, requirement_files(True), agent_env.base_python(), True, lambda line: None)
    assert str(REQUIREMENTS) in commands[-2]
    *_, last = commands
    assert last[:4] == [sys.executable, "-m", "pip", "--python"] and "install" in last
    assert last[-4:] == ["-c", str(REQUIREMENTS), "-r", str(TORCH_REQUIREMENTS)]


def test_extra_requirements_really_install_with_pip(tmp_path: Path, monkeypatch):
    """The torch path for real, with a small package standing in for torch (which is several GB)."""
    base, extra = tmp_path / "base.txt", tmp_path / "extra.txt"
    base.write_text("six==1.17.0\n")
    extra.write_text("packaging==26.4\n")
    monkeypatch.setattr(agent_env, "STAPLES", ())
    target = tmp_path / "agent-env"
    assert create(target, requirements=(base, extra), log=lambda line: None).built
    shown = run_in(target, "import six, packaging; print(six.__version__, packaging.__version__)")
    assert shown.stdout.split() == ["1.17.0", "26.4"], shown.stderr


def test_the_cli_passes_with_torch_and_reports_status(tmp_path: Path, env: Path, monkeypatch, capsys):
    from dojo.cli import main

    asked: list[tuple[Path, bool]] = []
    monkeypatch.setattr(agent_env, "create", lambda path, *, with_torch, log: asked.append((path, with_torch)))
    assert main(["agent-env", "create", "--with-torch", "--path", str(tmp_path / "e")]) == 0
    assert main(["agent-env", "create", "--path", str(tmp_path / "f")]) == 0
    assert asked == [(tmp_path / "e", True), (tmp_path / "f", False)]
    monkeypatch.setenv("DOJO_HOME", str(tmp_path))
    assert main(["agent-env", "create"]) == 0
    assert asked[-1] == (tmp_path / "agent-env", False)
    capsys.readouterr()

    assert main(["agent-env", "check", "--path", str(env)]) == 0
    assert "complete and up to date" in capsys.readouterr().out
    assert main(["agent-env", "path", "--path", str(env)]) == 0
    assert capsys.readouterr().out.strip() == str(env_python(env))
    assert main(["agent-env", "check"]) == 1
    assert "not created" in capsys.readouterr().out
    assert main(["agent-env", "path"]) == 1
    assert "dojo agent-env create" in capsys.readouterr().err
