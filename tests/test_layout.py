"""On-disk writes: atomic directories and files, and the cleanup of what a killed writer left behind."""

import os
import subprocess
import sys

import pytest

from curation.layout import atomic_dir, atomic_write_bytes, remove_abandoned_temps, temp_path_beside


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_atomic_dir_replaces_whole_or_not_at_all(tmp_path):
    final = tmp_path / "v1"
    with atomic_dir(final) as tmp:
        (tmp / "a.txt").write_text("first")
    assert (final / "a.txt").read_text() == "first"
    with pytest.raises(RuntimeError), atomic_dir(final) as tmp:
        (tmp / "a.txt").write_text("second")
        raise RuntimeError("killed halfway")
    assert (final / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1"]


def test_leftovers_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    gone = dead_pid()
    stale_dir = tmp_path / f".tmp-v1-{gone}-0123456789ab"
    stale_file = tmp_path / f".tmp-answers.parquet-{gone}-ba9876543210"
    live = temp_path_beside(tmp_path / "v2")  # this process: still writing
    other_format = tmp_path / ".tmp-v1-0123456789ab"  # not written by atomic_dir: not ours to judge
    for directory in (stale_dir, live, other_format):
        directory.mkdir()
        (directory / "part.csv").write_text("x")
    stale_file.write_bytes(b"half")
    with atomic_dir(tmp_path / "v3") as tmp:
        (tmp / "done").write_text("")
    assert not stale_dir.exists() and not stale_file.exists()
    assert live.is_dir() and other_format.is_dir() and (tmp_path / "v3" / "done").is_file()
    assert remove_abandoned_temps(tmp_path) == []


def test_temp_names_carry_the_writer_pid(tmp_path):
    assert f"-{os.getpid()}-" in temp_path_beside(tmp_path / "x").name
    atomic_write_bytes(tmp_path / "x.bin", b"data")
    assert (tmp_path / "x.bin").read_bytes() == b"data"
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_catalog_build_clears_a_killed_build_temp_and_leaves_none_of_its_own(tmp_path):
    import duckdb

    from curation.catalog import build_catalog
    from curation.layout import Home

    home = Home(tmp_path)
    stale = tmp_path / f".tmp-catalog.duckdb-{dead_pid()}-0123456789ab"
    stale.write_bytes(b"half a database")
    assert build_catalog(home, [], [])["leaderboards"] == 0
    assert not stale.exists()
    with duckdb.connect(str(home.catalog_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM competitions").fetchall() == [(0,)]
    corrupt = tmp_path / "leaderboards" / "some-slug" / "2026-01-01.parquet"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"not parquet")
    with pytest.raises(duckdb.Error):
        build_catalog(home, [], [])
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    assert home.catalog_path.is_file()  # the previous catalog still stands
