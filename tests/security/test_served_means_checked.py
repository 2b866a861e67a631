"""Served means checked: a task whose blocking checks failed, or whose build died before its checks and
leaderboard, is never handed to an agent (dojo.make, gymnasium.make, `dojo run`), and `dojo build`, `dojo list`,
the catalog and the Dagster run all say which check failed and why."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import gymnasium as gym
import pytest
import yaml
from release_fixtures import make_task
from served_fixtures import BREAKAGES, resources, write_competition

import dojo
from assets.leaderboard import leaderboard
from assets.partitions import competitions_partitions
from assets.raw_files import raw_files
from assets.task import task
from curation.catalog import competition_row
from curation.checks import run_task_checks
from curation.layout import Home
from curation.serving import ServeError, read_failure, serve
from curation.spec import load_spec
from dojo.registration import env_id, register_envs
from dojo.task import TaskNotFound, TaskRefused

BUILD_ASSETS = [raw_files, task, leaderboard]
REPO_ROOT = Path(__file__).resolve().parents[2]
DOJO = str(Path(sys.executable).parent / "dojo")


def run_dojo(*args: str, home: Path, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the installed `dojo` command against `home` (tests/conftest.py's run_dojo, which this dir cannot import)."""
    environment = os.environ | {"DOJO_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")} | env
    return subprocess.run(
        [DOJO, *args], capture_output=True, text=True, timeout=timeout, env=environment, cwd=REPO_ROOT
    )


