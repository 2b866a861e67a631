"""Releases: only checked tasks, immutable, atomic even under SIGKILL; list, diff, verify, the catalog, the CLI."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from release_fixtures import make_task

from curation import releases
from curation.checks import run_task_checks
from curation.layout import Home
from curation.release_cli import add_release_commands
from curation.releases import (
    MANIFEST_FILE,
    TABLE_NAMES,
    NothingToReleaseError,
    ReleaseError,
    ReleaseExistsError,
    create,
    diff,
    list_releases,
    release_task_dir,
    verify,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "dojo-home")


def _checked(home: Home, slug: str, **kwargs):
    task = make_task(home, slug, **kwargs)
    run_task_checks(task.task_dir, task.spec)
    return task


def _visible(home: Home) -> list[str]:
    return (
        sorted(p.name for p in home.releases_dir.iterdir() if not p.name.startswith("."))
        if home.releases_dir.exists()
        else []
    )


def test_create_releases_only_tasks_whose_blocking_checks_pass(home: Home) -> None:
    good = _checked(home, "good-binary", kind="binary")
    _checked(home, "good-multiclass", kind="multiclass")
    _checked(home, "leaky", kind="regression", breakage="overlapping_ids")
    make_task(home, "unchecked", kind="binary")
    _checked(home, "unranked", kind="binary", seed=4, leaderboard=False)
    result = create(home, "v1", "first release")
    assert result.included == ["good-binary", "good-multiclass"]
    reasons = {e.slug: e for e in result.excluded}
    assert reasons["leaky"].failed_checks == ["leak_shared_ids"]
    assert "leak_shared_ids" in reasons["leaky"].reason
    assert "checks never ran" in reasons["unchecked"].reason
    assert reasons["unranked"].reason == "no leaderboard snapshot: materialize its leaderboard"
    root = home.releases_dir / "v1"
    assert result.path == root
    manifest = json.loads((root / MANIFEST_FILE).read_text())
    assert manifest["version"] == "v1" and manifest["notes"] == "first release"
    assert set(manifest["excluded"]) == {"leaky", "unchecked", "unranked"}
    assert manifest["packages"]["polars"] == pl.__version__ and manifest["packages"]["great-expectations"]
    assert len(manifest["git"]["commit"]) == 40
    # Every file but the manifest has its checksum; nothing else is in the release.
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert sorted(manifest["files"]) == [p for p in on_disk if p != MANIFEST_FILE]
    # The release serves tasks: its task dir is a full copy, with grader and private answers.
    task_dir = release_task_dir(home, "v1", "good-binary")
    assert task_dir == root / "tasks" / "good-binary" / good.version
    assert (task_dir / "private" / "answers.parquet").is_file() and (task_dir / "checks.json").is_file()
    assert Home(root).current_task_dir("good-binary") == task_dir
    graded = subprocess.run(
        [sys.executable, "grader.py", "public/sample_submission.csv", "--board", "private"],
        cwd=task_dir,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(graded.stdout.strip().splitlines()[-1])["valid"] is True
    with pytest.raises(ReleaseError, match=r"release v1 has no task 'leaky' \(tasks: good-binary, good-multiclass\)"):
        release_task_dir(home, "v1", "leaky")


def test_release_tables(home: Home) -> None:
    task = _checked(home, "good", kind="binary")
    _checked(home, "leaky", kind="binary", breakage="duplicated_rows")
    create(home, "v1")
    tables = {name: pl.read_parquet(home.releases_dir / "v1" / "tables" / f"{name}.parquet") for name in TABLE_NAMES}
    competitions = tables["competitions"]
    assert competitions["slug"].to_list() == ["good"]
    assert competitions.row(0, named=True)["task_version"] == task.version
    assert competitions.row(0, named=True)["metric"] == "accuracy"
    meta = json.loads((task.task_dir / "task.json").read_text())
    assert sorted(tables["task_files"]["path"].to_list()) == sorted(e["path"] for e in meta["files"])
    assert tables["metric_code"]["source"][0] == (task.task_dir / "grader.py").read_text()
    assert tables["leaderboards"].height == 8 and set(tables["leaderboards"]["slug"]) == {"good"}
    checks = tables["checks"]
    # Checks of left-out tasks are kept too, to show why they were left out.
    assert set(checks["slug"]) == {"good", "leaky"}
    failed = checks.filter(~pl.col("passed"))
    assert failed.select("slug", "name", "included").rows() == [("leaky", "leak_duplicate_rows", False)]
    assert json.loads(failed["metadata"][0])["share"] > 0.05


def test_an_existing_version_is_refused_and_left_untouched(home: Home) -> None:
    _checked(home, "good", kind="binary")
    create(home, "v1", "original")
    before = (home.releases_dir / "v1" / MANIFEST_FILE).read_bytes()
    _checked(home, "other", kind="regression")
    with pytest.raises(ReleaseExistsError, match="release v1 already exists"):
        create(home, "v1", "again")
    with pytest.raises(ReleaseExistsError, match="release v1 already exists"):
        create(home, "V1")
    assert (home.releases_dir / "v1" / MANIFEST_FILE).read_bytes() == before
    assert verify(home, "v1").ok


def test_bad_versions_and_empty_releases_are_refused(home: Home) -> None:
    with pytest.raises(ReleaseError, match=r"invalid release version '\.\./v1'"):
        create(home, "../v1")
    with pytest.raises(NothingToReleaseError, match="no tasks are built"):
        create(home, "v1")
    _checked(home, "leaky", kind="binary", breakage="ordered_ids")
    with pytest.raises(NothingToReleaseError, match="leaky: failed blocking checks: leak_order_correlation"):
        create(home, "v1")
    with pytest.raises(ReleaseError, match="no task built for missing"):
        create(home, "v1", slugs=["missing"])
    assert _visible(home) == []


def test_create_can_be_limited_to_some_tasks(home: Home) -> None:
    _checked(home, "a", kind="binary")
    _checked(home, "b", kind="binary", seed=1)
    assert create(home, "only-b", slugs=["b"]).included == ["b"]


def test_list_diff_and_latest(home: Home) -> None:
    _checked(home, "kept", kind="binary")
    _checked(home, "changed", kind="regression")
    _checked(home, "dropped", kind="multiclass")
    create(home, "v1")
    time.sleep(1.1)  # creation times have one-second resolution; latest is the newest
    (home.task_root("dropped") / "CURRENT").unlink()
    _checked(home, "changed", kind="regression", seed=5)
    _checked(home, "added", kind="binary", seed=2)
    create(home, "v2", "second")
    assert [info.version for info in list_releases(home)] == ["v1", "v2"]
    assert [info.tasks for info in list_releases(home)] == [3, 3]
    result = diff(home, "v1", "v2")
    assert result.added == ["added"] and result.removed == ["dropped"] and result.unchanged == ["kept"]
    [change] = result.changed
    assert change.slug == "changed" and change.old_version != change.new_version
    assert {"public/train.csv", "public/test.csv", "private/answers.parquet", "task.json"} <= set(change.files_modified)
    assert change.files_added == [f"leaderboard/reference-{change.new_version}.parquet"]
    assert set(result.tables_changed) == set(TABLE_NAMES)
    assert diff(home, "v2", "v2").changed == []
    with pytest.raises(ReleaseError, match=r"no release 'v3' .*\(releases: v1, v2\)"):
        diff(home, "v1", "v3")


def test_verify_names_modified_missing_and_unexpected_files(home: Home) -> None:
    _checked(home, "good", kind="binary")
    root = create(home, "v1").path
    assert verify(home, "v1").ok
    task_dir = release_task_dir(home, "v1", "good")
    modified = task_dir / "public" / "train.csv"
    modified.write_bytes(modified.read_bytes() + b"\n")
    missing = root / "tables" / "checks.parquet"
    missing.unlink()
    (task_dir / "public" / "extra.txt").write_text("not released")
    result = verify(home, "v1")
    assert not result.ok
    problems = {(m.problem, m.path) for m in result.mismatches}
    prefix = task_dir.relative_to(root).as_posix()
    assert problems == {
        ("modified", f"{prefix}/public/train.csv"),
        ("missing", "tables/checks.parquet"),
        ("unexpected", f"{prefix}/public/extra.txt"),
    }


def test_catalog_gets_releases_and_views(home: Home) -> None:
    _checked(home, "a", kind="binary")
    create(home, "v1")
    time.sleep(1.1)
    _checked(home, "b", kind="regression")
    create(home, "2025.06", "june")
    con = duckdb.connect(str(home.catalog_path), read_only=True)
    try:
        rows = con.execute("SELECT version, tasks, latest FROM releases ORDER BY created_at").fetchall()
        assert rows == [("v1", 1, False), ("2025.06", 2, True)]
        assert con.execute('SELECT slug FROM "release_v1_competitions"').fetchall() == [("a",)]
        assert con.execute("SELECT slug FROM latest_competitions ORDER BY slug").fetchall() == [("a",), ("b",)]
        assert con.execute('SELECT count(*) FROM "release_2025.06_leaderboards"').fetchone()[0] == 16
        views = {name for (name,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    finally:
        con.close()
    assert {f"latest_{t}" for t in TABLE_NAMES} | {f"release_v1_{t}" for t in TABLE_NAMES} <= views


def test_a_failure_mid_create_leaves_nothing(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    _checked(home, "good", kind="binary")

    def disk_full(frame: pl.DataFrame, path: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(releases, "_write_table", disk_full)
    with pytest.raises(OSError, match="No space left"):
        create(home, "v1")
    assert list(home.releases_dir.iterdir()) == []
    monkeypatch.undo()
    assert create(home, "v1").included == ["good"]


# Runs create in a child that stops for good right after writing its first table, half-way through.
STALLED_CREATE = """
import sys, time
from pathlib import Path
from curation import releases
from curation.layout import Home

