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
import yaml
from conftest import run_dojo
from release_fixtures import make_task

from assets.home_resource import DojoHomeResource
from assets.partitions import competitions_partitions
from assets.release import release, release_job
from assets.task_checks import task_checks
from curation.checks import TASK_CHECKS, read_checks
from curation.layout import Home
from curation.releases import MANIFEST_FILE, ReleaseExistsError, list_releases

REPO_ROOT = Path(__file__).resolve().parent.parent
# Two small offline competitions of different kinds: enough to exercise every table, quick to build twice.
REPRODUCED = ["penguins-species", "wine-cultivar"]


@dg.asset(name="task", partitions_def=competitions_partitions)
def task_on_disk() -> dg.MaterializeResult:
    """Stand-in for the task asset: the fixture task is already on disk."""
    return dg.MaterializeResult()


@pytest.fixture
def fixture_home(tmp_path: Path) -> tuple[Home, dict]:
    """A DOJO_HOME with a good and a leaky fixture task, their YAML specs, and the resources pointing there."""
    home, competitions = Home(tmp_path / "dojo-home"), tmp_path / "competitions"
    competitions.mkdir()
    for slug, breakage in (("good", None), ("leaky", "overlapping_ids")):
        task = make_task(home, slug, kind="binary", breakage=breakage)
        spec = task.spec.model_dump(mode="json", by_alias=True)
        (competitions / f"{slug}.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return home, {"dojo": DojoHomeResource(root=str(home.root), competitions=str(competitions))}


def _instance() -> dg.DagsterInstance:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(competitions_partitions.name, ["good", "leaky"])
    return instance


def test_task_checks_report_every_check_per_partition_and_block_a_leaky_task(fixture_home) -> None:
    home, resources = fixture_home
    job = dg.define_asset_job("check_tasks", selection=dg.AssetSelection.assets("task"))
    defs = dg.Definitions(assets=[task_on_disk], asset_checks=[task_checks], jobs=[job], resources=resources)
    instance = _instance()
    good = defs.resolve_job_def("check_tasks").execute_in_process(partition_key="good", instance=instance)
    evaluations = {e.check_name: e for e in good.get_asset_check_evaluations()}
    assert set(evaluations) == set(TASK_CHECKS)
    assert all(e.passed for e in evaluations.values())
    gx_test = evaluations["gx_test"].metadata
    # One metadata entry per expectation, with its observed value and unexpected count.
    assert gx_test["test.id.unique"].value["success"] is True
    meta = json.loads((home.current_task_dir("good") / "task.json").read_text())
    assert gx_test["test.rows"].value["observed"] == meta["rows"]["test"]
    assert "| test.id.unique | yes |" in gx_test["results"].value
    assert read_checks(home.current_task_dir("good"))["passed"] is True

    leaky = defs.resolve_job_def("check_tasks").execute_in_process(
        partition_key="leaky", instance=instance, raise_on_error=False
    )
    assert not leaky.success  # a failed blocking check stops the run
    failed = {e.check_name: e for e in leaky.get_asset_check_evaluations() if not e.passed}
    assert set(failed) == {"leak_shared_ids"}
    assert failed["leak_shared_ids"].metadata["value"].value == 10
    assert read_checks(home.current_task_dir("leaky"))["blocking_failures"] == ["leak_shared_ids"]


def test_release_job_takes_version_and_notes_from_run_config(fixture_home) -> None:
    home, resources = fixture_home
    instance = _instance()
    checks_job = dg.define_asset_job("check_tasks", selection=dg.AssetSelection.assets("task"))
    defs = dg.Definitions(
        assets=[task_on_disk, release],
        asset_checks=[task_checks],
        jobs=[checks_job, release_job],
        resources=resources,
    )
    for slug in ("good", "leaky"):
        defs.resolve_job_def("check_tasks").execute_in_process(
            partition_key=slug, instance=instance, raise_on_error=False
        )
    config = {"ops": {"release": {"config": {"version": "2025.06", "notes": "from the UI"}}}}
    result = defs.resolve_job_def("create_release").execute_in_process(run_config=config, instance=instance)
    metadata = result.asset_materializations_for_node("release")[0].metadata
    assert metadata["tasks"].value == 1 and metadata["left_out"].value == 1
    assert "leaky | " in metadata["exclusions"].value and "leak_shared_ids" in metadata["exclusions"].value
    [info] = list_releases(home)
    assert (info.version, info.notes) == ("2025.06", "from the UI")
    again = defs.resolve_job_def("create_release").execute_in_process(
        run_config=config, instance=instance, raise_on_error=False
    )
    assert not again.success
    error = next(e for e in again.all_events if e.is_step_failure).step_failure_data.error
    assert error.cause.cls_name == ReleaseExistsError.__name__ and "already exists" in error.cause.message


def test_definitions_wire_the_checks_into_the_build_and_offer_the_release_job() -> None:
    from pipelines.definitions import defs

    build = defs.resolve_job_def("build_competition")
    assert "task_checks" in {node.name for node in build.graph.node_defs}, (
        "add assets.task_checks.task_checks to Definitions(asset_checks=[...]) so `dojo build` runs them"
    )
    assert [node.name for node in defs.resolve_job_def("create_release").graph.node_defs] == ["release"]


def _comparable(manifest: dict) -> dict:
    """A manifest without the fields that differ by time or place of creation."""
    return {key: value for key, value in manifest.items() if key not in ("created_at", "notes")}


@pytest.mark.slow
def test_two_builds_in_two_homes_give_identical_release_manifests(tmp_path: Path) -> None:
    homes = [tmp_path / "first", tmp_path / "second"]
    for home in homes:
        built = run_dojo("build", *REPRODUCED, home=home)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        for slug in REPRODUCED:
            assert read_checks(Home(home).current_task_dir(slug)) is not None, (
                f"{slug}: no checks.json after `dojo build`: the task checks are not wired into the build"
            )
    manifests = []
    for home, notes in zip(homes, ("first", "second"), strict=True):
        created = run_dojo("release", "create", "v1", "--notes", notes, home=home)
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
