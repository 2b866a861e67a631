"""Building tasks through Dagster: asset functions, materialize, the CLI end to end, catalog and graders."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from conftest import run_dojo

from assets.home_resource import DojoHomeResource
from assets.leaderboard import leaderboard
from assets.partitions import competitions_partitions
from assets.raw_files import raw_files
from assets.task import task
from curation.checks import TASK_CHECKS
from curation.layout import Home
from curation.serving import checked_version
from curation.spec import COMPETITIONS_DIR, load_catalog
from pipelines.competitions_sensor import competitions_sensor, partition_changes
from pipelines.kaggle_resource import KaggleResource

OFFLINE = sorted(s.slug for s in load_catalog().specs.values() if s.source.kind in ("builtin", "synthetic"))
SMALL = "penguins-species"


def resources(home: Path) -> dict:
    return {"dojo": DojoHomeResource(root=str(home)), "kaggle": KaggleResource()}


def test_asset_functions_with_a_built_context(tmp_path):
    home = tmp_path / "home"
    with dg.build_asset_context(partition_key=SMALL, resources=resources(home)) as context:
        raw = raw_files(context)
    assert raw.metadata["labeled_rows"] > 300 and raw.metadata["cache_hit"] is False
    with dg.build_asset_context(partition_key=SMALL, resources=resources(home)) as context:
        again = raw_files(context)
    assert again.metadata["cache_hit"] is True
    with dg.build_asset_context(partition_key=SMALL, resources=resources(home)) as context:
        built, *check_results = task(context)
    # The GX, leak and integrity checks run inside it, with the determinism rerun.
    assert {check.check_name: check.passed for check in check_results} == {
        name: True for name in [*TASK_CHECKS, "rerun_is_deterministic"]
    }
    # Checked, but not served: only the leaderboard step, last, points CURRENT at it.
    assert Home(home).current_task_dir(SMALL) is None
    task_dir = Home(home).task_dir(SMALL, built.metadata["task_version"])
    assert checked_version(Home(home), SMALL) == task_dir.name
    meta = json.loads((task_dir / "task.json").read_text())
    answers = pl.read_parquet(task_dir / "private" / "answers.parquet")
    test = pl.read_csv(task_dir / "public" / "test.csv")
    assert meta["rows"]["test"] == test.height == answers.height
    assert set(meta["target_columns"]).isdisjoint(test.columns)
    assert set(answers["board"].unique()) == {"public", "private"}


def test_materialize_into_a_temp_home_is_a_cache_hit_the_second_time(tmp_path):
    home = tmp_path / "home"
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(competitions_partitions.name, [SMALL])
    first = dg.materialize(
        [raw_files, task, leaderboard], partition_key=SMALL, instance=instance, resources=resources(home)
    )
    assert first.success
    board = pl.read_parquet(next((home / "leaderboards" / SMALL).glob("*.parquet")))
    assert board.filter(pl.col("board") == "private").height >= 10
    assert set(board["kind"]) == {"reference"}
    second = dg.materialize(
        [raw_files, task, leaderboard], partition_key=SMALL, instance=instance, resources=resources(home)
    )
    metadata = {
        mat.asset_key.to_user_string(): mat.metadata
        for mat in second.get_asset_materialization_events()
        for mat in [mat.event_specific_data.materialization]
    }
    assert metadata["task"]["cache_hit"].value is True
    assert metadata["leaderboard"]["cache_hit"].value is True


def test_same_inputs_give_the_same_task_version_and_bytes_in_two_homes(tmp_path, monkeypatch):
    monkeypatch.setenv("DOJO_SECRET", "5a" * 32)  # the secret salt is an input too (curation/secret.py)
    versions = []
    for name in ("a", "b"):
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions(competitions_partitions.name, [SMALL])
        assert dg.materialize(
            [raw_files, task], partition_key=SMALL, instance=instance, resources=resources(tmp_path / name)
        ).success
        layout = Home(tmp_path / name)
        task_dir = layout.task_dir(SMALL, checked_version(layout, SMALL))
        meta = json.loads((task_dir / "task.json").read_text())
        versions.append((meta["task_version"], {f["path"]: f["sha256"] for f in meta["files"]}))
    assert versions[0] == versions[1]


def test_sensor_adds_and_removes_partitions(tmp_path, monkeypatch):
    assert partition_changes({"a", "b"}, {"b", "c"}) == (["c"], ["a"])
    (tmp_path / "x.yaml").write_text("slug: x\n")
    monkeypatch.setenv("DOJO_COMPETITIONS_DIR", str(tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(competitions_partitions.name, ["gone"])
    result = competitions_sensor(dg.build_sensor_context(instance=instance))
    requests = result.dynamic_partitions_requests
    assert [(type(r).__name__, list(r.partition_keys)) for r in requests] == [
        ("AddDynamicPartitionsRequest", ["x"]),
        ("DeleteDynamicPartitionsRequest", ["gone"]),
    ]


def test_a_failing_competition_does_not_stop_the_others(tmp_path):
    comps = tmp_path / "competitions"
    comps.mkdir()
    shutil.copy(COMPETITIONS_DIR / f"{SMALL}.yaml", comps / f"{SMALL}.yaml")
    broken = (comps / f"{SMALL}.yaml").read_text().replace(f"slug: {SMALL}", "slug: broken-target")
    broken = broken.replace("target_columns: [species]", "target_columns: [no_such_column]")
    (comps / "broken-target.yaml").write_text(broken)
    (comps / "bad-yaml.yaml").write_text("slug: bad-yaml\ntitle: [\n")
    home = tmp_path / "home"
    env = {"DOJO_COMPETITIONS_DIR": str(comps)}
    result = run_dojo("build", home=home, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no_such_column" in result.stdout and "bad-yaml" in result.stdout
    listing = {row["slug"]: row for row in json.loads(run_dojo("list", "--json", home=home, env=env).stdout)}
    assert listing[SMALL]["status"] == "built"
    assert listing["broken-target"]["status"] == "failed"
    assert "no_such_column" in listing["broken-target"]["error"]


# ---- against the whole offline benchmark, built once per session (README's first command) ----


def test_every_offline_competition_builds(built_home):
    rows = json.loads(run_dojo("list", "--json", home=built_home).stdout)
    offline = [row for row in rows if row["source_kind"] in ("builtin", "synthetic")]
    assert len(offline) >= 21
    assert {row["status"] for row in offline} == {"built"}, [r for r in offline if r["status"] != "built"]
    required = {
        "slug",
        "title",
        "task_type",
        "metric",
        "higher_is_better",
        "source_kind",
        "split_method",
        "status",
        "task_version",
        "rows_train",
        "rows_test",
        "tags",
    }
    assert all(required <= row.keys() for row in rows)
    assert {row["split_method"] for row in offline} >= {"stratified", "group", "time"}


def test_show_lists_files_with_checksums(built_home):
    detail = json.loads(run_dojo("show", SMALL, "--json", home=built_home).stdout)
    assert Path(detail["public_dir"]).is_dir() and Path(detail["private_dir"]).is_dir()
    roles = {f["role"] for f in detail["files"]}
    assert {"train", "test", "sample_submission", "description", "answers", "grader"} <= roles
    assert all(len(f["sha256"]) == 64 for f in detail["files"])


def test_grade_cli_json_and_exit_codes(built_home, tmp_path):
    task_dir = Home(built_home).current_task_dir(SMALL)
    sample = task_dir / "public" / "sample_submission.csv"
    graded = run_dojo("grade", SMALL, str(sample), "--board", "private", "--json", home=built_home)
    assert graded.returncode == 0
    report = json.loads(graded.stdout)
    assert set(report) == {
        "competition",
        "valid",
        "score",
        "board",
        "error",
        "position_score",
        "medal",
        "higher_is_better",
    }
    assert report["valid"] and report["board"] == "private" and 0 <= report["position_score"] <= 1
    bad = tmp_path / "bad.csv"
    bad.write_text("id,wrong\n1,2\n")
    invalid = run_dojo("grade", SMALL, str(bad), "--json", home=built_home)
    assert invalid.returncode == 0 and json.loads(invalid.stdout)["valid"] is False
    assert run_dojo("grade", "no-such-competition", str(bad), home=built_home).returncode == 2
    assert run_dojo("grade", SMALL, str(tmp_path / "missing.csv"), home=built_home).returncode == 2
    assert run_dojo("grade", SMALL, str(bad), "--board", "secret", home=built_home).returncode == 2


@pytest.mark.parametrize("slug", OFFLINE)
def test_rendered_grader_matches_the_package_grader(built_home, tmp_path, slug):
    from graders.grading import grade_submission

    task_dir = Home(built_home).current_task_dir(slug)
    sample = task_dir / "public" / "sample_submission.csv"
    broken = tmp_path / "broken.csv"
    lines = sample.read_text().splitlines()
    broken.write_text("\n".join(lines[:-3]) + "\n")  # drops the last ids
    # One run of the shipped grader per submission (each run pays a Python start-up), on alternating boards.
    for submission, board in ((sample, "private"), (broken, "public")):
        shipped = subprocess.run(
            [sys.executable, str(task_dir / "grader.py"), str(submission), "--board", board],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        )
        assert json.loads(shipped.stdout) == grade_submission(task_dir, submission, board).to_json()
    assert grade_submission(task_dir, sample, "private").valid
    assert not grade_submission(task_dir, broken, "private").valid


def test_catalog_is_queryable_with_plain_duckdb(built_home):
    con = duckdb.connect(str(built_home / "catalog.duckdb"), read_only=True)
    built = con.execute("SELECT count(*) FROM competitions WHERE status = 'built'").fetchall()[0][0]
    assert built >= 21
    files = con.execute(
        "SELECT slug, path, role, sha256, rows, bytes FROM task_files WHERE role = 'answers'"
    ).fetchall()
    assert len(files) == built
    metric_rows = con.execute("SELECT metric, parameters, source, sha256 FROM metric_code").fetchall()
    assert all(source.startswith("def ") or "def " in source for _, _, source, _ in metric_rows)
    boards = con.execute("SELECT slug, count(*) FROM leaderboards WHERE board = 'private' GROUP BY slug").fetchall()
    assert len(boards) == built and min(count for _, count in boards) >= 10
    checks = con.execute("SELECT count(DISTINCT slug), bool_and(passed) FROM checks WHERE blocking").fetchall()[0]
    assert checks == (built, True)
    con.close()
