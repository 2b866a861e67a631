"""The catalog heals and serializes: a writer killed while holding catalog.duckdb leaves a log that the next
build removes instead of pairing it with a new file, concurrent builds take turns, and a reader that meets a
build waits briefly and then says so."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from curation import catalog
from curation.catalog import CatalogBusy, build_catalog, catalog_lock_path, catalog_wal_path, open_catalog
from curation.layout import Home, remove_abandoned_temps

REPO_ROOT = Path(__file__).resolve().parent.parent

# Opens the catalog for writing, writes without checkpointing (so the change sits in catalog.duckdb.wal),
# then dies by SIGKILL: what a build killed during its catalog step leaves.
KILLED_WRITER = """
import os, signal, sys
import duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SET checkpoint_threshold = '1GB'")
con.execute("CREATE TABLE half_written AS SELECT * FROM range(1000)")
assert os.path.exists(sys.argv[1] + ".wal")
os.kill(os.getpid(), signal.SIGKILL)
"""

# Builds the catalog `rounds` times with one release registered, so each round also writes into the file.
REBUILDER = """
import sys
from pathlib import Path
from curation.catalog import build_catalog
from curation.layout import Home
home = Home(Path(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    build_catalog(home, [], [])
print("done")
"""


def _python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _read_competitions(home: Home) -> int:
    with open_catalog(home) as con:
        return con.execute("SELECT count(*) FROM competitions").fetchall()[0][0]


def test_a_writer_killed_holding_the_catalog_does_not_break_the_next_build(tmp_path):
    home = Home(tmp_path)
    build_catalog(home, [], [])
    killed = _python(KILLED_WRITER, str(home.catalog_path))
    _, stderr = killed.communicate(timeout=120)
    assert killed.returncode == -9, stderr
    assert catalog_wal_path(home).exists()  # the killed writer's log, about the old file
    build_catalog(home, [], [])
    assert not catalog_wal_path(home).exists()
    assert _read_competitions(home) == 0
    with open_catalog(home) as con:
        tables = {name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "half_written" not in tables and "competitions" in tables
    build_catalog(home, [], [])  # and every later build works too
    assert _read_competitions(home) == 0


def test_a_log_that_no_longer_matches_the_catalog_is_dropped_by_the_release_writer(tmp_path):
    """A home broken by the old code (a new catalog under an old log) heals on the next release registration."""
    from curation.releases import register_releases

    home = Home(tmp_path)
    build_catalog(home, [], [])
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).execute("CREATE TABLE t AS SELECT 1 AS x").close()
    killed = _python(KILLED_WRITER, str(other))
    killed.communicate(timeout=120)
    os.replace(Path(str(other) + ".wal"), catalog_wal_path(home))  # a log of another file beside the catalog
    register_releases(home)
    assert _read_competitions(home) == 0


def test_a_killed_writers_temp_log_is_cleaned_up(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".tmp-catalog.duckdb-{dead.stdout.strip()}-0123456789ab.wal"
    stale.write_bytes(b"half a log")
    assert remove_abandoned_temps(tmp_path) == [stale]
    assert not stale.exists()


def test_two_concurrent_catalog_builds_take_turns_and_leave_a_readable_catalog(tmp_path):
    home = Home(tmp_path)
    release = tmp_path / "releases" / "v1"
    (release / "tables").mkdir(parents=True)
    # A release makes every build also write into catalog.duckdb itself (its release views).
    for table in ("competitions", "task_files", "metric_code", "leaderboards", "checks"):
        pl.DataFrame({"slug": ["a"]}).write_parquet(release / "tables" / f"{table}.parquet")
    (release / "manifest.json").write_text(
        '{"version": "v1", "created_at": "2026-01-01T00:00:00Z", "notes": "", "tasks": {}, "excluded": {}, '
        '"git": {"commit": null}, "files": {}, "tables": {}}'
    )
    builders = [_python(REBUILDER, str(tmp_path), "12") for _ in range(2)]
    for builder in builders:
        stdout, stderr = builder.communicate(timeout=600)
        assert builder.returncode == 0 and stdout.strip() == "done", stderr[-3000:]
    assert not catalog_wal_path(home).exists()
    assert _read_competitions(home) == 0
    with open_catalog(home) as con:
        assert con.execute("SELECT version FROM releases").fetchall() == [("v1",)]


HOLDER = """
import sys, time
from pathlib import Path
from curation.layout import file_lock
with file_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_reader_meeting_a_build_waits_then_fails_clearly(tmp_path, monkeypatch):
    home = Home(tmp_path)
    build_catalog(home, [], [])
    monkeypatch.setattr(catalog, "READ_RETRIES", 4)
    monkeypatch.setattr(catalog, "READ_WAIT_S", 0.1)
    holder = _python(HOLDER, str(catalog_lock_path(home)), "30")
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(CatalogBusy, match=r"catalog\.duckdb: still being written by another process"):
            open_catalog(home)
        assert 0.3 <= time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait()
    assert _read_competitions(home) == 0  # the lock died with its holder


def test_a_reader_that_meets_a_short_build_gets_the_catalog(tmp_path):
    home = Home(tmp_path)
    build_catalog(home, [], [])
    holder = _python(HOLDER, str(catalog_lock_path(home)), "1")
    try:
        assert holder.stdout.readline().strip() == "held"
        assert _read_competitions(home) == 0
    finally:
        holder.wait(timeout=60)


def test_a_missing_catalog_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no catalog; run `dojo build`"):
        open_catalog(Home(tmp_path))
