"""The DuckDB catalog over everything built: competitions, task files, metric code, leaderboards."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import duckdb
import polars as pl

from curation.checks import check_rows, read_checks
from curation.layout import Home, file_lock, lock_is_held, remove_abandoned_temps, temp_path_beside
from curation.releases import register_releases
from curation.serving import read_failure, refusal
from curation.spec import CompetitionSpec

# A reader that meets a catalog being rebuilt (or DuckDB's own writer lock) waits this long before giving up.
READ_RETRIES = 40
READ_WAIT_S = 0.25

COMPETITION_COLUMNS = {
    "slug": pl.String,
    "title": pl.String,
    "task_type": pl.String,
    "metric": pl.String,
    "metric_params": pl.String,
    "higher_is_better": pl.Boolean,
    "source_kind": pl.String,
    "split_method": pl.String,
    "status": pl.String,
    "error": pl.String,
    "task_version": pl.String,
    "rows_train": pl.Int64,
    "rows_test": pl.Int64,
    "tags": pl.List(pl.String),
    "gradable": pl.Boolean,
    "kaggle_teams": pl.Int64,
    "data_size": pl.String,
}


class CatalogBusy(RuntimeError):
    """The catalog stayed locked by another process for longer than a reader waits."""


def catalog_lock_path(home: Home) -> Path:
    """The lock file every catalog writer holds (catalog.duckdb.lock beside the catalog)."""
    return home.catalog_path.with_name(home.catalog_path.name + ".lock")


def catalog_wal_path(home: Home) -> Path:
    return home.catalog_path.with_name(home.catalog_path.name + ".wal")


def competition_row(spec: CompetitionSpec, home: Home, higher_is_better: bool | None) -> dict:
    """One competition's catalog row: spec facts plus its build status."""
    task_dir = home.current_task_dir(spec.slug)
    meta = json.loads((task_dir / "task.json").read_text()) if task_dir else None
    failure = read_failure(home, spec.slug)
    # The last build's failure, else why the served version may not be served (its recorded checks failed).
    error = failure["error"] if failure else (refusal(home, spec.slug, task_dir) if task_dir else None)
    status = "failed" if error else ("built" if meta else "not_built")
    source = spec.source
    return {
        "slug": spec.slug,
        "title": spec.title,
        "task_type": spec.task_type,
        "metric": spec.metric.name,
        "metric_params": json.dumps(spec.metric.params, sort_keys=True),
        "higher_is_better": meta["higher_is_better"] if meta else higher_is_better,
        "source_kind": source.kind,
        "split_method": spec.split.method,
        "status": status,
        "error": error,
        "task_version": meta["task_version"] if meta else None,
        "rows_train": meta["rows"]["train"] if meta else None,
        "rows_test": meta["rows"]["test"] if meta else None,
        "tags": list(spec.tags),
        "gradable": spec.gradable,
        "kaggle_teams": getattr(source, "teams", None),
        "data_size": getattr(source, "data_size", None),
    }


def task_file_rows(home: Home, slugs: list[str]) -> list[dict]:
    """Every file of every served task with its role, checksum, rows and bytes."""
    rows = []
    for slug in slugs:
        task_dir = home.current_task_dir(slug)
        if task_dir is None:
            continue
        meta = json.loads((task_dir / "task.json").read_text())
        for entry in meta["files"]:
            rows.append({"slug": slug, "task_version": meta["task_version"]} | entry)
    return rows


def check_table_rows(home: Home, slugs: list[str]) -> list[dict]:
    """Every recorded check outcome (checks.json) of every served task."""
    rows = []
    for slug in slugs:
        task_dir = home.current_task_dir(slug)
        record = read_checks(task_dir) if task_dir else None
        if record is not None:
            rows += check_rows(record)
    return rows