home, flag = Home(Path(sys.argv[1])), Path(sys.argv[2])
write_table = releases._write_table

def write_then_stall(frame, path):
    write_table(frame, path)
    flag.write_text(str(path))
    time.sleep(600)

releases._write_table = write_then_stall
releases.create(home, "v1", "killed")
"""


def test_sigkill_mid_create_leaves_nothing_visible_and_a_rerun_completes(home: Home, tmp_path: Path) -> None:
    _checked(home, "good", kind="binary")
    _checked(home, "other", kind="multiclass")
    flag = tmp_path / "stalled"
    child = subprocess.Popen(
        [sys.executable, "-c", STALLED_CREATE, str(home.root), str(flag)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the child never reached the middle of create"
            time.sleep(0.05)
        # Mid-write: task files and one table are on disk, in the hidden temp dir only.
        [partial] = [p for p in home.releases_dir.iterdir()]
        assert partial.name.startswith(".tmp-v1-") and (partial / "tables").is_dir()
        assert not (partial / MANIFEST_FILE).exists()
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert _visible(home) == []
    assert list_releases(home) == []
    with pytest.raises(ReleaseError, match="no release 'v1'"):
        release_task_dir(home, "v1", "good")
    result = create(home, "v1", "rerun")
    assert result.included == ["good", "other"]
    assert [p.name for p in home.releases_dir.iterdir()] == ["v1"]  # the killed run's temp dir is gone
    assert verify(home, "v1").ok


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="dojo")
    add_release_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_create_list_diff_verify(
    home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("DOJO_HOME", str(home.root))
    _checked(home, "good", kind="binary")
    _checked(home, "leaky", kind="binary", breakage="target_in_test")
    assert _cli("release", "create", "v1", "--notes", "cli") == 0
    out = capsys.readouterr().out
    assert "release v1: 1 tasks" in out and "+ good" in out
    assert "- leaky: failed blocking checks: gx_test, leak_target_columns" in out
    assert _cli("release", "create", "v1") == 1
    assert "release v1 already exists" in capsys.readouterr().err
    assert _cli("release", "create", "bad/name") == 2
    assert _cli("release", "list", "--json") == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["version"] == "v1" and listed["notes"] == "cli"
    _checked(home, "later", kind="regression")
    assert _cli("release", "create", "v2", "--json") == 0
    assert json.loads(capsys.readouterr().out)["included"] == ["good", "later"]
    assert _cli("release", "diff", "v1", "v2") == 0
    assert "added    later" in capsys.readouterr().out
    assert _cli("release", "verify", "v2") == 0
    assert "all" in capsys.readouterr().out
    (release_task_dir(home, "v2", "later") / "task.json").write_text("{}")
    assert _cli("release", "verify", "v2") == 1
    assert "modified: tasks/later/" in capsys.readouterr().err
    assert _cli("release", "verify", "v9") == 2


def test_a_task_is_served_from_its_release(home: Home, tmp_path: Path) -> None:
    import dojo
    from dojo.task import TaskNotFound

    _checked(home, "good-binary")
    releases.create(home, "v1", "served")
    live = home.current_task_dir("good-binary")
    env = dojo.make("good-binary", home=home.root, release="v1", out_dir=tmp_path / "run", allow_unsandboxed=True)
    served = env.unwrapped.task
    assert served.release == "v1" and served.task_dir.is_relative_to(home.releases_dir / "v1")
    assert served.task_dir.name == live.name
    # Served in place from the release: the live build can go away.
    shutil.rmtree(live)
    env.reset()
    board, *_ = env.step({"action": "request_info", "params": {"info_type": "leaderboard"}})
    assert board["status"] == "ok" and "entries" in board["text"]
    env.close()
    with pytest.raises(TaskNotFound, match="no task 'missing'"):
        dojo.make("missing", home=home.root, release="v1")
    with pytest.raises(TaskNotFound, match="no release 'v9'"):
        dojo.make("good-binary", home=home.root, release="v9")
