"""Checks and releases through Dagster and `dojo`: per-partition check results, the release job, the Definitions,
reproducible releases from two independent builds, and a build killed mid-write."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from conftest import run_dojo
from served_fixtures import resources as served_resources
from served_fixtures import write_competition

from assets.leaderboard import leaderboard
from assets.partitions import competitions_partitions
from assets.raw_files import raw_files
from assets.release import release, release_job
from assets.task import task
from curation.checks import TASK_CHECKS, read_checks
from curation.layout import Home
from curation.releases import MANIFEST_FILE, ReleaseExistsError, list_releases

REPO_ROOT = Path(__file__).resolve().parent.parent
# Two small offline competitions of different kinds: enough to exercise every table, quick to build twice.
REPRODUCED = ["penguins-species", "wine-cultivar"]


@pytest.fixture
def built_pair(tmp_path: Path) -> tuple[Home, dict, dict[str, dg.ExecuteInProcessResult], dg.DagsterInstance]:
    """`good` and `leaky` (a feature column copies the target) built through raw_files -> task -> leaderboard."""
    write_competition(tmp_path, "good")
    competitions = write_competition(tmp_path, "leaky", "target_copy")
    home, resources = Home(tmp_path / "home"), served_resources(tmp_path / "home", competitions)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(competitions_partitions.name, ["good", "leaky"])
    results = {
        slug: dg.materialize(
            [raw_files, task, leaderboard],
            partition_key=slug,
            instance=instance,
            resources=resources,
            raise_on_error=False,
        )
        for slug in ("good", "leaky")
    }
    return home, resources, results, instance


def test_task_checks_report_every_check_per_partition_and_block_a_leaky_task(built_pair) -> None:
    home, _, results, _ = built_pair
    good = results["good"]
    assert good.success
    evaluations = {e.check_name: e for e in good.get_asset_check_evaluations() if e.asset_key == dg.AssetKey("task")}
    assert set(evaluations) == {*TASK_CHECKS, "rerun_is_deterministic"}
    assert all(e.passed for e in evaluations.values())
    gx_test = evaluations["gx_test"].metadata
    # One metadata entry per expectation, with its observed value and unexpected count.
    assert gx_test["test.id.unique"].value["success"] is True
    meta = json.loads((home.current_task_dir("good") / "task.json").read_text())
    assert gx_test["test.rows"].value["observed"] == meta["rows"]["test"]
    assert "| test.id.unique | yes |" in gx_test["results"].value
    assert read_checks(home.current_task_dir("good"))["passed"] is True

    leaky = results["leaky"]
    assert not leaky.success  # a failed blocking check fails the run, in the task step itself
    failed = {e.check_name: e for e in leaky.get_asset_check_evaluations() if not e.passed}
    assert set(failed) == {"leak_target_columns"}
    assert failed["leak_target_columns"].metadata["value"].value == 1
    assert home.current_task_dir("leaky") is None
    [version_dir] = [p for p in home.task_root("leaky").iterdir() if p.is_dir()]
    assert read_checks(version_dir)["blocking_failures"] == ["leak_target_columns"]


def test_release_job_takes_version_and_notes_from_run_config(built_pair) -> None:
    home, resources, _, instance = built_pair
    defs = dg.Definitions(assets=[raw_files, task, leaderboard, release], jobs=[release_job], resources=resources)
    config = {"ops": {"release": {"config": {"version": "2025.06", "notes": "from the UI"}}}}
    result = defs.resolve_job_def("create_release").execute_in_process(run_config=config, instance=instance)
    metadata = result.asset_materializations_for_node("release")[0].metadata
    assert metadata["tasks"].value == 1 and metadata["left_out"].value == 1
    assert "leaky | " in metadata["exclusions"].value and "no served version" in metadata["exclusions"].value
    [info] = list_releases(home)
    assert (info.version, info.notes) == ("2025.06", "from the UI")
    again = defs.resolve_job_def("create_release").execute_in_process(
        run_config=config, instance=instance, raise_on_error=False
    )
    assert not again.success
    error = next(e for e in again.all_events if e.is_step_failure).step_failure_data.error
    assert error.cause.cls_name == ReleaseExistsError.__name__ and "already exists" in error.cause.message


def test_definitions_run_the_checks_in_the_task_step_and_offer_the_release_job() -> None:
    from pipelines.definitions import defs

    build = defs.resolve_job_def("build_competition")
    assert {node.name for node in build.graph.node_defs} == {"raw_files", "task", "leaderboard"}
    task_checks = {key.name for key in defs.resolve_assets_def("task").check_keys}
    assert task_checks == {*TASK_CHECKS, "rerun_is_deterministic"}
    assert [node.name for node in defs.resolve_job_def("create_release").graph.node_defs] == ["release"]


def _comparable(manifest: dict) -> dict:
    """A manifest without the fields that differ by time or place of creation."""
    return {key: value for key, value in manifest.items() if key not in ("created_at", "notes")}


@pytest.mark.slow
def test_two_builds_in_two_homes_give_identical_release_manifests(tmp_path: Path) -> None:
    homes = [tmp_path / "first", tmp_path / "second"]
    # Two machines reproduce each other's bytes when they share the secret salt (as hex in DOJO_SECRET).
    salt = {"DOJO_SECRET": "5a" * 32}
    for home in homes:
        built = run_dojo("build", *REPRODUCED, home=home, env=salt)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        for slug in REPRODUCED:
            assert read_checks(Home(home).current_task_dir(slug)) is not None, (
                f"{slug}: no checks.json after `dojo build`: the task checks are not wired into the build"
            )
    manifests = []
    for home, notes in zip(homes, ("first", "second"), strict=True):
        created = run_dojo("release", "create", "v1", "--notes", notes, home=home, env=salt)
        assert created.returncode == 0, created.stdout + created.stderr
        manifests.append(json.loads((home / "releases" / "v1" / MANIFEST_FILE).read_text()))
    first, second = manifests
    assert sorted(first["tasks"]) == REPRODUCED
    assert first["files"] and all(path.startswith(("tasks/", "tables/", "leaderboards/")) for path in first["files"])
    differing = sorted(
        p for p in first["files"].keys() | second["files"].keys() if first["files"].get(p) != second["files"].get(p)
    )
    assert differing == []
    assert _comparable(first) == _comparable(second)
    assert first["created_at"] and first["notes"] != second["notes"]


# Runs `dojo build` in a child that stalls for good right after writing private/answers.parquet into the task's
# temp dir: public files and answers are on disk, task.json and the grader are not.
STALLED_BUILD = """
import sys, time
from pathlib import Path
from curation import tasks