def build_catalog(home: Home, competitions: list[dict], metric_code: list[dict]) -> dict[str, int]:
    """Write catalog.duckdb atomically; leaderboards is a view over the Parquet snapshots; releases are
    registered again afterwards (their table and views derive from releases/ alone).

    Holds catalog.duckdb.lock throughout, so concurrent builds take turns; a log (catalog.duckdb.wal) that a
    killed writer left is removed before the new file takes the old one's place, where it would not match.
    """
    home.root.mkdir(parents=True, exist_ok=True)
    with file_lock(catalog_lock_path(home)):
        return _build_catalog_locked(home, competitions, metric_code)


def _build_catalog_locked(home: Home, competitions: list[dict], metric_code: list[dict]) -> dict[str, int]:
    slugs = [row["slug"] for row in competitions]
    tables = {
        "competitions": pl.DataFrame(competitions, schema=COMPETITION_COLUMNS),
        "task_files": pl.DataFrame(
            task_file_rows(home, slugs),
            schema={
                "slug": pl.String,
                "task_version": pl.String,
                "path": pl.String,
                "role": pl.String,
                "sha256": pl.String,
                "rows": pl.Int64,
                "bytes": pl.Int64,
            },
        ),
        "metric_code": pl.DataFrame(
            [row | {"sha256": hashlib.sha256(row["source"].encode()).hexdigest()} for row in metric_code],
            schema={
                "slug": pl.String,
                "metric": pl.String,
                "parameters": pl.String,
                "source": pl.String,
                "sha256": pl.String,
            },
        ),
        "checks": pl.DataFrame(
            check_table_rows(home, slugs),
            schema={
                "slug": pl.String,
                "task_version": pl.String,
                "name": pl.String,
                "passed": pl.Boolean,
                "blocking": pl.Boolean,
                "metadata": pl.String,
            },
        ),
    }
    home.root.mkdir(parents=True, exist_ok=True)
    remove_abandoned_temps(home.root)
    tmp = temp_path_beside(home.catalog_path)
    con = duckdb.connect(str(tmp))
    try:
        for name, frame in tables.items():
            con.register(f"{name}_frame", frame.to_arrow())
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
            con.unregister(f"{name}_frame")
        snapshots = sorted((home.root / "leaderboards").glob("*/*.parquet"))
        if snapshots:
            pattern = str(home.root / "leaderboards" / "*" / "*.parquet").replace("'", "''")
            con.execute(
                "CREATE VIEW leaderboards AS SELECT regexp_extract(filename, '([^/]+)/[^/]+\\.parquet$', 1) AS slug, "
                f"* EXCLUDE (filename) FROM read_parquet('{pattern}', filename = true, union_by_name = true)"
            )
        else:
            con.execute(
                "CREATE TABLE leaderboards (slug VARCHAR, rank BIGINT, score DOUBLE, board VARCHAR, kind VARCHAR, "
                "entry VARCHAR, snapshot VARCHAR, team_count BIGINT)"
            )
        counts = {name: frame.height for name, frame in tables.items()}
        counts["leaderboards"] = con.execute("SELECT count(*) FROM leaderboards").fetchall()[0][0]
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    # Under the lock no live writer has the catalog open: a log beside it belongs to a killed one, and would
    # not match the file that replaces it (DuckDB then refuses to open the catalog at all).
    catalog_wal_path(home).unlink(missing_ok=True)
    os.replace(tmp, home.catalog_path)
    register_releases(home)
    return counts


def open_catalog(home: Home) -> duckdb.DuckDBPyConnection:
    """A read-only connection to catalog.duckdb; waits briefly while a writer holds it, then CatalogBusy."""
    path = home.catalog_path
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no catalog; run `dojo build`")
    last = ""
    for _ in range(READ_RETRIES):
        if lock_is_held(catalog_lock_path(home)):
            last = f"a catalog build holds {catalog_lock_path(home)}"
        else:
            try:
                return duckdb.connect(str(path), read_only=True)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                last = str(exc)
        time.sleep(READ_WAIT_S)
    waited = READ_RETRIES * READ_WAIT_S
    raise CatalogBusy(f"{path}: still being written by another process after {waited:g}s ({last}); try again")