def _materialize(root: Path, slug: str, instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    instance = instance or dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(competitions_partitions.name, [slug])
    return dg.materialize(
        BUILD_ASSETS,
        partition_key=slug,
        instance=instance,
        resources=resources(root / "home", root / "competitions"),
        raise_on_error=False,
    )


def _failure_description(result: dg.ExecuteInProcessResult) -> str:
    event = next(e for e in result.all_events if e.is_step_failure)
    assert event.step_key == "task"
    return event.step_failure_data.user_failure_data.description


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_partition_failing_a_blocking_check_fails_its_run_and_is_not_served(tmp_path, breakage):
    check = BREAKAGES[breakage]
    write_competition(tmp_path, "broken", breakage)
    instance = dg.DagsterInstance.ephemeral()
    result = _materialize(tmp_path, "broken", instance)
    assert not result.success
    description = _failure_description(result)
    reason = {"leak_target_columns": "hint", "leak_duplicate_rows": "threshold"}[check]
    assert f"{check}: " in description and reason in description.split(f"{check}: ", 1)[1], description
    failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    assert check in failed
    # The partition is not shown as built, and the leaderboard (which serves) never ran.
    assert instance.get_latest_materialization_event(dg.AssetKey("task")) is None
    assert instance.get_latest_materialization_event(dg.AssetKey("leaderboard")) is None
    home = Home(tmp_path / "home")
    assert home.current_task_dir("broken") is None
    assert (home.task_root("broken") / "CURRENT").exists() is False
    failure = read_failure(home, "broken")
    assert failure is not None and check in failure["error"] and failure["task_version"]
    with pytest.raises(TaskNotFound):
        dojo.make("broken", home=home.root)
    # The checked version exists on disk, but nothing may point CURRENT at it.
    with pytest.raises(ServeError, match=check):
        serve(home, "broken", failure["task_version"])


def test_dojo_build_prints_the_check_and_reason_and_list_and_catalog_say_failed(tmp_path):
    competitions = write_competition(tmp_path, "leaky", "target_copy")
    write_competition(tmp_path, "fine")
    home = tmp_path / "home"
    env = {"DOJO_COMPETITIONS_DIR": str(competitions)}
    built = run_dojo("build", "leaky", "fine", home=home, env=env, timeout=600)
    assert built.returncode == 1, built.stdout[-3000:] + built.stderr[-3000:]
    printed = " ".join(built.stdout.split())
    assert "leak_target_columns: value 1" in printed and "hint" in printed, built.stdout[-3000:]
    listing = {row["slug"]: row for row in json.loads(run_dojo("list", "--json", home=home, env=env).stdout)}
    assert listing["fine"]["status"] == "built"
    assert listing["leaky"]["status"] == "failed"
    assert "leak_target_columns" in listing["leaky"]["error"] and "hint" in listing["leaky"]["error"]
    import duckdb

    with duckdb.connect(str(home / "catalog.duckdb"), read_only=True) as con:
        status, error = con.execute("SELECT status, error FROM competitions WHERE slug = 'leaky'").fetchone()
    assert status == "failed" and "leak_target_columns" in error
    ran = run_dojo("run", "leaky", "--agent", "baseline", "--max-steps", "1", home=home, env=env, timeout=300)
    assert ran.returncode != 0 and "leaky" in ran.stderr


def test_the_previous_good_version_stays_served_when_a_rebuild_fails(tmp_path):
    write_competition(tmp_path, "evolving")
    assert _materialize(tmp_path, "evolving").success
    home = Home(tmp_path / "home")
    good = home.current_task_dir("evolving")
    assert good is not None
    write_competition(tmp_path, "evolving", "target_copy")  # new data: a new task version, which leaks
    rebuilt = _materialize(tmp_path, "evolving")
    assert not rebuilt.success and "leak_target_columns" in _failure_description(rebuilt)
    assert home.current_task_dir("evolving") == good
    env = dojo.make("evolving", home=home.root, out_dir=tmp_path / "run")
    env.close()
    spec = load_spec(tmp_path / "competitions" / "evolving.yaml")
    row = competition_row(spec, home, True)
    assert row["status"] == "failed" and "leak_target_columns" in row["error"] and row["task_version"] == good.name


def _served_but_failing(root: Path) -> tuple[Home, Path]:
    """A served fixture task (CURRENT written by hand, as a home built before this fix) whose sample submission
    holds a probability of 1.5; its checks.json records the failure."""
    home = Home(root / "home")
    fixture = make_task(home, "bad-sample", kind="multiclass", breakage="bad_probability")
    run_task_checks(fixture.task_dir, fixture.spec)
    competitions = root / "competitions"
    competitions.mkdir(exist_ok=True)
    dumped = yaml.safe_dump(fixture.spec.model_dump(mode="json", by_alias=True))
    (competitions / "bad-sample.yaml").write_text(dumped, encoding="utf-8")
    return home, competitions


def test_a_served_task_whose_recorded_checks_fail_is_refused_everywhere(tmp_path):
    home, competitions = _served_but_failing(tmp_path)
    with pytest.raises(TaskRefused, match=r"gx_sample_submission: .*sample_submission\.\w+") as refused:
        dojo.make("bad-sample", home=home.root, out_dir=tmp_path / "run")
    assert "1.5" in str(refused.value) or "range" in str(refused.value) or "between" in str(refused.value)
    register_envs(home.root)
    with pytest.raises(TaskRefused, match="gx_sample_submission"):
        gym.make(env_id("bad-sample"), out_dir=tmp_path / "gym-run")
    env = {"DOJO_COMPETITIONS_DIR": str(competitions)}
    [row] = json.loads(run_dojo("list", "--json", home=home.root, env=env).stdout)
    assert row["status"] == "failed" and "gx_sample_submission" in row["error"]


def test_an_unprivileged_caller_is_refused_too(open_tmp, as_nobody):
    home, _ = _served_but_failing(open_tmp)
    code = textwrap.dedent(
        """
        import sys
        import dojo
        from dojo.task import TaskRefused
        try:
            dojo.make("bad-sample", out_dir=sys.argv[1])
        except TaskRefused as exc:
            print("REFUSED", exc)
        else:
            print("SERVED")
        """
    )
    out_dir = open_tmp / "nobody-run"
    out_dir.mkdir()
    os.chown(out_dir, 65534, 65534)
    result = as_nobody([sys.executable, "-c", code, str(out_dir)], env={"DOJO_HOME": str(home.root)}, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("REFUSED") and "gx_sample_submission" in result.stdout, result.stdout


# Runs `dojo build` in a child that stalls for good when the leaderboard step starts: the task step (split,
# checks, checks.json) is done, the leaderboard and the serving are not.
STALLED_AT_LEADERBOARD = """
import sys, time
from pathlib import Path
from graders import leaderboards

flag = Path(sys.argv[1])

def stall(*args, **kwargs):
    flag.write_text("leaderboard")
    time.sleep(600)

leaderboards.reference_ladder = stall
from pipelines.cli import main
sys.exit(main(["build", sys.argv[2]]))
"""


def test_a_build_killed_after_the_task_step_is_neither_listed_nor_served(tmp_path):
    competitions = write_competition(tmp_path, "killed")
    home, flag = tmp_path / "home", tmp_path / "stalled"
    environment = os.environ | {
        "DOJO_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "DOJO_COMPETITIONS_DIR": str(competitions),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", STALLED_AT_LEADERBOARD, str(flag), "killed"],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not flag.exists():
            assert child.poll() is None, child.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the build never reached the leaderboard step"
            time.sleep(0.1)
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    layout = Home(home)
    [version_dir] = [p for p in layout.task_root("killed").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert (version_dir / "task.json").is_file() and (version_dir / "checks.json").is_file()  # the task step ran
    assert layout.current_task_dir("killed") is None
    env = {"DOJO_COMPETITIONS_DIR": str(competitions)}
    [row] = json.loads(run_dojo("list", "--json", home=home, env=env).stdout)
    assert row["status"] != "built" and row["task_version"] is None
    with pytest.raises(TaskNotFound, match="not built"):
        dojo.make("killed", home=home)
    rerun = run_dojo("build", "killed", home=home, env=env, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert layout.current_task_dir("killed") == version_dir