flag = Path(sys.argv[1])
write_table = tasks.write_table

def write_then_stall(frame, path):
    write_table(frame, path)
    if path.name == "answers.parquet":
        flag.write_text(str(path))
        time.sleep(600)

tasks.write_table = write_then_stall
from pipelines.cli import main
sys.exit(main(["build", sys.argv[2]]))
"""


@pytest.mark.slow
def test_a_build_killed_mid_write_leaves_no_partial_task_and_the_rerun_completes(tmp_path: Path) -> None:
    home, flag, slug = tmp_path / "dojo-home", tmp_path / "stalled", "wine-cultivar"
    environment = os.environ | {"DOJO_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    child = subprocess.Popen(
        [sys.executable, "-c", STALLED_BUILD, str(flag), slug],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        while not flag.exists():
            assert child.poll() is None, child.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the build never reached the task's files"
            time.sleep(0.1)
        written = Path(flag.read_text())
        partial = written.parent.parent  # tasks/<slug>/.tmp-<version>-*/private/answers.parquet
        assert partial.name.startswith(".tmp-") and (partial / "public" / "train.csv").is_file()
        assert not (partial / "task.json").exists()
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    task_root = Home(home).task_root(slug)
    visible = [p for p in task_root.iterdir() if not p.name.startswith(".")] if task_root.exists() else []
    assert visible == []  # no version dir, no CURRENT: readers see no task at all
    assert Home(home).current_task_dir(slug) is None
    rerun = run_dojo("build", slug, home=home)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    task_dir = Home(home).current_task_dir(slug)
    assert task_dir is not None and partial.name.startswith(f".tmp-{task_dir.name}-")
    assert not partial.exists()  # the killed writer's half-written version is cleaned up by the rerun
    meta = json.loads((task_dir / "task.json").read_text())
    for entry in meta["files"]:
        assert (task_dir / entry["path"]).exists()
