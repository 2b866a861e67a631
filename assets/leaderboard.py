"""leaderboard: a Kaggle snapshot (public + private) or, offline, the reference ladder of scikit-learn entries."""

from pathlib import Path

import dagster as dg
import polars as pl

from assets.home_resource import DojoHomeResource, code_version_of
from assets.partitions import competitions_partitions
from assets.task import task
from curation import serving
from curation.kaggle_leaderboards import check_direction
from graders import leaderboards, metrics


def _board_table(board: pl.DataFrame) -> str:
    rows = board.filter(pl.col("board") == "private").sort("rank").head(15)
    lines = [f"| {r['rank']} | {r['entry'] or ''} | {r['score']:.6g} |" for r in rows.iter_rows(named=True)]
    return "| rank | entry | score |\n|---|---|---|\n" + "\n".join(lines)


@dg.asset(
    partitions_def=competitions_partitions,
    group_name="curation",
    deps=[task],
    code_version=code_version_of(Path(leaderboards.__file__)),
    pool="kaggle",  # it calls Kaggle for Kaggle competitions: same throttle as raw_files
    required_resource_keys={"dojo", "kaggle"},
    check_specs=[
        dg.AssetCheckSpec(
            "direction_matches_metric",
            asset="leaderboard",
            blocking=True,
            partitions_def=competitions_partitions,
            description="Scores run from best to worst in the metric's direction on every board.",
        )
    ],
    description="leaderboards/<slug>/<snapshot>.parquet: rank, score, board, kind, entry, snapshot, team_count; "
    "the last step of a build: it then serves the checked task version (tasks/<slug>/CURRENT).",
)
def leaderboard(context: dg.AssetExecutionContext):
    """Snapshot the competition's leaderboard, then serve the checked task; the reference ladder is refit only
    for a new task version. A failed direction check fails the partition and the previous version stays served."""
    dojo: DojoHomeResource = context.resources.dojo
    slug = context.partition_key
    spec = dojo.spec(slug)
    home = dojo.home
    version = serving.checked_version(home, slug)
    if version is None or not (home.task_dir(slug, version) / "task.json").is_file():
        raise FileNotFoundError(f"{slug}: no task whose checks passed; materialize task first")
    task_dir = home.task_dir(slug, version)
    board_dir = home.leaderboard_dir(slug)
    if spec.source.kind == "kaggle":
        board = context.resources.kaggle.leaderboard(spec.source.competition or slug)
        if board.is_empty():
            raise ValueError(f"{slug}: Kaggle returned an empty leaderboard; position scores need at least one entry")
        snapshot = str(board["snapshot"][0])
        cache_hit = False
    else:
        snapshot = f"reference-{task_dir.name}"
        cache_hit = (board_dir / f"{snapshot}.parquet").is_file()
        board = (
            pl.read_parquet(board_dir / f"{snapshot}.parquet")
            if cache_hit
            else leaderboards.reference_ladder(task_dir, snapshot)
        )
    # Checked before it is written: a wrong-way snapshot must not become the newest one of a served task.
    directions = check_direction(board, metrics.get_metric(spec.metric.name).higher_is_better)
    check = dg.AssetCheckResult(
        check_name="direction_matches_metric",
        passed=all(check.ok for check in directions),
        metadata={check.board: check.message for check in directions},
    )
    if not check.passed:
        yield check
        reasons = "; ".join(f"{c.board}: {c.message}" for c in directions if not c.ok)
        description = f"{slug} {version}: failed blocking checks: direction_matches_metric: {reasons}"
        serving.record_failure(home, slug, description, version)
        raise dg.Failure(description=description, metadata={"task_version": version})
    path = leaderboards.write_snapshot(board, board_dir, snapshot)
    served = serving.serve(home, slug, version)
    context.log.info(f"{slug}: serving {served.name}")
    # Old reference snapshots of earlier task versions would shadow nothing but confuse readers: keep one. Only
    # now: until this version was served, the previous one was, with its snapshot.
    for stale in board_dir.glob("reference-*.parquet") if board_dir.is_dir() else []:
        if stale.stem != snapshot:
            stale.unlink()
    dummy = leaderboards.dummy_score(board)
    yield dg.MaterializeResult(
        metadata={
            "snapshot": snapshot,
            "kind": str(board["kind"][0]),
            "entries": int((board["board"] == "private").sum()),
            "cache_hit": cache_hit,
            "path": dg.MetadataValue.path(str(path)),
            "dummy_private_score": dummy if dummy is not None else float("nan"),
            "private_board": dg.MetadataValue.md(_board_table(board)),
            "served_version": version,
        },
        data_version=dg.DataVersion(snapshot),
        check_results=[check],
    )
